// MQTT 5 session expiry on the harness (the real-binary tests in
// tests/integration/v5_session_expiry_test.cc cover the same behaviours with sleeps):
// time moves by advance(), so the boundaries are checked to the millisecond.
#include <gtest/gtest.h>

#include <string>

#include "tests/broker/harness/broker_harness.h"

namespace topicdb::broker::harness {
namespace {

using mqtt::PacketType;

ConnectOptions persistent(const std::string& id, uint32_t expiry_s, bool clean_start = true) {
  ConnectOptions o;
  o.client_id = id;
  o.clean_start = clean_start;
  o.properties.session_expiry_interval = expiry_s;
  return o;
}

class HarnessSessionExpiryTest : public ::testing::Test {
 protected:
  // A session with `expiry_s` subscribed to `topic` at QoS 1, left by a network failure.
  void make_offline_session(const std::string& id, uint32_t expiry_s, const std::string& topic) {
    TestClient& c = h_.connect(persistent(id, expiry_s));
    ASSERT_TRUE(c.accepted());
    ASSERT_EQ(c.subscribe(topic, 1), 1);
    c.drop();
  }
  // QoS 1 publishes from another client; returns the PUBACK reason of the last one.
  uint8_t publish_qos1(const std::string& topic, std::initializer_list<const char*> payloads) {
    TestClient& pub = h_.connect("pub-" + std::to_string(++publishers_));
    uint8_t reason = 0xFF;
    for (const char* p : payloads) {
      pub.publish(topic, p, 1);
      auto ack = pub.take(PacketType::kPuback);
      reason = ack ? ack->ack().reason_code : 0xFF;
    }
    pub.disconnect();
    return reason;
  }

  BrokerHarness h_;
  int publishers_ = 0;
};

TEST_F(HarnessSessionExpiryTest, ResumedWithinExpiryDeliversQueuedMessages) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("s", 2, "se/resume"));
  EXPECT_EQ(publish_qos1("se/resume", {"q1", "q2"}), 0);
  h_.advance(1999);  // one millisecond before the session ends
  TestClient& c = h_.connect(persistent("s", 2, /*clean_start=*/false));
  ASSERT_TRUE(c.accepted());
  EXPECT_TRUE(c.connack()->session_present);
  auto got = c.publishes();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].publish().payload, "q1");
  EXPECT_EQ(got[1].publish().payload, "q2");
  EXPECT_EQ(got[0].publish().qos, 1);
}

TEST_F(HarnessSessionExpiryTest, ResumedByAnotherUserStartsAFreshSession) {
  ConnectOptions alice = persistent("s", 60);
  alice.username = "alice";
  TestClient& first = h_.connect(alice);
  ASSERT_TRUE(first.accepted());
  ASSERT_EQ(first.subscribe("se/owner", 1), 1);
  first.drop();
  EXPECT_EQ(publish_qos1("se/owner", {"for-alice"}), 0);

  // Another user (and then nobody) may not take over alice's queue or subscriptions.
  ConnectOptions mallory = persistent("s", 60, /*clean_start=*/false);
  mallory.username = "mallory";
  TestClient& other = h_.connect(mallory);
  ASSERT_TRUE(other.accepted());
  EXPECT_FALSE(other.connack()->session_present);
  EXPECT_TRUE(other.publishes().empty());
  other.drop();
  EXPECT_EQ(publish_qos1("se/owner", {"nobody"}), mqtt::reason::kNoMatchingSubscribers);

  // The same user resumes as always.
  TestClient& again = h_.connect(mallory);
  EXPECT_TRUE(again.connack()->session_present);
}

TEST_F(HarnessSessionExpiryTest, ExpiredSessionIsDiscarded) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("s", 2, "se/expire"));
  EXPECT_EQ(publish_qos1("se/expire", {"lost1", "lost2"}), 0);
  h_.advance(2000);
  EXPECT_EQ(h_.broker().session_count(), 0u);
  // The store forgot it too.
  auto loaded = h_.store().load();
  ASSERT_TRUE(loaded.is_ok());
  for (const StoredSession& s : loaded->sessions) EXPECT_NE(s.client_id, "s");
  // The subscription went with the session.
  EXPECT_EQ(publish_qos1("se/expire", {"after"}), mqtt::reason::kNoMatchingSubscribers);
  TestClient& c = h_.connect(persistent("s", 2, /*clean_start=*/false));
  ASSERT_TRUE(c.accepted());
  EXPECT_FALSE(c.connack()->session_present);
  EXPECT_TRUE(c.publishes().empty());
}

TEST_F(HarnessSessionExpiryTest, DisconnectWithZeroExpiryEndsSession) {
  TestClient& c = h_.connect(persistent("s", 60));
  ASSERT_EQ(c.subscribe("se/drop", 1), 1);
  mqtt::Properties props;
  props.session_expiry_interval = 0;
  c.disconnect(0, props);
  EXPECT_EQ(h_.broker().session_count(), 0u);
  publish_qos1("se/drop", {"gone"});
  TestClient& again = h_.connect(persistent("s", 60, /*clean_start=*/false));
  EXPECT_FALSE(again.connack()->session_present);
  EXPECT_TRUE(again.publishes().empty());
}

TEST_F(HarnessSessionExpiryTest, DisconnectWithLongerExpiryKeepsSession) {
  TestClient& c = h_.connect(persistent("s", 60));
  ASSERT_EQ(c.subscribe("se/keep", 1), 1);
  mqtt::Properties props;
  props.session_expiry_interval = 120;
  c.disconnect(0, props);
  publish_qos1("se/keep", {"kept"});
  h_.advance(90'000);  // past the 60 s of CONNECT, within the 120 s of DISCONNECT
  TestClient& again = h_.connect(persistent("s", 60, /*clean_start=*/false));
  EXPECT_TRUE(again.connack()->session_present);
  auto got = again.publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].publish().payload, "kept");
}

TEST_F(HarnessSessionExpiryTest, NonZeroExpiryAtDisconnectAfterZeroIsProtocolError) {
  TestClient& c = h_.connect("s");
  mqtt::Properties props;
  props.session_expiry_interval = 30;
  c.send(mqtt::DisconnectPacket{.properties = props});
  auto d = c.take(PacketType::kDisconnect);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->disconnect().reason_code, mqtt::reason::kProtocolError);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(h_.broker().session_count(), 0u);
}

TEST_F(HarnessSessionExpiryTest, ZeroExpirySessionEndsWithItsConnection) {
  TestClient& c = h_.connect(persistent("s", 0));
  ASSERT_EQ(c.subscribe("t", 1), 1);
  c.drop();
  EXPECT_EQ(h_.broker().session_count(), 0u);
}

}  // namespace
}  // namespace topicdb::broker::harness
