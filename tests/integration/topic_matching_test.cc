// Topic matching (MQTT 3.1.1 §4.7): '+' and '#' semantics, $-topics, overlapping
// subscriptions (one copy at the highest QoS, MQTT-3.3.5-1).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/paho_client.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest {
namespace {

using std::chrono::milliseconds;

class TopicMatchingTest : public BrokerTest {
 protected:
  // Subscribes `filter` on a fresh client, publishes every topic in `topics` (QoS 1) from
  // another client and returns the topics the subscriber received (sorted).
  std::vector<std::string> matched(const std::string& filter,
                                   const std::vector<std::string>& topics) {
    PahoClient sub(port(), "match-sub");
    MosqClient pub(port(), "match-pub");
    EXPECT_TRUE(sub.connect());
    EXPECT_TRUE(pub.connect());
    EXPECT_TRUE(sub.subscribe(filter, 1));
    for (const auto& t : topics) EXPECT_TRUE(pub.publish(t, "payload:" + t, 1));
    // Marker on a topic every test filter below can be told apart from.
    EXPECT_TRUE(sub.subscribe("zz-marker", 1));
    EXPECT_TRUE(pub.publish("zz-marker", "end", 1));
    std::vector<std::string> got;
    for (int i = 0; i < 100; ++i) {
      auto msg = sub.receive(milliseconds(3000));
      if (!msg) {
        ADD_FAILURE() << "marker message never arrived for filter '" << filter << "'";
        break;
      }
      if (msg->get_topic() == "zz-marker" && msg->get_payload_str() == "end") break;
      EXPECT_EQ(msg->get_payload_str(), "payload:" + msg->get_topic());
      got.push_back(msg->get_topic());
    }
    std::sort(got.begin(), got.end());
    return got;
  }
};

using Topics = std::vector<std::string>;

// §4.7.1.2: '#' matches the parent level and any number of child levels.
TEST_F(TopicMatchingTest, HashMatchesParentAndAllChildren) {
  EXPECT_EQ(matched("sport/tennis/#",
                    {"sport/tennis", "sport/tennis/player1", "sport/tennis/player1/score",
                     "sport/tennisplayer", "sport", "sport/golf/tennis"}),
            (Topics{"sport/tennis", "sport/tennis/player1", "sport/tennis/player1/score"}));
}

// §4.7.1.3: '+' matches exactly one level, including an empty one.
TEST_F(TopicMatchingTest, PlusMatchesExactlyOneLevel) {
  EXPECT_EQ(matched("sport/+", {"sport", "sport/", "sport/tennis", "sport/tennis/player1"}),
            (Topics{"sport/", "sport/tennis"}));
}

TEST_F(TopicMatchingTest, PlusAndEmptyLevels) {
  EXPECT_EQ(matched("+/+", {"/finance", "a/b", "a", "a/b/c"}), (Topics{"/finance", "a/b"}));
  EXPECT_EQ(matched("/+", {"/finance", "finance", "/a/b"}), (Topics{"/finance"}));
  EXPECT_EQ(matched("+", {"/finance", "finance", "a/b"}), (Topics{"finance"}));
}

TEST_F(TopicMatchingTest, PlusInTheMiddleAndCombinedWithHash) {
  EXPECT_EQ(matched("a/+/c/#", {"a/b/c", "a/b/c/d/e", "a/x/c", "a/b/d", "a/c", "b/b/c"}),
            (Topics{"a/b/c", "a/b/c/d/e", "a/x/c"}));
}

// §4.7.3: topics are case sensitive, may contain spaces; a leading '/' is a distinct level.
TEST_F(TopicMatchingTest, CaseSensitiveSpacesAndLeadingSlash) {
  EXPECT_EQ(matched("Accounts payable/#",
                    {"Accounts payable/x", "accounts payable/x", "ACCOUNTS PAYABLE/x"}),
            (Topics{"Accounts payable/x"}));
  EXPECT_EQ(matched("a/b", {"a/b", "/a/b", "a/b/", "A/b"}), (Topics{"a/b"}));
}

// MQTT-4.7.2-1: topics starting with '$' are not matched by filters starting with a wildcard,
// but an explicit "$test/#" filter matches them.
TEST_F(TopicMatchingTest, DollarTopicsNotMatchedByLeadingWildcards) {
  PahoClient wild(port(), "wild");
  MosqClient dollar(port(), "dollar");
  MosqClient pub(port(), "pub");
  ASSERT_TRUE(wild.connect());
  ASSERT_TRUE(dollar.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(wild.subscribe("#", 1));
  ASSERT_TRUE(wild.subscribe("+/info", 1));
  ASSERT_TRUE(wild.subscribe("+/#", 1));
  ASSERT_TRUE(dollar.subscribe("$test/#", 1));

  ASSERT_TRUE(pub.publish("$test/info", "dollar", 1));
  ASSERT_TRUE(pub.publish("normal/info", "plain", 1));

  auto d = dollar.receive();
  ASSERT_TRUE(d) << "explicit '$test/#' subscription did not receive '$test/info'";
  EXPECT_EQ(d->topic, "$test/info");

  auto w = wild.receive();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->get_topic(), "normal/info") << "'$test/info' matched a leading wildcard";
  EXPECT_TRUE(wild.expect_no_message(milliseconds(500)))
      << "either a $-topic leaked or overlapping subscriptions delivered twice";
}

// MQTT-3.3.5-1: overlapping subscriptions deliver a single copy at the maximum QoS.
TEST_F(TopicMatchingTest, OverlappingSubscriptionsDeliverOneCopyAtMaxQos) {
  PahoClient sub(port(), "overlap");
  MosqClient pub(port(), "pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("ov/#", 0));
  ASSERT_TRUE(sub.subscribe("ov/+", 1));
  ASSERT_TRUE(sub.subscribe("ov/a", 2));

  struct Case {
    std::string topic;
    int pub_qos;
    int expected_qos;
  };
  for (const Case& c :
       {Case{"ov/a", 2, 2}, Case{"ov/b", 2, 1}, Case{"ov/c/d", 2, 0}, Case{"ov/a", 1, 1}}) {
    ASSERT_TRUE(pub.publish(c.topic, "x", c.pub_qos));
    auto msg = sub.receive();
    ASSERT_TRUE(msg) << c.topic;
    EXPECT_EQ(msg->get_topic(), c.topic);
    EXPECT_EQ(msg->get_qos(), c.expected_qos)
        << "topic " << c.topic << " published at QoS " << c.pub_qos;
    EXPECT_TRUE(sub.expect_no_message(milliseconds(300))) << "more than one copy for " << c.topic;
  }
}

// MQTT-3.8.4-3: subscribing to the same filter again replaces the subscription (new QoS).
TEST_F(TopicMatchingTest, ResubscribeReplacesQos) {
  PahoClient sub(port(), "resub");
  MosqClient pub(port(), "pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("re/t", 2));
  ASSERT_TRUE(sub.subscribe("re/t", 0));
  ASSERT_TRUE(pub.publish("re/t", "x", 2));
  auto msg = sub.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_qos(), 0);
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300))) << "duplicate subscription kept";
}

