#include "broker/retained_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace topicdb::broker {
namespace {

MessagePtr retained(const std::string& topic, const std::string& payload) {
  auto m = std::make_shared<Message>();
  m->topic = topic;
  m->payload = payload;
  m->retain = true;
  return m;
}

std::vector<std::string> topics_matching(const RetainedStore& store, std::string_view filter) {
  std::vector<std::string> out;
  store.match(filter, [&](const MessagePtr& m) { out.push_back(m->topic); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RetainedStoreTest, SetReplaceAndErase) {
  RetainedStore store;
  store.set(retained("a/b", "1"));
  store.set(retained("a/b", "2"));
  EXPECT_EQ(store.size(), 1u);
  ASSERT_NE(store.find("a/b"), nullptr);
  EXPECT_EQ(store.find("a/b")->payload, "2");
  EXPECT_TRUE(store.erase("a/b"));
  EXPECT_FALSE(store.erase("a/b"));
  EXPECT_EQ(store.find("a/b"), nullptr);
  EXPECT_EQ(store.size(), 0u);
}

TEST(RetainedStoreTest, EraseKeepsNeighboursAndParents) {
  RetainedStore store;
  store.set(retained("a", "p"));
  store.set(retained("a/b/c", "x"));
  store.set(retained("a/b/d", "y"));
  EXPECT_TRUE(store.erase("a/b/c"));
  EXPECT_EQ(topics_matching(store, "#"), (std::vector<std::string>{"a", "a/b/d"}));
  EXPECT_FALSE(store.erase("a/b"));  // an inner node without a message
}

TEST(RetainedStoreTest, WildcardMatching) {
  RetainedStore store;
  for (const char* t : {"a", "a/b", "a/c", "a/b/c", "b/b", "/x", "$SYS/uptime"}) {
    store.set(retained(t, "v"));
  }
  EXPECT_EQ(topics_matching(store, "a/+"), (std::vector<std::string>{"a/b", "a/c"}));
  EXPECT_EQ(topics_matching(store, "a/#"), (std::vector<std::string>{"a", "a/b", "a/b/c", "a/c"}));
  EXPECT_EQ(topics_matching(store, "+/b"), (std::vector<std::string>{"a/b", "b/b"}));
  EXPECT_EQ(topics_matching(store, "+/+/c"), (std::vector<std::string>{"a/b/c"}));
  EXPECT_EQ(topics_matching(store, "+/x"), (std::vector<std::string>{"/x"}));
  EXPECT_EQ(topics_matching(store, "a/b"), (std::vector<std::string>{"a/b"}));
  EXPECT_EQ(topics_matching(store, "#"),
            (std::vector<std::string>{"/x", "a", "a/b", "a/b/c", "a/c", "b/b"}));
  // '$' topics only through a filter that names the first level (MQTT-4.7.2-1).
  EXPECT_EQ(topics_matching(store, "+/uptime"), std::vector<std::string>{});
  EXPECT_EQ(topics_matching(store, "$SYS/#"), (std::vector<std::string>{"$SYS/uptime"}));
}

TEST(RetainedStoreTest, ForEachVisitsDollarTopicsToo) {
  RetainedStore store;
  store.set(retained("$SYS/x", "v"));
  store.set(retained("y", "v"));
  int n = 0;
  store.for_each([&](const MessagePtr&) { ++n; });
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace topicdb::broker
