// MQTT 5 reason codes in acknowledgements and server-sent DISCONNECTs (§2.4, §3.4.2.1,
// §3.7.2.1, §3.11.3, §3.14.2.1, §4.13).
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

class V5ReasonCodesTest : public V5Test {};

// §3.4.2.1: PUBACK 0x10 "No matching subscribers" when nobody subscribes, 0x00 once someone
// does. Same for PUBREC (§3.5.2.1).
TEST_F(V5ReasonCodesTest, PubackNoMatchingSubscribers) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rc-pub"));
  uint8_t reason = 0xFF;
  ASSERT_TRUE(pub.publish("rc/nobody", "x", 1, {}, false, &reason));
  EXPECT_EQ(reason_hex(reason), reason_hex(m::reason::kNoMatchingSubscribers));
  ASSERT_TRUE(pub.publish("rc/nobody", "x", 2, {}, false, &reason));
  EXPECT_EQ(reason_hex(reason), reason_hex(m::reason::kNoMatchingSubscribers)) << "PUBREC";

  V5Client sub(port());
  ASSERT_TRUE(sub.connect("rc-sub"));
  ASSERT_TRUE(sub.subscribe("rc/#", 0));
  ASSERT_TRUE(pub.publish("rc/somebody", "x", 1, {}, false, &reason));
  EXPECT_EQ(reason_hex(reason), reason_hex(m::reason::kSuccess));
  ASSERT_TRUE(pub.publish("rc/somebody", "x", 2, {}, false, &reason));
  EXPECT_EQ(reason_hex(reason), reason_hex(m::reason::kSuccess)) << "PUBREC";
}

// §3.11.3: UNSUBACK 0x11 "No subscription existed" per filter not subscribed, 0x00 for one
// that was.
TEST_F(V5ReasonCodesTest, UnsubackNoSubscriptionExisted) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-unsub"));
  ASSERT_TRUE(c.subscribe("rc/sub", 1));
  std::vector<uint8_t> codes;
  ASSERT_TRUE(c.unsubscribe({"rc/never", "rc/sub", "rc/sub"}, &codes));
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_EQ(reason_hex(codes[0]), reason_hex(m::reason::kNoSubscriptionExisted));
  EXPECT_EQ(reason_hex(codes[1]), reason_hex(m::reason::kSuccess));
  EXPECT_EQ(reason_hex(codes[2]), reason_hex(m::reason::kNoSubscriptionExisted))
      << "already removed by the previous filter of the same UNSUBSCRIBE";
}

// §3.7.2.1: PUBREL for a packet id the server does not know → PUBCOMP 0x92 "Packet Identifier
// not found".
TEST_F(V5ReasonCodesTest, PubrelUnknownIdGetsPubcomp0x92) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-pubrel"));
  m::AckPacket rel;
  rel.type = m::PacketType::kPubrel;
  rel.packet_id = 4242;
  ASSERT_TRUE(c.send(rel));
  auto comp = c.recv_type(m::PacketType::kPubcomp);
  ASSERT_TRUE(comp) << "no PUBCOMP for an unknown PUBREL";
  const auto* a = comp->get<m::AckPacket>();
  ASSERT_NE(a, nullptr) << describe(*comp);
  EXPECT_EQ(a->packet_id, 4242);
  EXPECT_EQ(reason_hex(a->reason_code), reason_hex(m::reason::kPacketIdentifierNotFound));
  EXPECT_TRUE(c.ping()) << "0x92 is not fatal";
}

// $SYS belongs to the broker: QoS 1 publishes there are refused with PUBACK 0x87 "Not
// authorized" and not delivered.
TEST_F(V5ReasonCodesTest, PublishToSysIsNotAuthorized) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("rc-sys-sub"));
  ASSERT_TRUE(sub.subscribe("$SYS/#", 0));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rc-sys-pub"));
  uint8_t reason = 0;
  ASSERT_TRUE(pub.publish("$SYS/x", "fake", 1, {}, false, &reason));
  EXPECT_EQ(reason_hex(reason), reason_hex(m::reason::kNotAuthorized));
  ASSERT_TRUE(pub.publish("$SYS/broker/version", "fake", 2, {}, false, &reason));
  EXPECT_EQ(reason_hex(reason), reason_hex(m::reason::kNotAuthorized)) << "PUBREC";
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(300)));
  EXPECT_TRUE(pub.ping()) << "a refused publish is not fatal";
}

