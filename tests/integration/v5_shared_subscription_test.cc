// MQTT 5 shared subscriptions (§4.8.2): $share/{group}/{filter}.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/mosquitto_clients.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest::v5 {
namespace {

class V5SharedSubscriptionTest : public V5Test {};

// Three members (two MQTT 5, one MQTT 3.1.1) of $share/g/t: 30 QoS 1 messages are each
// delivered to exactly one member, round-robin, 10 each.
TEST_F(V5SharedSubscriptionTest, MessagesSplitAcrossMembers) {
  V5Client a(port());
  ASSERT_TRUE(a.connect("share-a"));
  ASSERT_TRUE(a.subscribe("$share/g/share/t", 1));
  V5Client b(port());
  ASSERT_TRUE(b.connect("share-b"));
  ASSERT_TRUE(b.subscribe("$share/g/share/t", 1));
  MosqClient c(port(), "share-c-v311");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(c.subscribe("$share/g/share/t", 1));

  V5Client pub(port());
  ASSERT_TRUE(pub.connect("share-pub"));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(pub.publish("share/t", std::to_string(i), 1));

  std::vector<std::string> all;
  std::map<std::string, int> per_member;
  auto drain_v5 = [&](V5Client& client, const std::string& name) {
    while (auto msg = client.recv_publish(milliseconds(700))) {
      EXPECT_EQ(msg->topic, "share/t");
      all.push_back(msg->payload);
      ++per_member[name];
    }
  };
  drain_v5(a, "a");
  drain_v5(b, "b");
  while (auto msg = c.receive(milliseconds(700))) {
    EXPECT_EQ(msg->topic, "share/t");
    all.push_back(msg->payload);
    ++per_member["c"];
  }
  EXPECT_EQ(all.size(), 30u) << "messages lost or duplicated";
  std::set<std::string> distinct(all.begin(), all.end());
  EXPECT_EQ(distinct.size(), 30u) << "a message went to more than one member";
  EXPECT_EQ(per_member["a"], 10);
  EXPECT_EQ(per_member["b"], 10);
  EXPECT_EQ(per_member["c"], 10) << "the MQTT 3.1.1 member did not get its share";
}

// Two groups on the same filter each get every message once; a plain subscriber too.
TEST_F(V5SharedSubscriptionTest, EachGroupGetsEveryMessage) {
  V5Client g1(port());
  ASSERT_TRUE(g1.connect("grp1"));
  ASSERT_TRUE(g1.subscribe("$share/one/grp/t", 1));
  V5Client g2(port());
  ASSERT_TRUE(g2.connect("grp2"));
  ASSERT_TRUE(g2.subscribe("$share/two/grp/t", 1));
  V5Client plain(port());
  ASSERT_TRUE(plain.connect("grp-plain"));
  ASSERT_TRUE(plain.subscribe("grp/t", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("grp-pub"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(pub.publish("grp/t", std::to_string(i), 1));
  std::vector<Message> got;
  EXPECT_TRUE(g1.recv_publishes(4, &got));
  EXPECT_TRUE(g2.recv_publishes(4, &got));
  EXPECT_TRUE(plain.recv_publishes(4, &got));
}

// §4.8.2: if a member's connection closes with unacknowledged QoS 1 messages (and its
// session ends), those messages go to another member. Nothing is lost.
TEST_F(V5SharedSubscriptionTest, UnackedMessagesOfDepartingMemberAreRedelivered) {
  V5Client lazy(port());
  lazy.set_auto_ack(false);
  ASSERT_TRUE(lazy.connect("share-lazy"));
  ASSERT_TRUE(lazy.subscribe("$share/w/work/t", 1));
  V5Client worker(port());
  ASSERT_TRUE(worker.connect("share-worker"));
  ASSERT_TRUE(worker.subscribe("$share/w/work/t", 1));

  V5Client pub(port());
  ASSERT_TRUE(pub.connect("share-work-pub"));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(pub.publish("work/t", "job" + std::to_string(i), 1));

  std::set<std::string> lazy_got;
  while (auto msg = lazy.recv_publish(milliseconds(500))) lazy_got.insert(msg->payload);
  ASSERT_FALSE(lazy_got.empty()) << "the lazy member got no share; test cannot check redelivery";

  std::set<std::string> worker_got;
  while (auto msg = worker.recv_publish(milliseconds(300))) worker_got.insert(msg->payload);
  lazy.close();  // goes away with its messages unacknowledged
  while (auto msg = worker.recv_publish(milliseconds(1500))) worker_got.insert(msg->payload);

  for (const auto& job : lazy_got) {
    EXPECT_TRUE(worker_got.count(job)) << job << " (unacked by the departed member) was lost";
  }
  EXPECT_EQ(worker_got.size(), 6u) << "all 6 jobs must end up with the remaining member";
}

// MQTT-3.8.3-4: No Local on a shared subscription is a Protocol Error → DISCONNECT 0x82.
TEST_F(V5SharedSubscriptionTest, NoLocalOnSharedSubscriptionIsProtocolError) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("share-nl"));
  m::SubscribePacket p;
  p.packet_id = 1;
  p.subscriptions = {sub("$share/g/nl/t", 1, /*no_local=*/true)};
  std::string out;
  m::encode(p, kV5, &out);
  ASSERT_TRUE(c.send_bytes(out));
  EXPECT_TRUE(c.expect_disconnect(m::reason::kProtocolError));
}

// Retained messages are not sent when a shared subscription is made (§4.8.2 / §3.3.1.3 "a
// new Non-shared Subscription"); live messages are.
TEST_F(V5SharedSubscriptionTest, SharedSubscriptionGetsNoRetainedMessages) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("share-ret-pub"));
  ASSERT_TRUE(pub.publish("share/ret", "old", 1, {}, /*retain=*/true));
  V5Client c(port());
  ASSERT_TRUE(c.connect("share-ret"));
  ASSERT_TRUE(c.subscribe("$share/g/share/ret", 1));
  EXPECT_TRUE(c.expect_no_publish(milliseconds(500)))
      << "a retained message was sent for a shared subscription";
  ASSERT_TRUE(pub.publish("share/ret", "new", 1));
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "new");
  // Control: a non-shared subscription on the same client does get the retained message
  // ("new" was published without RETAIN, so "old" is still the retained one).
  ASSERT_TRUE(c.subscribe("share/ret", 1));
  auto retained = c.recv_publish();
  ASSERT_TRUE(retained);
  EXPECT_TRUE(retained->retain);
  EXPECT_EQ(retained->payload, "old");
}

