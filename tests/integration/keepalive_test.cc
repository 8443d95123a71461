// Keep alive (MQTT-3.1.2-24): the broker closes a connection that is silent for 1.5 x the
// keep-alive; any control packet (PINGREQ or other) resets the timer; 0 disables it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class KeepAliveTest : public BrokerTest {};

TEST_F(KeepAliveTest, SilentClientIsDisconnectedAfterOneAndAHalfKeepAlive) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "silent";
  spec.keep_alive = 1;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  auto start = Clock::now();
  EXPECT_FALSE(raw.wait_closed(milliseconds(1000))) << "closed before the keep alive elapsed";
  EXPECT_TRUE(raw.wait_closed(milliseconds(2500))) << "not closed within 3.5 s (limit 1.5 s)";
  auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  RecordProperty("close_after_ms", static_cast<int>(elapsed.count()));
}

TEST_F(KeepAliveTest, PingreqKeepsConnectionAlive) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "pinger";
  spec.keep_alive = 1;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  auto end = Clock::now() + milliseconds(3500);
  int pings = 0;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(500));
    ASSERT_TRUE(raw.mqtt_ping()) << "after " << pings << " pings";
    ++pings;
  }
  EXPECT_FALSE(raw.peer_closed());
}

// Any control packet counts as activity, not only PINGREQ.
TEST_F(KeepAliveTest, PublishesAlsoKeepConnectionAlive) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "publisher";
  spec.keep_alive = 1;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  auto end = Clock::now() + milliseconds(3000);
  while (Clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(500));
    ASSERT_TRUE(raw.send(publish_packet("ka/activity", "x", 0)));
  }
  EXPECT_TRUE(raw.mqtt_ping());
}

TEST_F(KeepAliveTest, ZeroKeepAliveDisablesTimeout) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "no-keepalive";
  spec.keep_alive = 0;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  EXPECT_FALSE(raw.wait_closed(milliseconds(3500))) << "keep alive 0 must never time out";
  EXPECT_TRUE(raw.mqtt_ping());
}

// Paho sends its own PINGREQs: an idle client with keep alive 1 s stays connected.
TEST_F(KeepAliveTest, IdlePahoClientStaysConnected) {
  PahoClient client(port(), "idle-paho");
  PahoConnectOptions options;
  options.keep_alive_seconds = 1;
  ASSERT_TRUE(client.connect(options));
  std::this_thread::sleep_for(milliseconds(3500));
  ASSERT_TRUE(client.is_connected());
  ASSERT_TRUE(client.subscribe("ka/echo", 1));
  ASSERT_TRUE(client.publish("ka/echo", "alive", 1));
  auto msg = client.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "alive");
}

// A persistent session whose connection timed out keeps its subscriptions and queues
// messages until the client comes back.
TEST_F(KeepAliveTest, ExpiredPersistentSessionKeepsQueuing) {
  ConnectSpec spec;
  spec.client_id = "sleepy";
  spec.clean_session = false;
  spec.keep_alive = 1;
  {
    RawClient raw;
    ASSERT_TRUE(raw.mqtt_connect(port(), spec));
    ASSERT_TRUE(raw.mqtt_subscribe(1, {{"ka/queue", 1}}, {1}));
    ASSERT_TRUE(raw.wait_closed(milliseconds(3500))) << "keep-alive did not expire";
  }
  MosqClient pub(port(), "publisher");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("ka/queue", "while away", 1));
  RawClient raw;
  spec.keep_alive = 60;
  bool session_present = false;
  ASSERT_TRUE(raw.mqtt_connect(port(), spec, &session_present));
  EXPECT_TRUE(session_present);
  auto packet = raw.recv_packet_of_type(kPublish);
  ASSERT_TRUE(packet) << "message queued after the keep-alive expiry was lost";
  EXPECT_EQ(parse_publish(*packet)->payload, "while away");
}

}  // namespace
}  // namespace topicdb::itest