// §2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its packet
// type ... is a Malformed Packet. If received, use a CONNACK or DISCONNECT packet with Reason
// Code 0x81 (Malformed Packet)". Session Expiry Interval (0x11) is not valid on PUBLISH.
TEST_F(V5ReasonCodesTest, PropertyNotAllowedOnPublishIsMalformed) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-badprop"));
  m::PublishPacket p;
  p.topic = "rc/badprop";
  p.payload = "x";
  p.properties.session_expiry_interval = 10;
  ASSERT_TRUE(c.send(p));
  EXPECT_TRUE(c.expect_disconnect(m::reason::kMalformedPacket));
}

// An unknown property identifier (0x7F) is malformed too (§2.2.2.2).
TEST_F(V5ReasonCodesTest, UnknownPropertyIdIsMalformed) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-unknownprop"));
  // PUBLISH QoS 0, topic "t", properties length 2: id 0x7F, one value byte; payload "x".
  std::string bytes = {'\x30', '\x07', '\x00', '\x01', 't', '\x02', '\x7f', '\x00', 'x'};
  ASSERT_TRUE(c.send_bytes(bytes));
  EXPECT_TRUE(c.expect_disconnect(m::reason::kMalformedPacket));
}

// A property block longer than the packet (§2.2.2.1) is malformed (0x81).
TEST_F(V5ReasonCodesTest, TruncatedPropertiesAreMalformed) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-trunc"));
  // PUBLISH QoS 0, topic "t", property length 9 but only 2 bytes follow.
  std::string bytes = {'\x30', '\x06', '\x00', '\x01', 't', '\x09', '\x01', '\x01'};
  ASSERT_TRUE(c.send_bytes(bytes));
  EXPECT_TRUE(c.expect_disconnect(m::reason::kMalformedPacket));
}

// A PUBLISH from a client must not carry a Subscription Identifier (MQTT-3.3.4-6): Protocol
// Error.
TEST_F(V5ReasonCodesTest, SubscriptionIdentifierFromClientIsProtocolError) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-subid"));
  m::PublishPacket p;
  p.topic = "rc/subid";
  p.payload = "x";
  p.properties.subscription_identifiers = {3};
  ASSERT_TRUE(c.send(p));
  uint8_t got = 0;
  EXPECT_TRUE(
      c.expect_disconnect_any({m::reason::kProtocolError, m::reason::kMalformedPacket}, &got));
  EXPECT_EQ(reason_hex(got), reason_hex(m::reason::kProtocolError));
}

// MQTT-3.1.0-2: a second CONNECT is a Protocol Error → DISCONNECT 0x82.
TEST_F(V5ReasonCodesTest, SecondConnectIsProtocolError) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-twice"));
  ASSERT_TRUE(c.send(V5Client::connect_packet("rc-twice")));
  EXPECT_TRUE(c.expect_disconnect(m::reason::kProtocolError));
}

// MQTT-3.1.4-3: takeover → the existing connection gets DISCONNECT 0x8E "Session taken over".
TEST_F(V5ReasonCodesTest, TakeoverSendsSessionTakenOver) {
  V5Client first(port());
  ASSERT_TRUE(first.connect("rc-same"));
  V5Client second(port());
  ASSERT_TRUE(second.connect("rc-same"));
  EXPECT_TRUE(first.expect_disconnect(m::reason::kSessionTakenOver));
  EXPECT_TRUE(second.ping());
}

// §3.1.2.10 / §3.14.2.1: after 1.5 x keep alive of silence the server closes the connection;
// MQTT 5 lets it say why: DISCONNECT 0x8D "Keep Alive timeout".
TEST_F(V5ReasonCodesTest, KeepAliveTimeoutSends0x8D) {
  V5Client c(port());
  ASSERT_TRUE(c.connect(V5Client::connect_packet("rc-ka", true, std::nullopt, 1)));
  auto start = SteadyClock::now();
  EXPECT_TRUE(c.expect_disconnect(m::reason::kKeepAliveTimeout, milliseconds(4000)));
  EXPECT_GE(since(start).count(), 1400) << "disconnected before 1.5 x keep alive";
}

// §3.14.2.1: the server shutting down tells MQTT 5 clients with DISCONNECT 0x8B.
TEST_F(V5ReasonCodesTest, BrokerShutdownSends0x8B) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-shutdown"));
  ASSERT_TRUE(c.ping());
  ASSERT_TRUE(broker_.stop()) << broker_.stderr_tail();
  EXPECT_TRUE(c.expect_disconnect(m::reason::kServerShuttingDown));
}

