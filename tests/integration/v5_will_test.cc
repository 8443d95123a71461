// MQTT 5 wills (§3.1.2.5, §3.1.3.2.2 Will Delay Interval, §3.14.2.1 reason 0x04).
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

class V5WillTest : public V5Test {
 protected:
  static m::ConnectPacket with_will(const std::string& id, const std::string& topic,
                                    std::optional<uint32_t> delay, uint32_t session_expiry) {
    m::ConnectPacket p = V5Client::connect_packet(id, true, session_expiry);
    m::Will will;
    will.topic = topic;
    will.payload = "will of " + id;
    will.qos = 1;
    will.properties.will_delay_interval = delay;
    p.will = std::move(will);
    return p;
  }

  void watch(V5Client& watcher, const std::string& filter) {
    ASSERT_TRUE(watcher.connect("watcher"));
    ASSERT_TRUE(watcher.subscribe(filter, 1));
  }
};

// A will with delay 2 s (session expiry 30 s) is not published on the abnormal close but
// about 2 s later (§3.1.3.2.2).
TEST_F(V5WillTest, DelayedWillPublishedAfterDelay) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/delayed"));
  V5Client dying(port());
  ASSERT_TRUE(dying.connect(with_will("dying", "will/delayed", 2, 30)));
  auto closed_at = SteadyClock::now();
  dying.close();
  EXPECT_TRUE(watcher.expect_no_publish(milliseconds(1300)))
      << "will published before its 2 s delay";
  auto msg = watcher.recv_publish(milliseconds(3000));
  ASSERT_TRUE(msg) << "delayed will never published";
  EXPECT_EQ(msg->topic, "will/delayed");
  EXPECT_EQ(msg->payload, "will of dying");
  EXPECT_GE(since(closed_at).count(), 1800);
  EXPECT_LE(since(closed_at).count(), 3500);
}

// Without a delay the will goes out at once (control for the test above).
TEST_F(V5WillTest, UndelayedWillPublishedImmediately) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/now"));
  V5Client dying(port());
  ASSERT_TRUE(dying.connect(with_will("dying-now", "will/now", std::nullopt, 30)));
  dying.close();
  auto msg = watcher.recv_publish(milliseconds(1000));
  ASSERT_TRUE(msg) << "will without delay not published within 1 s";
  EXPECT_EQ(msg->payload, "will of dying-now");
}

// MQTT-3.1.3-9: a new connection to the session within the delay cancels the will.
TEST_F(V5WillTest, ReconnectWithinDelayCancelsWill) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/cancel"));
  V5Client dying(port());
  ASSERT_TRUE(dying.connect(with_will("phoenix", "will/cancel", 2, 30)));
  dying.close();
  std::this_thread::sleep_for(milliseconds(500));
  V5Client back(port());
  bool present = false;
  ASSERT_TRUE(back.connect("phoenix", false, 30, &present));
  EXPECT_TRUE(present);
  EXPECT_TRUE(watcher.expect_no_publish(milliseconds(2500)))
      << "will published although the client came back within the delay";
}

// The will is published when the session ends, if that is before the delay has passed
// (§3.1.3.2.2: "until the Will Delay Interval has passed or the Session ends, whichever
// happens first").
TEST_F(V5WillTest, SessionEndBeforeDelayPublishesWill) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/session-end"));
  V5Client dying(port());
  ASSERT_TRUE(dying.connect(with_will("short-session", "will/session-end", 30, 1)));
  auto closed_at = SteadyClock::now();
  dying.close();
  auto msg = watcher.recv_publish(milliseconds(3000));
  ASSERT_TRUE(msg) << "will not published when the 1 s session expired (will delay 30 s)";
  EXPECT_LE(since(closed_at).count(), 2800);
}

// §3.14.2.1 reason 0x04 "Disconnect with Will Message": the client disconnects normally but
// asks for its will to be published.
TEST_F(V5WillTest, DisconnectWithWillMessagePublishesWill) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/x04"));
  V5Client leaving(port());
  ASSERT_TRUE(leaving.connect(with_will("leaving-04", "will/x04", std::nullopt, 0)));
  ASSERT_TRUE(leaving.disconnect(m::reason::kDisconnectWithWill));
  auto msg = watcher.recv_publish(milliseconds(2000));
  ASSERT_TRUE(msg) << "DISCONNECT 0x04 did not publish the will";
  EXPECT_EQ(msg->payload, "will of leaving-04");
}

// MQTT-3.1.2-10 / MQTT-3.14.4-3: a normal DISCONNECT (0x00) deletes the will.
TEST_F(V5WillTest, NormalDisconnectDiscardsWill) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/normal"));
  V5Client leaving(port());
  ASSERT_TRUE(leaving.connect(with_will("leaving-00", "will/normal", std::nullopt, 0)));
  ASSERT_TRUE(leaving.disconnect(0));
  EXPECT_TRUE(watcher.expect_no_publish(milliseconds(1000)));
}

// Will properties (§3.1.3.2) reach the subscriber like PUBLISH properties do.
TEST_F(V5WillTest, WillPropertiesArePassedThrough) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/props"));
  m::ConnectPacket p = with_will("props-will", "will/props", std::nullopt, 0);
  p.will->properties.payload_format_indicator = 1;
  p.will->properties.content_type = "text/plain";
  p.will->properties.response_topic = "will/reply";
  p.will->properties.correlation_data = std::string("\x00\x01\x02", 3);
  p.will->properties.user_properties = {{"k", "v1"}, {"k", "v2"}};
  V5Client dying(port());
  ASSERT_TRUE(dying.connect(p));
  dying.close();
  auto msg = watcher.recv_publish(milliseconds(2000));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->props.payload_format_indicator, std::optional<uint8_t>(1));
  EXPECT_EQ(msg->props.content_type, std::optional<std::string>("text/plain"));
  EXPECT_EQ(msg->props.response_topic, std::optional<std::string>("will/reply"));
  EXPECT_EQ(msg->props.correlation_data,
            std::optional<std::string>(std::string("\x00\x01\x02", 3)));
  std::vector<std::pair<std::string, std::string>> expected = {{"k", "v1"}, {"k", "v2"}};
  EXPECT_EQ(msg->props.user_properties, expected);
  EXPECT_FALSE(msg->props.will_delay_interval.has_value());
}

// MQTT-3.1.2-8: a new Network Connection for the client id before the delay passed means no
// will; a takeover is such a connection (the old one is closed with 0x8E).
TEST_F(V5WillTest, TakeoverWithinDelayCancelsWill) {
  V5Client watcher(port());
  ASSERT_NO_FATAL_FAILURE(watch(watcher, "will/takeover"));
  V5Client old_conn(port());
  ASSERT_TRUE(old_conn.connect(with_will("taken", "will/takeover", 1, 30)));
  V5Client new_conn(port());
  bool present = false;
  ASSERT_TRUE(new_conn.connect("taken", false, 30, &present));
  EXPECT_TRUE(present);
  EXPECT_TRUE(old_conn.expect_disconnect(m::reason::kSessionTakenOver));
  EXPECT_TRUE(watcher.expect_no_publish(milliseconds(2000)))
      << "will published although the session was taken over within the delay";
}

}  // namespace
}  // namespace topicdb::itest::v5
