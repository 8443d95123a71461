// The harness itself: CONNECT/CONNACK under both versions, a publish/subscribe round trip at
// every QoS, ping, and the two ways a client leaves.
#include "tests/broker/harness/broker_harness.h"

#include <gtest/gtest.h>

namespace topicdb::broker::harness {
namespace {

using mqtt::PacketType;
using mqtt::ProtocolVersion;

TEST(BrokerHarnessTest, ConnectsV311AndV5Clients) {
  BrokerHarness h;
  TestClient& a = h.connect("a", ProtocolVersion::kV311);
  TestClient& b = h.connect("b", ProtocolVersion::kV5);
  ASSERT_TRUE(a.connack());
  ASSERT_TRUE(b.connack());
  EXPECT_EQ(a.connack()->reason_code, 0);
  EXPECT_EQ(b.connack()->reason_code, 0);
  EXPECT_FALSE(a.connack()->session_present);
  // MQTT 5 CONNACK carries the broker's limits.
  EXPECT_EQ(b.connack()->properties.receive_maximum, h.broker().options().receive_maximum);
  EXPECT_EQ(h.broker().connection_count(), 2u);
  EXPECT_EQ(h.broker().session_count(), 2u);
}

TEST(BrokerHarnessTest, EmptyClientIdGetsAnAssignedOneUnderV5) {
  BrokerHarness h;
  TestClient& c = h.connect("", ProtocolVersion::kV5);
  ASSERT_TRUE(c.accepted());
  ASSERT_TRUE(c.connack()->properties.assigned_client_identifier);
  EXPECT_FALSE(c.connack()->properties.assigned_client_identifier->empty());
}

TEST(BrokerHarnessTest, PingGetsPingresp) {
  BrokerHarness h;
  TestClient& c = h.connect("c");
  c.ping();
  auto r = c.next();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is(PacketType::kPingresp));
  EXPECT_FALSE(c.next());
}

class BrokerHarnessRoundTripTest
    : public ::testing::TestWithParam<std::tuple<ProtocolVersion, uint8_t>> {};

TEST_P(BrokerHarnessRoundTripTest, PublishReachesSubscriberAtGrantedQos) {
  const auto [version, qos] = GetParam();
  BrokerHarness h;
  TestClient& sub = h.connect("sub", version);
  TestClient& pub = h.connect("pub", version);
  ASSERT_EQ(sub.subscribe("t/#", qos), qos);

  const uint16_t id = pub.publish("t/1", "hello", qos);
  if (qos == 1) {
    auto ack = pub.next();
    ASSERT_TRUE(ack);
    EXPECT_TRUE(ack->is(PacketType::kPuback));
    EXPECT_EQ(ack->ack().packet_id, id);
  } else if (qos == 2) {
    auto rec = pub.next();
    ASSERT_TRUE(rec);
    ASSERT_TRUE(rec->is(PacketType::kPubrec));
    pub.send(mqtt::AckPacket{.type = PacketType::kPubrel, .packet_id = id});
    auto comp = pub.next();
    ASSERT_TRUE(comp);
    EXPECT_TRUE(comp->is(PacketType::kPubcomp));
  }
  EXPECT_FALSE(pub.next());

  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  const mqtt::PublishPacket& p = got[0].publish();
  EXPECT_EQ(p.topic, "t/1");
  EXPECT_EQ(p.payload, "hello");
  EXPECT_EQ(p.qos, qos);
  if (qos == 1) {
    sub.send(mqtt::AckPacket{.type = PacketType::kPuback, .packet_id = p.packet_id});
  } else if (qos == 2) {
    sub.send(mqtt::AckPacket{.type = PacketType::kPubrec, .packet_id = p.packet_id});
    auto rel = sub.next();
    ASSERT_TRUE(rel);
    EXPECT_TRUE(rel->is(PacketType::kPubrel));
    sub.send(mqtt::AckPacket{.type = PacketType::kPubcomp, .packet_id = p.packet_id});
  }
  EXPECT_FALSE(sub.next());
}

INSTANTIATE_TEST_SUITE_P(VersionsAndQos, BrokerHarnessRoundTripTest,
                         ::testing::Combine(::testing::Values(ProtocolVersion::kV311,
                                                              ProtocolVersion::kV5),
                                            ::testing::Values(0, 1, 2)));

TEST(BrokerHarnessTest, DisconnectAndDropCloseTheConnection) {
  BrokerHarness h;
  TestClient& a = h.connect("a");
  TestClient& b = h.connect("b");
  a.disconnect();
  EXPECT_TRUE(a.closed());
  EXPECT_EQ(h.broker().connection_count(), 1u);
  b.drop();
  EXPECT_TRUE(b.closed());
  EXPECT_EQ(h.broker().connection_count(), 0u);
}

TEST(BrokerHarnessTest, ReconnectResumesASession) {
  BrokerHarness h;
  ConnectOptions o;
  o.client_id = "p";
  o.clean_start = false;
  o.properties.session_expiry_interval = 60;
  TestClient& first = h.connect(o);
  ASSERT_EQ(first.subscribe("x", 1), 1);
  first.drop();
  TestClient& second = h.connect(o);
  ASSERT_TRUE(second.accepted());
  EXPECT_TRUE(second.connack()->session_present);
}

TEST(BrokerHarnessTest, AdvanceMovesTheBrokerClock) {
  BrokerHarness h;
  const int64_t start = h.clock().now_ms();
  h.advance(1234);
  EXPECT_EQ(h.clock().now_ms(), start + 1234);
}

}  // namespace
}  // namespace topicdb::broker::harness
