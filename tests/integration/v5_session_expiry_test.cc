// MQTT 5 session expiry (§3.1.2.11.2, §3.14.2.2.2, §4.1): sessions outlive the connection
// for the Session Expiry Interval, can be shortened at DISCONNECT, and survive a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/v5_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest::v5 {
namespace {

class V5SessionExpiryTest : public V5Test {
 protected:
  // Connects `id` with the given expiry, subscribes to `filter` at QoS 1 and disconnects
  // normally.
  void make_offline_session(const std::string& id, uint32_t expiry, const std::string& filter) {
    V5Client c(port());
    ASSERT_TRUE(c.connect(id, true, expiry));
    ASSERT_TRUE(c.subscribe(filter, 1));
    ASSERT_TRUE(c.disconnect());
  }

  void publish_qos1(const std::string& topic, const std::vector<std::string>& payloads) {
    V5Client pub(port());
    ASSERT_TRUE(pub.connect("publisher-" + topic));
    for (const auto& p : payloads) ASSERT_TRUE(pub.publish(topic, p, 1));
    ASSERT_TRUE(pub.disconnect());
  }
};

// Reconnecting within the interval: Session Present = 1 (MQTT-3.2.2-3) and the QoS 1
// messages queued meanwhile are delivered (§4.1).
TEST_F(V5SessionExpiryTest, ResumedWithinExpiryDeliversQueuedMessages) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("se-resume", 2, "se/resume"));
  ASSERT_NO_FATAL_FAILURE(publish_qos1("se/resume", {"q1", "q2"}));
  std::this_thread::sleep_for(milliseconds(500));

  V5Client c(port());
  bool present = false;
  ASSERT_TRUE(c.connect("se-resume", false, 2, &present));
  EXPECT_TRUE(present) << "session with 2 s expiry gone after 0.5 s";
  std::vector<Message> got;
  ASSERT_TRUE(c.recv_publishes(2, &got));
  EXPECT_EQ(got[0].payload, "q1");
  EXPECT_EQ(got[1].payload, "q2");
  EXPECT_EQ(got[0].qos, 1);
}

// After the interval the session is gone: Session Present = 0, nothing queued is delivered,
// and the old subscription no longer exists (MQTT-3.1.2-23 / §4.1).
TEST_F(V5SessionExpiryTest, ExpiredSessionIsDiscarded) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("se-expire", 2, "se/expire"));
  ASSERT_NO_FATAL_FAILURE(publish_qos1("se/expire", {"lost1", "lost2"}));
  std::this_thread::sleep_for(milliseconds(3000));

  V5Client c(port());
  bool present = true;
  ASSERT_TRUE(c.connect("se-expire", false, 2, &present));
  EXPECT_FALSE(present) << "session still present 3 s after it expired (interval 2 s)";
  EXPECT_TRUE(c.expect_no_publish(milliseconds(500)));
  // The subscription expired with the session.
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("se-expire-pub"));
  uint8_t reason = 0xFF;
  ASSERT_TRUE(pub.publish("se/expire", "after", 1, {}, false, &reason));
  EXPECT_EQ(reason, m::reason::kNoMatchingSubscribers);
  EXPECT_TRUE(c.expect_no_publish(milliseconds(300)));
}

// §3.14.2.2.2: the client may change the interval at DISCONNECT; 60 -> 0 ends the session
// when the connection closes.
TEST_F(V5SessionExpiryTest, DisconnectWithZeroExpiryEndsSession) {
  {
    V5Client c(port());
    ASSERT_TRUE(c.connect("se-drop", true, 60));
    ASSERT_TRUE(c.subscribe("se/drop", 1));
    m::Properties props;
    props.session_expiry_interval = 0;
    ASSERT_TRUE(c.disconnect(0, props));
  }
  ASSERT_NO_FATAL_FAILURE(publish_qos1("se/drop", {"gone"}));
  V5Client c(port());
  bool present = true;
  ASSERT_TRUE(c.connect("se-drop", false, 60, &present));
  EXPECT_FALSE(present) << "DISCONNECT with Session Expiry Interval 0 must end the session";
  EXPECT_TRUE(c.expect_no_publish(milliseconds(500)));
}

