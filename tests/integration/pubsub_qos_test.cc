// QoS 0/1/2 publish/subscribe through the real broker with Paho C++, libmosquitto and the
// mosquitto_pub / mosquitto_sub tools (MQTT 3.1.1).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"

namespace topicdb::itest {
namespace {

class PubSubQosTest : public BrokerTest {};

class PahoQosTest : public BrokerTest, public ::testing::WithParamInterface<int> {};

// Paho subscriber (QoS 2 subscription) receives messages at the publisher's QoS, in publish
// order (MQTT-3.3.5-1, §4.6 ordering).
TEST_P(PahoQosTest, PahoSubscriberReceivesInOrderAtPublishedQos) {
  const int qos = GetParam();
  PahoClient sub(port(), "paho-sub");
  MosqClient pub(port(), "mosq-pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("qos/test", 2));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pub.publish("qos/test", "m" + std::to_string(i), qos));
  }
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(5, &got));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i]->get_topic(), "qos/test");
    EXPECT_EQ(got[i]->get_payload_str(), "m" + std::to_string(i)) << "out of order at " << i;
    EXPECT_EQ(got[i]->get_qos(), qos);
    EXPECT_FALSE(got[i]->is_retained());
    EXPECT_FALSE(got[i]->is_duplicate());
  }
  EXPECT_TRUE(sub.expect_no_message(std::chrono::milliseconds(300)));
}

// Paho publisher at each QoS (publish() waits for PUBACK / PUBCOMP from the broker).
TEST_P(PahoQosTest, PahoPublisherDeliversInOrderAtPublishedQos) {
  const int qos = GetParam();
  MosqClient pub(port(), "paho-pub");
  MosqClient sub(port(), "mosq-sub");
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("qos/test", 2));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pub.publish("qos/test", "m" + std::to_string(i), qos));
  }
  std::vector<MosqMessage> got;
  ASSERT_TRUE(sub.receive_n(5, &got));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].payload, "m" + std::to_string(i)) << "out of order at " << i;
    EXPECT_EQ(got[i].qos, qos);
    EXPECT_FALSE(got[i].retain);
  }
  EXPECT_TRUE(sub.expect_no_message(std::chrono::milliseconds(300)));
}

INSTANTIATE_TEST_SUITE_P(Qos, PahoQosTest, ::testing::Values(0, 1, 2));

// Delivered QoS = min(published QoS, granted QoS).
TEST_F(PubSubQosTest, DowngradesToSubscriptionQos) {
  MosqClient sub0(port(), "sub0");
  MosqClient sub1(port(), "sub1");
  MosqClient pub(port(), "pub");
  ASSERT_TRUE(sub0.connect());
  ASSERT_TRUE(sub1.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub0.subscribe("down/#", 0));
  ASSERT_TRUE(sub1.subscribe("down/#", 1));
  ASSERT_TRUE(pub.publish("down/x", "hello", 2));
  auto m0 = sub0.receive();
  auto m1 = sub1.receive();
  ASSERT_TRUE(m0);
  ASSERT_TRUE(m1);
  EXPECT_EQ(m0->qos, 0);
  EXPECT_EQ(m1->qos, 1);
  EXPECT_EQ(m0->payload, "hello");
  EXPECT_EQ(m1->payload, "hello");
}

// Every matching subscriber gets its own copy; a client receives its own publications
// (MQTT 3.1.1 has no "no local").
TEST_F(PubSubQosTest, FansOutToAllSubscribersIncludingPublisher) {
  PahoClient a(port(), "fan-a");
  MosqClient b(port(), "fan-b");
  MosqClient c(port(), "fan-c");
  ASSERT_TRUE(a.connect());
  ASSERT_TRUE(b.connect());
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(a.subscribe("fan/out", 1));
  ASSERT_TRUE(b.subscribe("fan/out", 1));
  ASSERT_TRUE(c.subscribe("fan/out", 1));
  ASSERT_TRUE(a.publish("fan/out", "x", 1));
  auto own = a.receive();
  ASSERT_TRUE(own) << "publisher did not receive its own message";
  EXPECT_EQ(own->get_payload_str(), "x");
  for (MosqClient* client : {&b, &c}) {
    auto msg = client->receive();
    ASSERT_TRUE(msg) << client->client_id() << " got nothing";
    EXPECT_EQ(msg->payload, "x");
  }
  EXPECT_TRUE(a.expect_no_message(std::chrono::milliseconds(200)));
  EXPECT_TRUE(b.expect_no_message(std::chrono::milliseconds(1)));
  EXPECT_TRUE(c.expect_no_message(std::chrono::milliseconds(1)));
}

