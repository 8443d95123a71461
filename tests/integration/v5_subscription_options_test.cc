// MQTT 5 subscription options (§3.8.3.1: No Local, Retain As Published, Retain Handling) and
// subscription identifiers (§3.8.2.1.2, §3.3.2.3.8).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/integration/v5_client.h"
#include "tests/integration/v5_tools.h"

namespace topicdb::itest::v5 {
namespace {

class V5SubscriptionOptionsTest : public V5Test {};

// MQTT-3.8.3-3: with No Local the server does not send a client its own messages; messages
// of other clients still arrive.
TEST_F(V5SubscriptionOptionsTest, NoLocalSuppressesOwnMessages) {
  V5Client self(port());
  ASSERT_TRUE(self.connect("nl-self"));
  ASSERT_TRUE(self.subscribe({sub("nl/t", 1, /*no_local=*/true)}, 0, {1}));
  V5Client other(port());
  ASSERT_TRUE(other.connect("nl-other"));

  ASSERT_TRUE(self.publish("nl/t", "mine", 1));
  ASSERT_TRUE(other.publish("nl/t", "theirs", 1));
  auto msg = self.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "theirs") << "own message came back despite No Local";
  EXPECT_TRUE(self.expect_no_publish(milliseconds(300)));
}

// Without No Local (control) the client does receive its own message.
TEST_F(V5SubscriptionOptionsTest, WithoutNoLocalOwnMessagesReturn) {
  V5Client self(port());
  ASSERT_TRUE(self.connect("nl-off"));
  ASSERT_TRUE(self.subscribe({sub("nl/off", 1)}, 0, {1}));
  ASSERT_TRUE(self.publish("nl/off", "mine", 1));
  auto msg = self.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "mine");
}

// §3.8.3.1 Retain As Published: with it, live messages keep the RETAIN flag they were
// published with; without it RETAIN is cleared (MQTT-3.3.1-12, MQTT-3.3.1-13).
TEST_F(V5SubscriptionOptionsTest, RetainAsPublishedKeepsRetainFlag) {
  V5Client rap(port());
  ASSERT_TRUE(rap.connect("rap-on"));
  ASSERT_TRUE(rap.subscribe({sub("rap/t", 1, false, /*retain_as_published=*/true)}, 0, {1}));
  V5Client plain(port());
  ASSERT_TRUE(plain.connect("rap-off"));
  ASSERT_TRUE(plain.subscribe({sub("rap/t", 1)}, 0, {1}));

  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rap-pub"));
  ASSERT_TRUE(pub.publish("rap/t", "retained", 1, {}, /*retain=*/true));
  ASSERT_TRUE(pub.publish("rap/t", "not-retained", 1, {}, /*retain=*/false));

  std::vector<Message> with_rap;
  std::vector<Message> without_rap;
  ASSERT_TRUE(rap.recv_publishes(2, &with_rap));
  ASSERT_TRUE(plain.recv_publishes(2, &without_rap));
  EXPECT_TRUE(with_rap[0].retain) << "Retain As Published lost the flag: " << describe(with_rap[0]);
  EXPECT_FALSE(with_rap[1].retain);
  EXPECT_FALSE(without_rap[0].retain) << "RETAIN must be cleared: " << describe(without_rap[0]);
  EXPECT_FALSE(without_rap[1].retain);
}

class V5RetainHandlingTest : public V5Test {
 protected:
  void SetUp() override {
    V5Test::SetUp();
    if (HasFatalFailure()) return;
    V5Client pub(port());
    ASSERT_TRUE(pub.connect("rh-pub"));
    ASSERT_TRUE(pub.publish("rh/t", "stored", 1, {}, /*retain=*/true));
    ASSERT_TRUE(pub.disconnect());
  }
};

// Retain Handling 0: retained messages are sent at every subscribe, also a repeated one.
TEST_F(V5RetainHandlingTest, Handling0SendsOnEverySubscribe) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rh0"));
  ASSERT_TRUE(c.subscribe({sub("rh/t", 1, false, false, 0)}, 0, {1}));
  auto first = c.recv_publish();
  ASSERT_TRUE(first) << "retained message not sent on subscribe";
  EXPECT_TRUE(first->retain) << "MQTT-3.3.1-8: RETAIN set for retained messages on subscribe";
  EXPECT_EQ(first->payload, "stored");
  ASSERT_TRUE(c.subscribe({sub("rh/t", 1, false, false, 0)}, 0, {1}));
  auto second = c.recv_publish();
  ASSERT_TRUE(second) << "retain handling 0: retained message not sent again on re-subscribe";
  EXPECT_TRUE(second->retain);
}

// Retain Handling 1: sent only if the subscription did not exist (MQTT-3.3.1-10).
TEST_F(V5RetainHandlingTest, Handling1SendsOnlyForNewSubscription) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rh1"));
  ASSERT_TRUE(c.subscribe({sub("rh/t", 1, false, false, 1)}, 0, {1}));
  auto first = c.recv_publish();
  ASSERT_TRUE(first) << "retain handling 1: retained message not sent for a new subscription";
  EXPECT_TRUE(first->retain);
  ASSERT_TRUE(c.subscribe({sub("rh/t", 1, false, false, 1)}, 0, {1}));
  EXPECT_TRUE(c.expect_no_publish(milliseconds(500)))
      << "retain handling 1: retained message re-sent for an existing subscription";
}

