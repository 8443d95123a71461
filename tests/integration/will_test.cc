// Will messages (MQTT 3.1.1 §3.1.2.5): published on abnormal disconnect (socket closed
// without DISCONNECT, client process killed, keep-alive expiry, protocol error, takeover),
// never after a DISCONNECT.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class WillTest : public BrokerTest {
 protected:
  void SetUp() override {
    BrokerTest::SetUp();
    if (HasFatalFailure()) return;
    watcher_ = std::make_unique<MosqClient>(port(), "will-watcher");
    ASSERT_TRUE(watcher_->connect());
    ASSERT_TRUE(watcher_->subscribe("will/#", 2));
  }

  ConnectSpec with_will(const std::string& client_id, const std::string& topic, uint8_t qos = 1,
                        bool retain = false) {
    ConnectSpec spec;
    spec.client_id = client_id;
    spec.will = Will{topic, "died:" + client_id, qos, retain};
    return spec;
  }

  std::unique_ptr<MosqClient> watcher_;
};

// MQTT-3.1.2-8: socket closed without DISCONNECT => will published.
TEST_F(WillTest, PublishedWhenSocketClosedWithoutDisconnect) {
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), with_will("w-raw", "will/raw", 1)));
  raw.close();
  auto msg = watcher_->receive(milliseconds(3000));
  ASSERT_TRUE(msg) << "will not published after the socket was closed";
  EXPECT_EQ(msg->topic, "will/raw");
  EXPECT_EQ(msg->payload, "died:w-raw");
  EXPECT_EQ(msg->qos, 1);
  EXPECT_FALSE(msg->retain);
  EXPECT_TRUE(watcher_->expect_no_message(milliseconds(300))) << "will published twice";
}

// MQTT-3.1.2-10 / MQTT-3.14.4-3: DISCONNECT discards the will.
TEST_F(WillTest, NotPublishedAfterDisconnect) {
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), with_will("w-clean", "will/clean", 1)));
  ASSERT_TRUE(raw.send(disconnect_packet()));
  // MQTT-3.14.4-1: the server closes the connection after DISCONNECT.
  EXPECT_TRUE(raw.wait_closed(milliseconds(3000)));
  raw.close();
  EXPECT_TRUE(watcher_->expect_no_message(milliseconds(1000)));
}

// Paho client with a will that disconnects normally: no will.
TEST_F(WillTest, NotPublishedAfterPahoDisconnect) {
  PahoClient client(port(), "w-paho");
  PahoConnectOptions options;
  options.will = ::mqtt::message("will/paho", "paho died", 1, false);
  ASSERT_TRUE(client.connect(options));
  ASSERT_TRUE(client.disconnect());
  EXPECT_TRUE(watcher_->expect_no_message(milliseconds(1000)));
}

// A client process killed with SIGKILL: the kernel closes the socket, will published.
TEST_F(WillTest, PublishedWhenClientProcessIsKilled) {
  MosquittoSub victim;
  ASSERT_TRUE(victim.start(port(), {"-i", "w-proc", "-t", "some/topic", "--will-topic", "will/proc",
                                    "--will-payload", "process died", "--will-qos", "1"}));
  EXPECT_TRUE(watcher_->expect_no_message(milliseconds(200)));
  victim.process().kill_and_reap();
  auto msg = watcher_->receive(milliseconds(3000));
  ASSERT_TRUE(msg) << "will not published after SIGKILL of the client process";
  EXPECT_EQ(msg->topic, "will/proc");
  EXPECT_EQ(msg->payload, "process died");
  EXPECT_EQ(msg->qos, 1);
}

