// Retained messages (MQTT 3.1.1 §3.3.1.3): set, replace, clear, delivered on subscribe.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class RetainedTest : public BrokerTest {};

// MQTT-3.3.1-6: a new subscription receives the retained message, with RETAIN=1.
TEST_F(RetainedTest, DeliveredOnSubscribeWithRetainFlag) {
  MosqClient pub(port(), "ret-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("ret/a", "hello", 1, /*retain=*/true));

  PahoClient sub(port(), "ret-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("ret/a", 1));
  auto msg = sub.receive();
  ASSERT_TRUE(msg) << "retained message not delivered on subscribe";
  EXPECT_EQ(msg->get_topic(), "ret/a");
  EXPECT_EQ(msg->get_payload_str(), "hello");
  EXPECT_TRUE(msg->is_retained());
  EXPECT_EQ(msg->get_qos(), 1);
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300)));
}

// MQTT-3.3.1-9: a retained publish forwarded to an existing subscription has RETAIN=0.
TEST_F(RetainedTest, ExistingSubscriberGetsRetainFlagCleared) {
  PahoClient sub(port(), "ret-live-sub");
  MosqClient pub(port(), "ret-live-pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("ret/live", 1));
  ASSERT_TRUE(pub.publish("ret/live", "now", 1, /*retain=*/true));
  auto msg = sub.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "now");
  EXPECT_FALSE(msg->is_retained());
}

// MQTT-3.3.1-5: a new retained message replaces the previous one.
TEST_F(RetainedTest, ReplacedByNewerRetainedMessage) {
  MosqClient pub(port(), "ret-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("ret/r", "first", 1, true));
  ASSERT_TRUE(pub.publish("ret/r", "second", 0, true));
  ASSERT_TRUE(pub.publish("ret/r", "third", 2, true));

  PahoClient sub(port(), "ret-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("ret/r", 2));
  auto msg = sub.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "third");
  EXPECT_EQ(msg->get_qos(), 2);
  EXPECT_TRUE(msg->is_retained());
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300))) << "more than one retained message";
}

// MQTT-3.3.1-12: a non-retained publish neither stores nor replaces the retained message.
TEST_F(RetainedTest, NonRetainedPublishKeepsRetainedMessage) {
  MosqClient pub(port(), "ret-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("ret/k", "kept", 1, true));
  ASSERT_TRUE(pub.publish("ret/k", "transient", 1, false));
  ASSERT_TRUE(pub.publish("ret/never", "not retained", 1, false));

  PahoClient sub(port(), "ret-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("ret/#", 1));
  auto msg = sub.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_topic(), "ret/k");
  EXPECT_EQ(msg->get_payload_str(), "kept");
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300)));
}

// MQTT-3.3.1-10/11: a retained zero-byte payload clears the retained message; it is still
// forwarded to current subscribers as a normal message.
TEST_F(RetainedTest, ClearedByEmptyRetainedPayload) {
  MosqClient live(port(), "ret-live");
  ASSERT_TRUE(live.connect());
  ASSERT_TRUE(live.subscribe("ret/c", 1));

  MosqClient pub(port(), "ret-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("ret/c", "to be cleared", 1, true));
  ASSERT_TRUE(pub.publish("ret/c", "", 1, true));

  std::vector<MosqMessage> got;
  ASSERT_TRUE(live.receive_n(2, &got));
  EXPECT_EQ(got[0].payload, "to be cleared");
  EXPECT_EQ(got[1].payload, "") << "MQTT-3.3.1-10: the clearing message is forwarded as normal";
  EXPECT_FALSE(got[1].retain);

  PahoClient sub(port(), "ret-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("ret/c", 1));
  EXPECT_TRUE(sub.expect_no_message(milliseconds(500))) << "retained message was not cleared";
}

// Wildcard subscriptions receive every matching retained message, at min(QoS).
TEST_F(RetainedTest, WildcardSubscribeGetsAllMatchingRetained) {
  MosqClient pub(port(), "ret-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("house/kitchen/temp", "21", 2, true));
  ASSERT_TRUE(pub.publish("house/hall/temp", "19", 1, true));
  ASSERT_TRUE(pub.publish("house/hall/light", "on", 1, true));
  ASSERT_TRUE(pub.publish("garden/temp", "12", 1, true));

  PahoClient sub(port(), "ret-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("house/+/temp", 1));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(2, &got));
  std::vector<std::string> topics;
  for (const auto& m : got) {
    topics.push_back(m->get_topic() + "=" + m->get_payload_str());
    EXPECT_TRUE(m->is_retained());
    EXPECT_EQ(m->get_qos(), 1) << "retained QoS 2 message must be downgraded to granted QoS 1";
  }
  std::sort(topics.begin(), topics.end());
  EXPECT_EQ(topics, (std::vector<std::string>{"house/hall/temp=19", "house/kitchen/temp=21"}));
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300)));
}

// The retained message is sent again on every new subscription (also re-subscribing).
TEST_F(RetainedTest, ResentOnResubscribe) {
  MosqClient pub(port(), "ret-pub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("ret/again", "v", 0, true));
  PahoClient sub(port(), "ret-sub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("ret/again", 0));
  ASSERT_TRUE(sub.receive());
  ASSERT_TRUE(sub.unsubscribe("ret/again"));
  ASSERT_TRUE(sub.subscribe("ret/again", 0));
  auto msg = sub.receive();
  ASSERT_TRUE(msg) << "retained message not sent on the second subscription";
  EXPECT_TRUE(msg->is_retained());
}

// Same behaviour through the command-line tools.
TEST_F(RetainedTest, MosquittoToolsRetained) {
  ASSERT_TRUE(mosquitto_pub(port(), {"-t", "cli/ret", "-m", "v1", "-r", "-q", "1"}));
  ASSERT_TRUE(mosquitto_pub(port(), {"-t", "cli/ret", "-m", "v2", "-r", "-q", "1"}));
  MosquittoSub sub;
  ASSERT_TRUE(sub.start(port(), {"-q", "1", "-C", "1", "-W", "10", "-t", "cli/ret"}));
  auto lines = sub.collect(1, milliseconds(3000));
  ASSERT_EQ(lines.size(), 1u) << sub.log();
  EXPECT_EQ(lines[0].payload, "v2");
  EXPECT_TRUE(lines[0].retained);
  EXPECT_EQ(sub.wait_exit(milliseconds(3000)), 0);

  // Clear with an empty retained payload (-n sends a null message).
  ASSERT_TRUE(mosquitto_pub(port(), {"-t", "cli/ret", "-n", "-r", "-q", "1"}));
  ProcessResult r = run_process({MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", std::to_string(port()),
                                 "-V", "mqttv311", "-t", "cli/ret", "-C", "1", "-W", "1"},
                                milliseconds(5000), /*merge_stderr=*/false);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "") << "retained message still delivered after clearing";
}

}  // namespace
}  // namespace topicdb::itest
