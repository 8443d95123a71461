#include "broker/topic_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace topicdb::broker {
namespace {

// Sessions are only identities to the tree; fake addresses are enough.
Session* session_n(uintptr_t n) { return reinterpret_cast<Session*>(n * 16); }

std::vector<uintptr_t> matches(const TopicTree& tree, std::string_view topic) {
  std::vector<uintptr_t> out;
  tree.match(topic, [&](const Subscriber& s) {
    out.push_back(reinterpret_cast<uintptr_t>(s.session) / 16);
  });
  std::sort(out.begin(), out.end());
  return out;
}

struct MatchCase {
  const char* filter;
  const char* topic;
  bool matches;
};

// Readable test names in ctest: "filter vs topic" instead of the struct's bytes.
void PrintTo(const MatchCase& c, std::ostream* os) {
  *os << c.filter << " vs " << c.topic << (c.matches ? " matches" : " does not match");
}

class TopicMatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(TopicMatchTest, FollowsSpecRules) {
  TopicTree tree;
  tree.subscribe(GetParam().filter, {session_n(1), 0, 0});
  EXPECT_EQ(matches(tree, GetParam().topic).size(), GetParam().matches ? 1u : 0u)
      << GetParam().filter << " vs " << GetParam().topic;
}

INSTANTIATE_TEST_SUITE_P(
    Spec, TopicMatchTest,
    ::testing::Values(
        // Exact and multi-level (MQTT 3.1.1 §4.7.1.2)
        MatchCase{"a/b", "a/b", true}, MatchCase{"a/b", "a/b/c", false},
        MatchCase{"a/b", "a", false}, MatchCase{"sport/#", "sport", true},
        MatchCase{"sport/#", "sport/tennis/player1", true}, MatchCase{"#", "a/b/c", true},
        MatchCase{"#", "/", true}, MatchCase{"a/#", "b", false},
        // Single level (§4.7.1.3)
        MatchCase{"sport/+", "sport/tennis", true}, MatchCase{"sport/+", "sport", false},
        MatchCase{"sport/+", "sport/", true}, MatchCase{"sport/+", "sport/a/b", false},
        MatchCase{"+/+", "/finance", true}, MatchCase{"/+", "/finance", true},
        MatchCase{"+", "/finance", false}, MatchCase{"+/b/+", "a/b/c", true},
        MatchCase{"+/#", "a", true}, MatchCase{"a/+/#", "a/b", true},
        // Empty levels are levels
        MatchCase{"a//b", "a//b", true}, MatchCase{"a/+/b", "a//b", true},
        // '$' topics (§4.7.2): not matched by a first-level wildcard
        MatchCase{"#", "$SYS/broker/uptime", false},
        MatchCase{"+/broker/uptime", "$SYS/broker/uptime", false},
        MatchCase{"$SYS/#", "$SYS/broker/uptime", true},
        MatchCase{"$SYS/+/uptime", "$SYS/broker/uptime", true},
        MatchCase{"+/monitor/Clients", "$SYS/monitor/Clients", false},
        MatchCase{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
        MatchCase{"a/$b/#", "a/$b/c", true}, MatchCase{"a/+", "a/$b", true}));

TEST(TopicTreeTest, ResubscribeReplacesInsteadOfAdding) {
  TopicTree tree;
  EXPECT_FALSE(tree.subscribe("a/b", {session_n(1), 0, 0}));
  EXPECT_TRUE(tree.subscribe("a/b", {session_n(1), 2, 0}));
  EXPECT_EQ(tree.subscription_count(), 1u);
  uint8_t qos = 99;
  tree.match("a/b", [&](const Subscriber& s) { qos = s.qos(); });
  EXPECT_EQ(qos, 2);
}

TEST(TopicTreeTest, OverlappingFiltersVisitOncePerFilter) {
  TopicTree tree;
  tree.subscribe("a/+", {session_n(1), 0, 0});
  tree.subscribe("a/#", {session_n(1), 1, 0});
  tree.subscribe("a/b", {session_n(2), 2, 0});
  EXPECT_EQ(matches(tree, "a/b"), (std::vector<uintptr_t>{1, 1, 2}));
}

TEST(TopicTreeTest, UnsubscribeRemovesOnlyThatSessionAndPrunes) {
  TopicTree tree;
  tree.subscribe("a/+/c", {session_n(1), 0, 0});
  tree.subscribe("a/+/c", {session_n(2), 0, 0});
  EXPECT_TRUE(tree.unsubscribe("a/+/c", {session_n(1)}));
  EXPECT_FALSE(tree.unsubscribe("a/+/c", {session_n(1)}));
  EXPECT_FALSE(tree.unsubscribe("a/x/c", {session_n(2)}));
  EXPECT_EQ(matches(tree, "a/b/c"), (std::vector<uintptr_t>{2}));
  EXPECT_TRUE(tree.unsubscribe("a/+/c", {session_n(2)}));
  EXPECT_EQ(tree.subscription_count(), 0u);
  EXPECT_TRUE(matches(tree, "a/b/c").empty());
  // The pruned tree still accepts new subscriptions on the same path.
  tree.subscribe("a/+/c", {session_n(3), 0, 0});
  EXPECT_EQ(matches(tree, "a/b/c"), (std::vector<uintptr_t>{3}));
}

TEST(TopicTreeTest, ManyUnrelatedSubscriptionsDoNotMatch) {
  TopicTree tree;
  for (int i = 0; i < 10000; ++i) {
    tree.subscribe("sensors/" + std::to_string(i) + "/+", {session_n(i + 10), 0, 0});
  }
  tree.subscribe("sensors/42/temp", {session_n(1), 0, 0});
  EXPECT_EQ(matches(tree, "sensors/42/temp"), (std::vector<uintptr_t>{1, 52}));
  EXPECT_EQ(tree.subscription_count(), 10001u);
}

}  // namespace
}  // namespace topicdb::broker