// §3.8.3: an invalid filter in SUBSCRIBE gets SUBACK 0x8F while valid ones in the same
// packet are granted.
TEST_F(V5ReasonCodesTest, SubackTopicFilterInvalid) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rc-badfilter"));
  std::vector<uint8_t> codes;
  ASSERT_TRUE(c.subscribe({sub("rc/ok", 1), sub("$share/g", 1), sub("rc/ok2", 2)}, 0, {}, &codes));
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_EQ(codes[0], 1);
  EXPECT_GE(codes[1], 0x80) << "'$share/g' (no filter after the group) must be refused";
  EXPECT_EQ(codes[2], 2);
}

// §2.2.1: a QoS 2 packet identifier is free again once the sender got "PUBCOMP or a PUBREC
// with a Reason Code of 128 or greater"; §4.3.3: after such a PUBREC no PUBREL follows. So a
// QoS 2 PUBLISH refused with PUBREC 0x87 ($SYS) must not leave its id "in use": the next
// QoS 2 PUBLISH with the same id is a new message and must be delivered.
TEST_F(V5ReasonCodesTest, PacketIdReusableAfterRefusedQos2) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("rc-reuse-sub"));
  ASSERT_TRUE(sub.subscribe("rc/reuse", 2));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rc-reuse-pub"));

  m::PublishPacket refused;
  refused.topic = "$SYS/forbidden";
  refused.payload = "x";
  refused.qos = 2;
  refused.packet_id = 7;
  ASSERT_TRUE(pub.send(refused));
  auto rec = pub.recv_type(m::PacketType::kPubrec);
  ASSERT_TRUE(rec);
  ASSERT_EQ(reason_hex(rec->get<m::AckPacket>()->reason_code),
            reason_hex(m::reason::kNotAuthorized));

  // Same packet id, new message (no DUP): a fresh QoS 2 flow.
  m::PublishPacket fresh;
  fresh.topic = "rc/reuse";
  fresh.payload = "after-refusal";
  fresh.qos = 2;
  fresh.packet_id = 7;
  ASSERT_TRUE(pub.send(fresh));
  auto rec2 = pub.recv_type(m::PacketType::kPubrec);
  ASSERT_TRUE(rec2);
  EXPECT_EQ(reason_hex(rec2->get<m::AckPacket>()->reason_code), reason_hex(m::reason::kSuccess));
  m::AckPacket rel;
  rel.type = m::PacketType::kPubrel;
  rel.packet_id = 7;
  ASSERT_TRUE(pub.send(rel));
  auto comp = pub.recv_type(m::PacketType::kPubcomp);
  ASSERT_TRUE(comp);
  EXPECT_EQ(reason_hex(comp->get<m::AckPacket>()->reason_code), reason_hex(m::reason::kSuccess));

  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg) << "QoS 2 message reusing the id of a refused (PUBREC 0x87) one was dropped";
  EXPECT_EQ(msg->payload, "after-refusal");
}

// MQTT-3.14.2-3: the server must not send a Reason String in DISCONNECT if it would make the
// packet larger than the client's Maximum Packet Size (MQTT-3.1.2-24: no packet above it).
TEST_F(V5ReasonCodesTest, DisconnectRespectsClientMaximumPacketSize) {
  V5Client c(port());
  m::ConnectPacket p = V5Client::connect_packet("rc-small");
  p.properties.maximum_packet_size = 16;
  ASSERT_TRUE(c.connect(p));
  ASSERT_TRUE(c.send(V5Client::connect_packet("rc-small")));  // protocol error
  auto packet = c.raw().recv_packet(milliseconds(3000));
  ASSERT_TRUE(packet) << "no DISCONNECT at all";
  ASSERT_EQ(packet->type(), kDisconnect) << describe(*packet);
  const size_t total =
      1 + encode_remaining_length(packet->body.size()).size() + packet->body.size();
  EXPECT_LE(total, 16u) << "DISCONNECT of " << total
                        << " bytes exceeds the client's Maximum Packet Size 16: "
                        << hex(packet->body);
  ASSERT_FALSE(packet->body.empty());
  EXPECT_EQ(reason_hex(packet->body[0]), reason_hex(m::reason::kProtocolError));
}

}  // namespace
}  // namespace topicdb::itest::v5
