// MQTT 5 flow control (§4.9, Receive Maximum §3.1.2.11.3 / §3.2.2.3.3) and Maximum Packet Size
// (§3.1.2.11.4, §3.2.2.3.6) in both directions.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

class V5FlowControlTest : public V5Test {};

// MQTT-3.3.4-9: the server must not send more unacknowledged QoS 1 PUBLISHes than the
// client's Receive Maximum. With 2 and no acks, exactly 2 of 5 arrive; acking one releases
// the third.
TEST_F(V5FlowControlTest, ClientReceiveMaximumLimitsInflight) {
  V5Client sub(port());
  sub.set_auto_ack(false);
  m::ConnectPacket p = V5Client::connect_packet("rm-sub");
  p.properties.receive_maximum = 2;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("rm/t", 1));

  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rm-pub"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pub.publish("rm/t", "m" + std::to_string(i), 1));

  std::vector<Message> first;
  ASSERT_TRUE(sub.recv_publishes(2, &first));
  EXPECT_EQ(first[0].payload, "m0");
  EXPECT_EQ(first[1].payload, "m1");
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(700)))
      << "more than Receive Maximum (2) unacknowledged PUBLISHes sent";

  ASSERT_TRUE(sub.puback(first[0].packet_id));
  auto third = sub.recv_publish();
  ASSERT_TRUE(third) << "acking one PUBLISH did not release the next";
  EXPECT_EQ(third->payload, "m2");
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(500))) << "window is 2: only one slot was freed";

  // Acking the rest drains the queue in order.
  ASSERT_TRUE(sub.puback(first[1].packet_id));
  ASSERT_TRUE(sub.puback(third->packet_id));
  std::vector<Message> rest;
  ASSERT_TRUE(sub.recv_publishes(2, &rest));
  EXPECT_EQ(rest[0].payload, "m3");
  EXPECT_EQ(rest[1].payload, "m4");
}

// QoS 0 messages are not subject to Receive Maximum (§4.9).
TEST_F(V5FlowControlTest, QoS0NotLimitedByReceiveMaximum) {
  V5Client sub(port());
  sub.set_auto_ack(false);
  m::ConnectPacket p = V5Client::connect_packet("rm0-sub");
  p.properties.receive_maximum = 1;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("rm0/t", 0));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rm0-pub"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pub.publish("rm0/t", std::to_string(i), 1));
  std::vector<Message> got;
  EXPECT_TRUE(sub.recv_publishes(5, &got));
}

class V5BrokerReceiveMaximumTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override { return {"--receive-maximum", "2"}; }
};

// §3.3.4: a client sending more QoS 2 PUBLISHes than the server's Receive Maximum without
// completing them (no PUBREL) gets DISCONNECT 0x93.
TEST_F(V5BrokerReceiveMaximumTest, ExceedingServerReceiveMaximumDisconnects) {
  V5Client pub(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(pub.connect(V5Client::connect_packet("rm-flood"), &ack));
  ASSERT_EQ(ack.properties.receive_maximum, std::optional<uint16_t>(2));
  for (uint16_t id = 1; id <= 2; ++id) {
    m::PublishPacket p;
    p.topic = "rm/flood";
    p.payload = "x";
    p.qos = 2;
    p.packet_id = id;
    ASSERT_TRUE(pub.send(p));
    auto rec = pub.recv_type(m::PacketType::kPubrec);
    ASSERT_TRUE(rec) << "no PUBREC for id " << id;
  }
  m::PublishPacket third;
  third.topic = "rm/flood";
  third.payload = "x";
  third.qos = 2;
  third.packet_id = 3;
  ASSERT_TRUE(pub.send(third));
  EXPECT_TRUE(pub.expect_disconnect(m::reason::kReceiveMaximumExceeded));
}

// Completing the QoS 2 flows frees the quota: many sequential QoS 2 publishes are fine.
TEST_F(V5BrokerReceiveMaximumTest, CompletedFlowsDoNotCount) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rm-polite"));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(pub.publish("rm/polite", "x", 2));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(pub.publish("rm/polite", "y", 1));
  EXPECT_TRUE(pub.ping());
}

// MQTT-3.1.2-25 / §3.1.2.11.4: the server must not send a packet larger than the client's
// Maximum Packet Size; it drops that message for the client, later small ones still arrive.
TEST_F(V5FlowControlTest, ClientMaximumPacketSizeDropsLargeMessages) {
  V5Client sub(port());
  m::ConnectPacket p = V5Client::connect_packet("mps-sub");
  p.properties.maximum_packet_size = 100;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("mps/t", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("mps-pub"));
  ASSERT_TRUE(pub.publish("mps/t", std::string(500, 'L'), 1));
  ASSERT_TRUE(pub.publish("mps/t", "small", 1));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg) << "the small message after the oversized one was not delivered";
  EXPECT_EQ(msg->payload, "small") << "got " << msg->payload.size() << " bytes";
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(300)));
  EXPECT_TRUE(sub.ping()) << "connection must stay usable";
}

