// MQTT-3.1.2-24: nothing the broker sends exceeds the Maximum Packet Size the client declared
// in CONNECT (fixed header included), CONNACK included. Optional properties are left out to
// fit; what still does not fit is not sent, and the connection is closed instead.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

// The whole packet's size on the wire: first byte, Remaining Length, body.
size_t wire_size(const Received& r) {
  size_t length_bytes = 1;
  for (size_t n = r.body->size(); n >= 128; n >>= 7) ++length_bytes;
  return 1 + length_bytes + r.body->size();
}

m::ConnectPacket connect_with_limit(const std::string& client_id, uint32_t limit) {
  m::ConnectPacket p = V5Client::connect_packet(client_id, true, std::nullopt, 10);
  p.properties.maximum_packet_size = limit;
  return p;
}

// A server keep-alive cap and a session-expiry cap let a CONNECT make the broker's smallest
// CONNACK larger: 13 bytes (Receive Maximum and Maximum Packet Size, which cannot go), +3
// with Server Keep Alive, +5 with Session Expiry Interval.
class V5ClientPacketSizeTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override {
    return {"--max-keep-alive", "30", "--max-session-expiry", "100"};
  }

  // Sends the CONNECT and returns the first packet back, checking its size.
  std::optional<Received> connect_raw(V5Client& client, const m::ConnectPacket& p) {
    if (!client.raw().connect(port())) return std::nullopt;
    std::string out;
    m::encode(p, &out);
    if (!client.send_bytes(out)) return std::nullopt;
    return client.recv(milliseconds(3000));
  }
};

// 64 bytes: the CONNACK (which would carry a long Response Information) and everything after
// it fit; a PUBLISH that does not fit is not sent to this client.
TEST_F(V5ClientPacketSizeTest, Limit64BindsConnackAndEverythingAfter) {
  const std::string id = "packet-size-64-with-a-rather-long-client-identifier";
  V5Client client(port());
  m::ConnectPacket p = connect_with_limit(id, 64);
  p.properties.request_response_information = 1;
  auto connack = connect_raw(client, p);
  ASSERT_TRUE(connack) << "no CONNACK";
  const auto* ack = connack->get<m::ConnackPacket>();
  ASSERT_NE(ack, nullptr) << describe(*connack);
  EXPECT_EQ(ack->reason_code, 0);
  EXPECT_LE(wire_size(*connack), 64u) << describe(*connack);
  EXPECT_FALSE(ack->properties.response_information) << "left out to fit (it would not)";
  EXPECT_TRUE(ack->properties.maximum_packet_size) << "a limit the client must know stays";
  EXPECT_TRUE(ack->properties.receive_maximum);

  ASSERT_TRUE(client.subscribe("ps64/#", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("ps64-pub"));
  ASSERT_TRUE(pub.publish("ps64/big", std::string(100, 'b'), 1));
  ASSERT_TRUE(pub.publish("ps64/small", "s", 1));
  auto got = client.recv_publish();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload, "s") << "the PUBLISH over 64 bytes was sent";
  ASSERT_TRUE(client.ping());

  // A DISCONNECT with a reason string is cut to fit too (a wildcard in a PUBLISH topic is a
  // protocol error, explained in a reason string when there is room).
  m::PublishPacket bad;
  bad.topic = "ps64/#";
  bad.payload = "x";
  ASSERT_TRUE(client.send(bad));
  auto d = client.recv_type(m::PacketType::kDisconnect);
  ASSERT_TRUE(d) << "no DISCONNECT";
  EXPECT_LE(wire_size(*d), 64u) << describe(*d);
}