// The converse: 60 at CONNECT, 120 at DISCONNECT keeps the session (control for the test
// above, so that it is the 0 that matters).
TEST_F(V5SessionExpiryTest, DisconnectWithLongerExpiryKeepsSession) {
  {
    V5Client c(port());
    ASSERT_TRUE(c.connect("se-keep", true, 60));
    ASSERT_TRUE(c.subscribe("se/keep", 1));
    m::Properties props;
    props.session_expiry_interval = 120;
    ASSERT_TRUE(c.disconnect(0, props));
  }
  ASSERT_NO_FATAL_FAILURE(publish_qos1("se/keep", {"kept"}));
  V5Client c(port());
  bool present = false;
  ASSERT_TRUE(c.connect("se-keep", false, 60, &present));
  EXPECT_TRUE(present);
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "kept");
}

// §3.14.2.2.2: "If the Session Expiry Interval in the CONNECT packet was zero, then it is a
// Protocol Error to set a non-zero Session Expiry Interval in the DISCONNECT packet" -> the
// server answers with DISCONNECT 0x82.
TEST_F(V5SessionExpiryTest, NonZeroExpiryAtDisconnectAfterZeroIsProtocolError) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("se-bad", true, std::nullopt));
  m::DisconnectPacket d;
  d.properties.session_expiry_interval = 30;
  ASSERT_TRUE(c.send(d));
  EXPECT_TRUE(c.expect_disconnect(m::reason::kProtocolError));
  // It was not treated as a valid DISCONNECT, and the session still had expiry 0: gone.
  V5Client again(port());
  bool present = true;
  ASSERT_TRUE(again.connect("se-bad", false, 30, &present));
  EXPECT_FALSE(present);
}

// A session with an expiry interval, its subscription and its queued QoS 1 messages survive
// a graceful broker restart on the same data directory.
TEST_F(V5SessionExpiryTest, SessionSurvivesBrokerRestart) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("se-restart", 300, "se/restart"));
  ASSERT_NO_FATAL_FAILURE(publish_qos1("se/restart", {"r1", "r2", "r3"}));
  ASSERT_TRUE(broker_.restart()) << broker_.stderr_tail();

  V5Client c(port());
  bool present = false;
  ASSERT_TRUE(c.connect("se-restart", false, 300, &present));
  EXPECT_TRUE(present) << "session with expiry 300 s lost across a restart";
  std::vector<Message> got;
  ASSERT_TRUE(c.recv_publishes(3, &got));
  EXPECT_EQ(got[0].payload, "r1");
  EXPECT_EQ(got[1].payload, "r2");
  EXPECT_EQ(got[2].payload, "r3");
  // The subscription was restored too.
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("se-restart-pub"));
  ASSERT_TRUE(pub.publish("se/restart", "r4", 1));
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "r4");
}

// A session with expiry 0 does not survive the restart (nor the disconnect).
TEST_F(V5SessionExpiryTest, ZeroExpirySessionDoesNotSurviveRestart) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("se-zero", 0, "se/zero"));
  ASSERT_TRUE(broker_.restart()) << broker_.stderr_tail();
  V5Client c(port());
  bool present = true;
  ASSERT_TRUE(c.connect("se-zero", false, 60, &present));
  EXPECT_FALSE(present);
}

// Subscription identifiers are part of the session state (§4.1, §3.3.4 MQTT-3.3.4-3/4): a
// message queued for an offline session whose two overlapping subscriptions have ids 1 and 2
// must still carry both after a restart.
TEST_F(V5SessionExpiryTest, QueuedMessageKeepsAllSubscriptionIdsAcrossRestart) {
  {
    V5Client c(port());
    ASSERT_TRUE(c.connect("se-sid", true, 300));
    ASSERT_TRUE(c.subscribe("se/sid/+", 1, 1));
    ASSERT_TRUE(c.subscribe("se/sid/#", 1, 2));
    ASSERT_TRUE(c.disconnect());
  }
  ASSERT_NO_FATAL_FAILURE(publish_qos1("se/sid/x", {"both"}));
  ASSERT_TRUE(broker_.restart()) << broker_.stderr_tail();
  V5Client c(port());
  bool present = false;
  ASSERT_TRUE(c.connect("se-sid", false, 300, &present));
  ASSERT_TRUE(present);
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  auto ids = msg->props.subscription_identifiers;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2})) << describe(*msg);
}

