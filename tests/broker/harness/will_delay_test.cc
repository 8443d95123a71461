// MQTT 5 wills and will delay on the harness (the real-binary tests in
// tests/integration/v5_will_test.cc cover the same behaviours with sleeps).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

ConnectOptions with_will(const std::string& id, const std::string& topic,
                         std::optional<uint32_t> delay_s, uint32_t session_expiry_s) {
  ConnectOptions o;
  o.client_id = id;
  o.properties.session_expiry_interval = session_expiry_s;
  o.will = mqtt::Will{.topic = topic, .payload = "will of " + id, .qos = 1};
  o.will->properties.will_delay_interval = delay_s;
  return o;
}

class HarnessWillTest : public ::testing::Test {
 protected:
  HarnessWillTest() : watcher_(h_.connect("watcher")) {
    EXPECT_EQ(watcher_.subscribe("will/#", 1), 1);
  }
  std::vector<Received> wills() { return watcher_.publishes(); }

  BrokerHarness h_;
  TestClient& watcher_;
};

TEST_F(HarnessWillTest, DelayedWillIsPublishedAfterItsDelayNotBefore) {
  TestClient& dying = h_.connect(with_will("dying", "will/delayed", 2, 30));
  ASSERT_TRUE(dying.accepted());
  dying.drop();
  h_.advance(1999);
  EXPECT_TRUE(wills().empty()) << "will published before its 2 s delay";
  h_.advance(1);
  auto got = wills();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().topic, "will/delayed");
  EXPECT_EQ(got[0].publish().payload, "will of dying");
  EXPECT_FALSE(got[0].publish().properties.will_delay_interval);
}

TEST_F(HarnessWillTest, UndelayedWillIsPublishedAtOnce) {
  TestClient& dying = h_.connect(with_will("now", "will/now", std::nullopt, 30));
  dying.drop();
  auto got = wills();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "will of now");
}

TEST_F(HarnessWillTest, ReconnectWithinDelayCancelsWill) {
  TestClient& dying = h_.connect(with_will("phoenix", "will/cancel", 2, 30));
  dying.drop();
  h_.advance(500);
  ConnectOptions back;
  back.client_id = "phoenix";
  back.clean_start = false;
  back.properties.session_expiry_interval = 30;
  TestClient& again = h_.connect(back);
  EXPECT_TRUE(again.connack()->session_present);
  h_.advance(5000);
  EXPECT_TRUE(wills().empty()) << "will published although the client came back in time";
}

TEST_F(HarnessWillTest, TakeoverWithinDelayCancelsWill) {
  TestClient& old_conn = h_.connect(with_will("taken", "will/takeover", 1, 30));
  ConnectOptions o;
  o.client_id = "taken";
  o.clean_start = false;
  o.properties.session_expiry_interval = 30;
  TestClient& new_conn = h_.connect(o);
  EXPECT_TRUE(new_conn.connack()->session_present);
  auto d = old_conn.take(mqtt::PacketType::kDisconnect);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->disconnect().reason_code, mqtt::reason::kSessionTakenOver);
  h_.advance(3000);
  EXPECT_TRUE(wills().empty());
}

TEST_F(HarnessWillTest, SessionEndBeforeDelayPublishesWill) {
  TestClient& dying = h_.connect(with_will("short", "will/session-end", 30, 1));
  dying.drop();
  h_.advance(999);
  EXPECT_TRUE(wills().empty());
  h_.advance(1);  // the 1 s session ends long before the 30 s will delay
  auto got = wills();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "will of short");
}

TEST_F(HarnessWillTest, DisconnectWithWillMessagePublishesWill) {
  TestClient& leaving = h_.connect(with_will("leaving", "will/x04", std::nullopt, 0));
  leaving.disconnect(mqtt::reason::kDisconnectWithWill);
  auto got = wills();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "will of leaving");
}

TEST_F(HarnessWillTest, NormalDisconnectDiscardsWill) {
  TestClient& leaving = h_.connect(with_will("leaving", "will/normal", std::nullopt, 0));
  leaving.disconnect(0);
  h_.advance(10'000);
  EXPECT_TRUE(wills().empty());
}

TEST_F(HarnessWillTest, NormalDisconnectDiscardsDelayedWill) {
  TestClient& leaving = h_.connect(with_will("leaving", "will/normal", 2, 30));
  leaving.disconnect(0);
  h_.advance(10'000);
  EXPECT_TRUE(wills().empty());
}

TEST_F(HarnessWillTest, WillPropertiesArePassedThrough) {
  ConnectOptions o = with_will("props", "will/props", std::nullopt, 0);
  o.will->properties.payload_format_indicator = 1;
  o.will->properties.content_type = "text/plain";
  o.will->properties.response_topic = "will/reply";
  o.will->properties.correlation_data = std::string("\x00\x01\x02", 3);
  o.will->properties.user_properties = {{"k", "v1"}, {"k", "v2"}};
  TestClient& dying = h_.connect(o);
  dying.drop();
  auto got = wills();
  ASSERT_EQ(got.size(), 1u);
  const mqtt::Properties& p = got[0].publish().properties;
  EXPECT_EQ(p.payload_format_indicator, std::optional<uint8_t>(1));
  EXPECT_EQ(p.content_type, "text/plain");
  EXPECT_EQ(p.response_topic, "will/reply");
  EXPECT_EQ(p.correlation_data, std::string("\x00\x01\x02", 3));
  EXPECT_EQ(p.user_properties, o.will->properties.user_properties);
}

}  // namespace
}  // namespace topicdb::broker::harness