TEST_F(PubSubQosTest, ManyQos1MessagesArriveInOrder) {
  PahoClient sub(port(), "order-sub");
  MosqClient pub(port(), "order-pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("order/q1", 1));
  constexpr int kCount = 50;
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pub.publish("order/q1", std::to_string(i), 1));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(kCount, &got));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(got[i]->get_payload_str(), std::to_string(i));
}

TEST_F(PubSubQosTest, PayloadsAreBinarySafe) {
  PahoClient sub(port(), "bin-sub");
  MosqClient pub(port(), "bin-pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("bin/#", 1));
  std::string with_zeros("a\0b\0\xff\x80", 6);
  std::string large(200 * 1024, 'z');
  for (size_t i = 0; i < large.size(); i += 997) large[i] = static_cast<char>(i & 0xFF);
  ASSERT_TRUE(pub.publish("bin/zeros", with_zeros, 1));
  ASSERT_TRUE(pub.publish("bin/empty", "", 1));
  ASSERT_TRUE(pub.publish("bin/large", large, 1));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(3, &got));
  EXPECT_EQ(got[0]->get_payload_str(), with_zeros);
  EXPECT_EQ(got[1]->get_topic(), "bin/empty");
  EXPECT_EQ(got[1]->get_payload_str(), "");
  EXPECT_EQ(got[2]->get_payload_str().size(), large.size());
  EXPECT_TRUE(got[2]->get_payload_str() == large) << "large payload corrupted";
}

TEST_F(PubSubQosTest, UnsubscribeStopsDelivery) {
  PahoClient sub(port(), "unsub-sub");
  MosqClient pub(port(), "unsub-pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("unsub/t", 1));
  ASSERT_TRUE(pub.publish("unsub/t", "before", 1));
  auto msg = sub.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "before");
  ASSERT_TRUE(sub.unsubscribe("unsub/t"));
  ASSERT_TRUE(pub.publish("unsub/t", "after", 1));
  EXPECT_TRUE(sub.expect_no_message(std::chrono::milliseconds(500)));
}

// The command-line tools at every QoS.
TEST_F(PubSubQosTest, MosquittoToolsAllQos) {
  MosquittoSub sub;
  ASSERT_TRUE(sub.start(port(), {"-q", "2", "-C", "3", "-W", "10", "-t", "cli/#"}));
  ASSERT_TRUE(mosquitto_pub(port(), {"-t", "cli/q0", "-m", "zero", "-q", "0"}));
  ASSERT_TRUE(mosquitto_pub(port(), {"-t", "cli/q1", "-m", "one", "-q", "1"}));
  ASSERT_TRUE(mosquitto_pub(port(), {"-t", "cli/q2", "-m", "two", "-q", "2"}));
  auto lines = sub.collect(3, std::chrono::milliseconds(5000));
  ASSERT_EQ(lines.size(), 3u) << "mosquitto_sub output:\n" << sub.log();
  std::sort(lines.begin(), lines.end(),
            [](const SubLine& x, const SubLine& y) { return x.topic < y.topic; });
  EXPECT_EQ(lines[0].topic, "cli/q0");
  EXPECT_EQ(lines[0].payload, "zero");
  EXPECT_EQ(lines[0].qos, 0);
  EXPECT_EQ(lines[1].topic, "cli/q1");
  EXPECT_EQ(lines[1].payload, "one");
  EXPECT_EQ(lines[1].qos, 1);
  EXPECT_EQ(lines[2].topic, "cli/q2");
  EXPECT_EQ(lines[2].payload, "two");
  EXPECT_EQ(lines[2].qos, 2);
  EXPECT_EQ(sub.wait_exit(std::chrono::milliseconds(3000)), 0) << sub.log();
}

// libmosquitto <-> Paho interoperability through the broker.
TEST_F(PubSubQosTest, LibmosquittoAndPahoInterop) {
  MosqClient mosq(port(), "libmosq");
  PahoClient paho(port(), "paho");
  ASSERT_TRUE(mosq.connect());
  ASSERT_TRUE(paho.connect());
  ASSERT_TRUE(mosq.subscribe("interop/to-mosq", 1));
  ASSERT_TRUE(paho.subscribe("interop/to-paho", 2));

  ASSERT_TRUE(paho.publish("interop/to-mosq", "from paho", 1));
  auto m = mosq.receive(std::chrono::milliseconds(3000));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->topic, "interop/to-mosq");
  EXPECT_EQ(m->payload, "from paho");
  EXPECT_EQ(m->qos, 1);

  ASSERT_TRUE(mosq.publish("interop/to-paho", "from mosquitto", 2));
  auto p = paho.receive();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->get_payload_str(), "from mosquitto");
  EXPECT_EQ(p->get_qos(), 2);
  ASSERT_TRUE(mosq.disconnect());
}

}  // namespace
}  // namespace topicdb::itest