// A message whose properties push it over the limit is dropped too (the limit is on the
// whole packet, properties included).
TEST_F(V5FlowControlTest, ClientMaximumPacketSizeCountsProperties) {
  V5Client sub(port());
  m::ConnectPacket p = V5Client::connect_packet("mps-props-sub");
  p.properties.maximum_packet_size = 100;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("mps/p", 0));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("mps-props-pub"));
  m::Properties big;
  big.user_properties = {{"padding", std::string(120, 'p')}};
  ASSERT_TRUE(pub.publish("mps/p", "tiny", 0, big));
  ASSERT_TRUE(pub.publish("mps/p", "fits", 0));
  auto msg = sub.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "fits") << describe(*msg);
}

class V5BrokerMaxPacketSizeTest : public V5Test {
 protected:
  std::vector<std::string> v5_flags() const override { return {"--max-packet-size", "1024"}; }
};

// §3.2.2.3.6 / §4.13: a PUBLISH larger than the server's Maximum Packet Size is answered with
// DISCONNECT 0x95 (Packet too large) if anything, and the connection is closed.
TEST_F(V5BrokerMaxPacketSizeTest, OversizedPublishDisconnects) {
  V5Client sub(port());
  ASSERT_TRUE(sub.connect("mps-broker-sub"));
  ASSERT_TRUE(sub.subscribe("mps/broker", 0));
  V5Client pub(port());
  m::ConnackPacket ack;
  ASSERT_TRUE(pub.connect(V5Client::connect_packet("mps-big"), &ack));
  ASSERT_EQ(ack.properties.maximum_packet_size, std::optional<uint32_t>(1024));
  ASSERT_TRUE(pub.publish("mps/broker", std::string(900, 's'), 0)) << "under the limit";
  m::PublishPacket p;
  p.topic = "mps/broker";
  std::string payload(2000, 'B');
  p.payload = payload;
  (void)pub.send(p);  // the broker may close before reading it all
  auto r = pub.recv_type(m::PacketType::kDisconnect, milliseconds(3000));
  RecordProperty("disconnect_0x95_seen", r ? 1 : 0);
  if (r) {
    const auto* d = r->get<m::DisconnectPacket>();
    ASSERT_NE(d, nullptr) << describe(*r);
    EXPECT_EQ(d->reason_code, m::reason::kPacketTooLarge) << describe(*r);
  }
  EXPECT_TRUE(pub.raw().peer_closed() || pub.raw().wait_closed(milliseconds(3000)))
      << "connection not closed after an oversized PUBLISH";
  auto small = sub.recv_publish();
  ASSERT_TRUE(small);
  EXPECT_EQ(small->payload.size(), 900u);
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(300))) << "oversized message was delivered";
}

// The same §2.2.1 / §4.3.3 rule seen through Receive Maximum: QoS 2 PUBLISHes refused with
// PUBREC >= 0x80 are finished flows (§4.9: "a PUBREC packet with a Return Code greater than or
// equal to 0x80" returns the quota), so they must not count against the server's Receive
// Maximum.
TEST_F(V5BrokerReceiveMaximumTest, RefusedQos2DoesNotCountAgainstReceiveMaximum) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rm-refused"));
  uint8_t reason = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pub.publish("$SYS/not-yours", "x", 2, {}, false, &reason));
    ASSERT_EQ(reason_hex(reason), reason_hex(m::reason::kNotAuthorized));
  }
  EXPECT_TRUE(pub.publish("rm/after", "y", 1, {}, false, &reason))
      << "connection dropped: refused QoS 2 flows were counted as unacknowledged";
}