// MQTT-3.1.2-24 + §3.1.2.5: keep-alive expiry (1.5 x 1 s) => connection closed, will sent.
TEST_F(WillTest, PublishedOnKeepAliveExpiry) {
  RawClient raw;
  ConnectSpec spec = with_will("w-ka", "will/keepalive", 0);
  spec.keep_alive = 1;
  auto start = Clock::now();
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  auto msg = watcher_->receive(milliseconds(4000));
  auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  ASSERT_TRUE(msg) << "will not published after keep-alive expiry";
  EXPECT_EQ(msg->topic, "will/keepalive");
  EXPECT_GE(elapsed.count(), 1000) << "will published before the keep-alive could expire";
  EXPECT_TRUE(raw.wait_closed(milliseconds(1000))) << "connection not closed by the broker";
}

// §3.1.2.5: the server closing the connection because of a protocol error publishes the will.
TEST_F(WillTest, PublishedOnProtocolError) {
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), with_will("w-err", "will/error", 1)));
  // PUBLISH with both QoS bits set (MQTT-3.3.1-4).
  ASSERT_TRUE(raw.send(Bytes{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}));
  EXPECT_TRUE(raw.wait_closed(milliseconds(3000))) << "QoS 3 PUBLISH did not close the connection";
  auto msg = watcher_->receive(milliseconds(3000));
  ASSERT_TRUE(msg) << "will not published after a protocol error";
  EXPECT_EQ(msg->topic, "will/error");
}

// Contract: a takeover of the client id publishes the old connection's will.
TEST_F(WillTest, PublishedWhenTakenOver) {
  RawClient first;
  ASSERT_TRUE(first.mqtt_connect(port(), with_will("w-take", "will/takeover", 1)));
  RawClient second;
  ConnectSpec spec;
  spec.client_id = "w-take";
  ASSERT_TRUE(second.mqtt_connect(port(), spec));
  EXPECT_TRUE(first.wait_closed(milliseconds(3000)));
  auto msg = watcher_->receive(milliseconds(3000));
  ASSERT_TRUE(msg) << "will of the taken-over connection not published";
  EXPECT_EQ(msg->topic, "will/takeover");
  EXPECT_EQ(msg->payload, "died:w-take");
  // The new connection has no will: closing it cleanly publishes nothing more.
  ASSERT_TRUE(second.send(disconnect_packet()));
  EXPECT_TRUE(watcher_->expect_no_message(milliseconds(500)));
}

// A Paho client's will (set through connect options) is published when its connection is
// taken over by another client with the same id.
TEST_F(WillTest, PahoWillPublishedWhenTakenOver) {
  PahoClient client(port(), "w-paho-take");
  PahoConnectOptions options;
  options.will = ::mqtt::message("will/paho", "paho taken over", 1, false);
  ASSERT_TRUE(client.connect(options));
  RawClient thief;
  ConnectSpec spec;
  spec.client_id = "w-paho-take";
  ASSERT_TRUE(thief.mqtt_connect(port(), spec));
  EXPECT_TRUE(client.wait_disconnected(milliseconds(3000)));
  auto msg = watcher_->receive(milliseconds(3000));
  ASSERT_TRUE(msg) << "Paho client's will not published on takeover";
  EXPECT_EQ(msg->topic, "will/paho");
  EXPECT_EQ(msg->payload, "paho taken over");
  EXPECT_EQ(msg->qos, 1);
}

// Will retain flag (MQTT-3.1.2-17): the will becomes the retained message.
TEST_F(WillTest, RetainedWillIsStored) {
  RawClient raw;
  ASSERT_TRUE(raw.mqtt_connect(port(), with_will("w-ret", "will/retained", 1, true)));
  raw.close();
  auto live = watcher_->receive(milliseconds(3000));
  ASSERT_TRUE(live) << "will not published";

  PahoClient late(port(), "late-sub");
  ASSERT_TRUE(late.connect());
  ASSERT_TRUE(late.subscribe("will/retained", 1));
  auto msg = late.receive(milliseconds(3000));
  ASSERT_TRUE(msg) << "retained will not delivered to a later subscriber";
  EXPECT_EQ(msg->get_payload_str(), "died:w-ret");
  EXPECT_TRUE(msg->is_retained());
}

}  // namespace
}  // namespace topicdb::itest