// Unsubscribing one of two overlapping filters keeps the other one working.
TEST_F(TopicMatchingTest, UnsubscribeOneOfOverlappingFilters) {
  PahoClient sub(port(), "unsub");
  MosqClient pub(port(), "pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(sub.subscribe("un/#", 1));
  ASSERT_TRUE(sub.subscribe("un/a", 2));
  ASSERT_TRUE(sub.unsubscribe("un/a"));
  ASSERT_TRUE(pub.publish("un/a", "x", 2));
  auto msg = sub.receive();
  ASSERT_TRUE(msg) << "the remaining 'un/#' subscription stopped matching";
  EXPECT_EQ(msg->get_qos(), 1);
  EXPECT_TRUE(sub.expect_no_message(milliseconds(300)));
}

// A lone '#' matches every non-$ topic, including ones starting with '/'.
TEST_F(TopicMatchingTest, LoneHashMatchesEverything) {
  EXPECT_EQ(matched("#", {"a", "/a", "a/b/c", "a/"}), (Topics{"/a", "a", "a/", "a/b/c"}));
}

// MQTT-3.8.4-5: one SUBACK return code per filter, in order; MQTT-3.10.4-5: UNSUBACK is sent
// even when nothing was subscribed.
TEST_F(TopicMatchingTest, SubackPerFilterAndUnsubackForUnknownFilter) {
  RawClient raw;
  ConnectSpec spec;
  spec.client_id = "multi";
  ASSERT_TRUE(raw.mqtt_connect(port(), spec));
  ASSERT_TRUE(raw.mqtt_subscribe(11, {{"m/a", 2}, {"m/b", 0}, {"m/+", 1}}, {2, 0, 1}));
  ASSERT_TRUE(raw.send(unsubscribe_packet(12, {"never/subscribed"})));
  auto unsuback = raw.recv_packet(milliseconds(3000));
  ASSERT_TRUE(unsuback) << "no UNSUBACK";
  EXPECT_EQ(unsuback->header, 0xB0) << describe(*unsuback);
  EXPECT_EQ(unsuback->packet_id(), 12);
}

}  // namespace
}  // namespace topicdb::itest