// A subscription identifier on a shared subscription goes with its deliveries.
TEST_F(V5SharedSubscriptionTest, SharedSubscriptionCarriesIdentifier) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("share-sid"));
  ASSERT_TRUE(c.subscribe("$share/g/share/sid", 1, 33));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("share-sid-pub"));
  ASSERT_TRUE(pub.publish("share/sid", "x", 1));
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->props.subscription_identifiers, (std::vector<uint32_t>{33})) << describe(*msg);
}

// UNSUBSCRIBE of a shared subscription: UNSUBACK 0x00, and the remaining member gets all.
TEST_F(V5SharedSubscriptionTest, UnsubscribeLeavesGroup) {
  V5Client a(port());
  ASSERT_TRUE(a.connect("share-unsub-a"));
  ASSERT_TRUE(a.subscribe("$share/g/share/unsub", 1));
  V5Client b(port());
  ASSERT_TRUE(b.connect("share-unsub-b"));
  ASSERT_TRUE(b.subscribe("$share/g/share/unsub", 1));
  std::vector<uint8_t> codes;
  ASSERT_TRUE(a.unsubscribe({"$share/g/share/unsub", "$share/other/share/unsub"}, &codes));
  EXPECT_EQ(codes, (std::vector<uint8_t>{m::reason::kSuccess, m::reason::kNoSubscriptionExisted}));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("share-unsub-pub"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(pub.publish("share/unsub", std::to_string(i), 1));
  std::vector<Message> got;
  EXPECT_TRUE(b.recv_publishes(4, &got));
  EXPECT_TRUE(a.expect_no_publish(milliseconds(300)));
}

}  // namespace
}  // namespace topicdb::itest::v5