// §4.9: a QoS 2 PUBLISH occupies the client's Receive Maximum until PUBCOMP (not PUBREC).
TEST_F(V5FlowControlTest, ClientReceiveMaximumCountsQos2UntilPubcomp) {
  V5Client sub(port());
  sub.set_auto_ack(false);
  m::ConnectPacket p = V5Client::connect_packet("rm2-sub");
  p.properties.receive_maximum = 1;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("rm2/t", 2));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rm2-pub"));
  ASSERT_TRUE(pub.publish("rm2/t", "a", 2));
  ASSERT_TRUE(pub.publish("rm2/t", "b", 2));

  auto first = sub.recv_publish();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload, "a");
  m::AckPacket rec;
  rec.type = m::PacketType::kPubrec;
  rec.packet_id = first->packet_id;
  ASSERT_TRUE(sub.send(rec));
  auto rel = sub.recv_type(m::PacketType::kPubrel);
  ASSERT_TRUE(rel) << "no PUBREL after PUBREC";
  EXPECT_TRUE(sub.expect_no_publish(milliseconds(500)))
      << "second QoS 2 PUBLISH sent before the first flow completed (Receive Maximum 1)";
  m::AckPacket comp;
  comp.type = m::PacketType::kPubcomp;
  comp.packet_id = first->packet_id;
  ASSERT_TRUE(sub.send(comp));
  auto second = sub.recv_publish();
  ASSERT_TRUE(second) << "PUBCOMP did not release the next QoS 2 PUBLISH";
  EXPECT_EQ(second->payload, "b");
}

// MQTT-3.3.4-9 also binds the retransmissions of a resumed session (MQTT-4.4.0-1): a client
// that left 5 QoS 1 PUBLISHes unacknowledged and comes back with Receive Maximum 2 must not
// get more than 2 unacknowledged at once; the rest follow as it acknowledges.
TEST_F(V5FlowControlTest, ReceiveMaximumAppliesToResentMessages) {
  {
    V5Client sub(port());
    sub.set_auto_ack(false);
    ASSERT_TRUE(sub.connect("rm-resume", true, 60));
    ASSERT_TRUE(sub.subscribe("rm/resume", 1));
    V5Client pub(port());
    ASSERT_TRUE(pub.connect("rm-resume-pub"));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(pub.publish("rm/resume", std::to_string(i), 1));
    std::vector<Message> unacked;
    ASSERT_TRUE(sub.recv_publishes(5, &unacked));
    sub.close();
  }
  V5Client sub(port());
  sub.set_auto_ack(false);
  m::ConnectPacket p = V5Client::connect_packet("rm-resume", false, 60);
  p.properties.receive_maximum = 2;
  m::ConnackPacket ack;
  ASSERT_TRUE(sub.connect(p, &ack));
  ASSERT_TRUE(ack.session_present);
  std::vector<Message> resent;
  while (auto msg = sub.recv_publish(milliseconds(700))) resent.push_back(*msg);
  ASSERT_FALSE(resent.empty()) << "unacknowledged messages were not resent";
  EXPECT_LE(resent.size(), 2u) << "resent " << resent.size()
                               << " unacknowledged PUBLISHes at once to a client with Receive "
                                  "Maximum 2";
  // Acknowledging everything eventually delivers all five, in order.
  std::vector<std::string> order;
  for (const auto& msg : resent) order.push_back(msg.payload);
  for (const auto& msg : resent) ASSERT_TRUE(sub.puback(msg.packet_id));
  while (order.size() < 5) {
    auto msg = sub.recv_publish(milliseconds(2000));
    if (!msg) break;
    order.push_back(msg->payload);
    ASSERT_TRUE(sub.puback(msg->packet_id));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

// §4.9: "a PUBREC packet with a Return Code greater than or equal to 0x80" returns the send
// quota, and §4.3.3 says no PUBREL follows it. With Receive Maximum 1, refusing the first
// QoS 2 PUBLISH with PUBREC 0x80 lets the next one through.
TEST_F(V5FlowControlTest, ErrorPubrecFreesReceiveMaximumSlot) {
  V5Client sub(port());
  sub.set_auto_ack(false);
  m::ConnectPacket p = V5Client::connect_packet("rm-pubrec-err");
  p.properties.receive_maximum = 1;
  ASSERT_TRUE(sub.connect(p));
  ASSERT_TRUE(sub.subscribe("rm/err", 2));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rm-pubrec-err-pub"));
  ASSERT_TRUE(pub.publish("rm/err", "refused", 2));
  ASSERT_TRUE(pub.publish("rm/err", "accepted", 2));
  auto first = sub.recv_publish();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload, "refused");
  m::AckPacket rec;
  rec.type = m::PacketType::kPubrec;
  rec.packet_id = first->packet_id;
  rec.reason_code = m::reason::kUnspecifiedError;
  ASSERT_TRUE(sub.send(rec));
  auto second = sub.recv_publish();
  ASSERT_TRUE(second) << "PUBREC 0x80 did not free the Receive Maximum slot";
  EXPECT_EQ(second->payload, "accepted");
  EXPECT_FALSE(sub.recv_type(m::PacketType::kPubrel, milliseconds(300)))
      << "PUBREL sent after a PUBREC with an error reason code";
}

}  // namespace
}  // namespace topicdb::itest::v5