// Without a restart the same queued message carries both ids (control).
TEST_F(V5SessionExpiryTest, QueuedMessageKeepsAllSubscriptionIds) {
  {
    V5Client c(port());
    ASSERT_TRUE(c.connect("se-sid2", true, 300));
    ASSERT_TRUE(c.subscribe("se/sid2/+", 1, 1));
    ASSERT_TRUE(c.subscribe("se/sid2/#", 1, 2));
    ASSERT_TRUE(c.disconnect());
  }
  ASSERT_NO_FATAL_FAILURE(publish_qos1("se/sid2/x", {"both"}));
  V5Client c(port());
  ASSERT_TRUE(c.connect("se-sid2", false, 300));
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  auto ids = msg->props.subscription_identifiers;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2})) << describe(*msg);
}

// The same with the mosquitto tools: `mosquitto_sub -V 5 -c -x 60` leaves a session behind,
// a QoS 1 message published meanwhile is delivered when it comes back.
TEST_F(V5SessionExpiryTest, MosquittoToolsPersistentSession) {
  const std::vector<std::string> base = {
      MOSQUITTO_SUB, "-h", "127.0.0.1", "-p",      std::to_string(port()),
      "-V",          "5",  "-i",        "mosq-se", "-c",
      "-x",          "60", "-q",        "1",       "-t",
      "se/mosq"};
  auto first = base;
  first.push_back("-E");  // subscribe, then disconnect
  ProcessResult r1 = run_process(first, milliseconds(10000));
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  ASSERT_TRUE(mosquitto_pub_v5(port(), {"-t", "se/mosq", "-m", "while-away", "-q", "1"}));
  auto second = base;
  second.insert(second.end(), {"-C", "1", "-W", "5"});
  ProcessResult r2 = run_process(second, milliseconds(10000), /*merge_stderr=*/false);
  EXPECT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(r2.output, "while-away\n");
}

// Session expiry keeps running while the broker is down (§3.1.2.11.2 counts from the
// disconnect): a 2 s session whose broker is stopped for 3 s is gone after the restart.
TEST_F(V5SessionExpiryTest, ExpiryCountsWhileBrokerIsDown) {
  ASSERT_NO_FATAL_FAILURE(make_offline_session("se-down", 2, "se/down"));
  ASSERT_TRUE(broker_.stop()) << broker_.stderr_tail();
  std::this_thread::sleep_for(milliseconds(3000));
  ASSERT_TRUE(broker_.start(dir_.path(), broker_args())) << broker_.stderr_tail();
  V5Client c(port());
  bool present = true;
  ASSERT_TRUE(c.connect("se-down", false, 2, &present));
  EXPECT_FALSE(present) << "2 s session survived 3 s of broker downtime";
}

// The subscription identifier is stored with the subscription: live messages after a restart
// still carry it.
TEST_F(V5SessionExpiryTest, SubscriptionIdentifierSurvivesRestart) {
  {
    V5Client c(port());
    ASSERT_TRUE(c.connect("se-sid-live", true, 300));
    ASSERT_TRUE(c.subscribe("se/sid-live", 1, 77));
    ASSERT_TRUE(c.disconnect());
  }
  ASSERT_TRUE(broker_.restart()) << broker_.stderr_tail();
  V5Client c(port());
  ASSERT_TRUE(c.connect("se-sid-live", false, 300));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("se-sid-live-pub"));
  ASSERT_TRUE(pub.publish("se/sid-live", "x", 1));
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->props.subscription_identifiers, (std::vector<uint32_t>{77})) << describe(*msg);
}

}  // namespace
}  // namespace topicdb::itest::v5