// 20 bytes: the CONNACK arrives without its optional properties; a DISCONNECT loses its
// reason string.
TEST_F(V5ClientPacketSizeTest, Limit20GetsTheSmallestConnack) {
  V5Client client(port());
  auto connack = connect_raw(client, connect_with_limit("packet-size-20", 20));
  ASSERT_TRUE(connack) << "no CONNACK" << (client.raw().peer_closed() ? " (closed)" : "");
  const auto* ack = connack->get<m::ConnackPacket>();
  ASSERT_NE(ack, nullptr) << describe(*connack);
  EXPECT_EQ(ack->reason_code, 0);
  EXPECT_LE(wire_size(*connack), 20u) << describe(*connack);
  EXPECT_TRUE(ack->properties.maximum_packet_size);
  // 24 bytes in full: the "... Available" flags (2 bytes each) go first, in order, until
  // it fits; two are enough.
  EXPECT_FALSE(ack->properties.retain_available);
  EXPECT_FALSE(ack->properties.wildcard_subscription_available);
  ASSERT_TRUE(client.ping());

  m::PublishPacket bad;
  bad.topic = "ps20/+";
  bad.payload = "x";
  ASSERT_TRUE(client.send(bad));
  auto d = client.recv_type(m::PacketType::kDisconnect);
  ASSERT_TRUE(d) << "no DISCONNECT";
  EXPECT_LE(wire_size(*d), 20u) << describe(*d);
  const auto* disconnect = d->get<m::DisconnectPacket>();
  ASSERT_NE(disconnect, nullptr);
  EXPECT_GE(disconnect->reason_code, 0x80);
  EXPECT_FALSE(disconnect->properties.reason_string);
}

// A SUBACK has nothing optional to leave out: one for 20 filters (25 bytes) cannot go to a
// 20-byte client, and the exchange cannot go on without it, so the connection is closed.
TEST_F(V5ClientPacketSizeTest, Limit20ClosesRatherThanSendAnOversizedSuback) {
  V5Client client(port());
  auto connack = connect_raw(client, connect_with_limit("packet-size-20-suback", 20));
  ASSERT_TRUE(connack && connack->get<m::ConnackPacket>());
  std::vector<m::SubscriptionRequest> many;
  for (int i = 0; i < 20; ++i) many.push_back(sub("ps20/" + std::to_string(i), 0));
  (void)client.subscribe(many);
  while (auto r = client.recv(milliseconds(3000))) {
    EXPECT_LE(wire_size(*r), 20u) << describe(*r);
  }
  EXPECT_TRUE(client.raw().peer_closed()) << "connection left open";
}

// 20 bytes, but this CONNECT makes even the smallest CONNACK 21 bytes (Server Keep Alive
// and Session Expiry Interval must be there): nothing is sent, the connection is closed,
// and the client already connected with that id is not taken over.
TEST_F(V5ClientPacketSizeTest, Limit20ClosesWithoutTakingOverWhenTheConnackCannotFit) {
  V5Client first(port());
  ASSERT_TRUE(first.connect("packet-size-takeover"));

  V5Client second(port());
  m::ConnectPacket p = connect_with_limit("packet-size-takeover", 20);
  p.keep_alive = 0;                             // Server Keep Alive 30 must be sent
  p.properties.session_expiry_interval = 1000;  // the granted 100 must be sent
  ASSERT_TRUE(second.raw().connect(port()));
  std::string out;
  m::encode(p, &out);
  ASSERT_TRUE(second.send_bytes(out));
  EXPECT_FALSE(second.raw().recv_exact(1, milliseconds(3000))) << "something was sent";
  EXPECT_TRUE(second.raw().peer_closed()) << "connection left open";

  ASSERT_TRUE(first.ping()) << "the first connection was taken over";
  EXPECT_FALSE(first.recv(milliseconds(200))) << "the first connection got something";
}

// 2 bytes: no CONNACK can fit (the smallest MQTT 5 CONNACK is 5 bytes): the connection is
// closed with nothing sent.
TEST_F(V5ClientPacketSizeTest, Limit2ClosesWithNothingSent) {
  V5Client client(port());
  ASSERT_TRUE(client.raw().connect(port()));
  std::string out;
  m::encode(connect_with_limit("packet-size-2", 2), &out);
  ASSERT_TRUE(client.send_bytes(out));
  EXPECT_FALSE(client.raw().recv_exact(1, milliseconds(3000))) << "something was sent";
  EXPECT_TRUE(client.raw().peer_closed()) << "connection left open";
}

}  // namespace
}  // namespace topicdb::itest::v5