// Retain Handling 2: never sent at subscribe (MQTT-3.3.1-11); live messages still flow.
TEST_F(V5RetainHandlingTest, Handling2NeverSends) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("rh2"));
  ASSERT_TRUE(c.subscribe({sub("rh/t", 1, false, false, 2)}, 0, {1}));
  EXPECT_TRUE(c.expect_no_publish(milliseconds(500)))
      << "retain handling 2 sent a retained message";
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("rh2-pub"));
  ASSERT_TRUE(pub.publish("rh/t", "live", 1));
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->payload, "live");
}

// §3.3.4 / MQTT-3.3.4-3..5: two overlapping subscriptions with identifiers 1 and 2 → the
// message is delivered once, carrying both identifiers.
TEST_F(V5SubscriptionOptionsTest, OverlappingSubscriptionsCarryAllIdentifiers) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("sid-overlap"));
  ASSERT_TRUE(c.subscribe("sid/+/x", 1, /*subscription_id=*/1));
  ASSERT_TRUE(c.subscribe("sid/#", 1, /*subscription_id=*/2));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("sid-pub"));
  ASSERT_TRUE(pub.publish("sid/a/x", "both", 1));
  auto msg = c.recv_publish();
  ASSERT_TRUE(msg);
  auto ids = msg->props.subscription_identifiers;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2})) << describe(*msg);
  EXPECT_TRUE(c.expect_no_publish(milliseconds(300)))
      << "overlapping subscriptions delivered twice";

  // Only "sid/#" matches this one.
  ASSERT_TRUE(pub.publish("sid/a/y", "one", 1));
  auto only = c.recv_publish();
  ASSERT_TRUE(only);
  EXPECT_EQ(only->props.subscription_identifiers, (std::vector<uint32_t>{2})) << describe(*only);
}

// Each subscription's identifier goes with its own matches; a subscription without one adds
// none (MQTT-3.3.4-3).
TEST_F(V5SubscriptionOptionsTest, IdentifierOfMatchingSubscription) {
  V5Client c(port());
  ASSERT_TRUE(c.connect("sid-each"));
  ASSERT_TRUE(c.subscribe("sid/one", 1, 5));
  ASSERT_TRUE(c.subscribe("sid/two", 1, 268435455));  // the largest identifier
  ASSERT_TRUE(c.subscribe("sid/none", 1));
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("sid-each-pub"));
  ASSERT_TRUE(pub.publish("sid/one", "1", 1));
  ASSERT_TRUE(pub.publish("sid/two", "2", 1));
  ASSERT_TRUE(pub.publish("sid/none", "3", 1));
  std::vector<Message> got;
  ASSERT_TRUE(c.recv_publishes(3, &got));
  EXPECT_EQ(got[0].props.subscription_identifiers, (std::vector<uint32_t>{5})) << describe(got[0]);
  EXPECT_EQ(got[1].props.subscription_identifiers, (std::vector<uint32_t>{268435455}))
      << describe(got[1]);
  EXPECT_TRUE(got[2].props.subscription_identifiers.empty()) << describe(got[2]);
}

// The identifier is replaced when the subscription is (MQTT-3.8.4-3), and it also goes with
// retained messages sent for the subscription.
TEST_F(V5SubscriptionOptionsTest, IdentifierReplacedOnResubscribeAndSentWithRetained) {
  V5Client pub(port());
  ASSERT_TRUE(pub.connect("sid-ret-pub"));
  ASSERT_TRUE(pub.publish("sid/ret", "kept", 1, {}, true));
  V5Client c(port());
  ASSERT_TRUE(c.connect("sid-ret"));
  ASSERT_TRUE(c.subscribe("sid/ret", 1, 7));
  auto retained = c.recv_publish();
  ASSERT_TRUE(retained);
  EXPECT_EQ(retained->props.subscription_identifiers, (std::vector<uint32_t>{7}));
  ASSERT_TRUE(c.subscribe({sub("sid/ret", 1, false, false, 2)}, 9, {1}));
  ASSERT_TRUE(pub.publish("sid/ret", "live", 1));
  auto live = c.recv_publish();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->payload, "live");
  EXPECT_EQ(live->props.subscription_identifiers, (std::vector<uint32_t>{9})) << describe(*live);
}

// The same options work from Paho v5 (No Local via subscribe_options).
TEST_F(V5SubscriptionOptionsTest, PahoNoLocal) {
  PahoV5 c(port(), "paho-nl");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(c.subscribe("nl/paho", 1, ::mqtt::subscribe_options(true)));
  ASSERT_TRUE(c.publish(::mqtt::make_message("nl/paho", "mine", 1, false)));
  V5Client other(port());
  ASSERT_TRUE(other.connect("nl-paho-other"));
  ASSERT_TRUE(other.publish("nl/paho", "theirs", 1));
  auto msg = c.receive();
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_payload_str(), "theirs");
  EXPECT_FALSE(c.receive(milliseconds(300))) << "Paho got its own message despite No Local";
}

}  // namespace
}  // namespace topicdb::itest::v5
