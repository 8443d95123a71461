// MQTT 5 message expiry on the harness (the real-binary tests in
// tests/integration/v5_message_expiry_test.cc cover the same behaviours with sleeps): queued
// and retained messages expire, and the remaining interval is what a subscriber is told.
#include <gtest/gtest.h>

#include <string>

#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

mqtt::Properties expiring(uint32_t seconds) {
  mqtt::Properties p;
  p.message_expiry_interval = seconds;
  return p;
}

ConnectOptions persistent_client(const std::string& id, bool clean_start) {
  ConnectOptions o;
  o.client_id = id;
  o.clean_start = clean_start;
  o.properties.session_expiry_interval = 3600;
  return o;
}

class HarnessMessageExpiryTest : public ::testing::Test {
 protected:
  void make_offline_session(const std::string& id, const std::string& topic) {
    TestClient& c = h_.connect(persistent_client(id, true));
    ASSERT_EQ(c.subscribe(topic, 1), 1);
    c.disconnect();
  }
  BrokerHarness h_;
};

TEST_F(HarnessMessageExpiryTest, ExpiredQueuedMessageIsNotDelivered) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("sub", "me/t"));
  TestClient& pub = h_.connect("pub");
  pub.publish("me/t", "short-lived", 1, false, expiring(1));
  pub.publish("me/t", "durable", 1);
  h_.advance(1000);  // exactly the interval: expired
  TestClient& sub = h_.connect(persistent_client("sub", false));
  ASSERT_TRUE(sub.connack()->session_present);
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "durable");
  EXPECT_FALSE(got[0].publish().properties.message_expiry_interval);
}

TEST_F(HarnessMessageExpiryTest, QueuedMessageWithinItsIntervalIsDelivered) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("sub", "me/t"));
  TestClient& pub = h_.connect("pub");
  pub.publish("me/t", "short-lived", 1, false, expiring(1));
  h_.advance(999);
  TestClient& sub = h_.connect(persistent_client("sub", false));
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "short-lived");
  // What is left (1 ms) is sent rounded up: a subscriber is never told 0 (never expires).
  EXPECT_EQ(got[0].publish().properties.message_expiry_interval, 1u);
}

TEST_F(HarnessMessageExpiryTest, QueuedMessageCarriesRemainingInterval) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("sub", "me/t2"));
  TestClient& pub = h_.connect("pub");
  pub.publish("me/t2", "long-lived", 1, false, expiring(60));
  h_.advance(15'000);
  TestClient& sub = h_.connect(persistent_client("sub", false));
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().properties.message_expiry_interval, 45u);
}

TEST_F(HarnessMessageExpiryTest, LiveDeliveryForwardsInterval) {
  TestClient& sub = h_.connect("sub");
  ASSERT_EQ(sub.subscribe("me/live", 1), 1);
  TestClient& pub = h_.connect("pub");
  pub.publish("me/live", "x", 1, false, expiring(30));
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().properties.message_expiry_interval, 30u);
}

TEST_F(HarnessMessageExpiryTest, ExpiredRetainedMessageIsNotSent) {
  TestClient& pub = h_.connect("pub");
  pub.publish("me/ret/short", "short", 1, /*retain=*/true, expiring(1));
  pub.publish("me/ret/long", "long", 1, /*retain=*/true);
  h_.advance(1000);
  TestClient& sub = h_.connect("sub");
  ASSERT_EQ(sub.subscribe("me/ret/#", 1), 1);
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().topic, "me/ret/long");
  EXPECT_TRUE(got[0].publish().retain);
}

TEST_F(HarnessMessageExpiryTest, RetainedMessageCarriesRemainingInterval) {
  TestClient& pub = h_.connect("pub");
  pub.publish("me/ret", "r", 1, /*retain=*/true, expiring(60));
  h_.advance(20'000);
  TestClient& sub = h_.connect("sub", mqtt::ProtocolVersion::kV5);
  ASSERT_EQ(sub.subscribe("me/ret", 1), 1);
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().properties.message_expiry_interval, 40u);
}

TEST_F(HarnessMessageExpiryTest, ExpiresWhileQueuedBehindInflightWindow) {
  // One message in flight at a time: the second waits in the queue and expires there.
  BrokerOptions options = harness_options();
  options.max_inflight = 1;
  BrokerHarness h(options);
  TestClient& sub = h.connect("sub");
  ASSERT_EQ(sub.subscribe("me/q", 1), 1);
  TestClient& pub = h.connect("pub");
  pub.publish("me/q", "first", 1);
  pub.publish("me/q", "second", 1, false, expiring(1));
  auto got = sub.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "first");
  h.advance(2000);
  sub.send(
      mqtt::AckPacket{.type = mqtt::PacketType::kPuback, .packet_id = got[0].publish().packet_id});
  EXPECT_TRUE(sub.publishes().empty()) << "message sent after it expired in the queue";
}

}  // namespace
}  // namespace topicdb::broker::harness
