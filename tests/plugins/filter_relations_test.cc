// Filter relations for ACL rules: match, cover and overlap under MQTT's wildcard rules.
#include "plugins/filter_relations.h"

#include <gtest/gtest.h>

namespace topicdb::plugins {
namespace {

TEST(FilterRelationsTest, Matches) {
  EXPECT_TRUE(filter_matches("a/b", "a/b"));
  EXPECT_FALSE(filter_matches("a/b", "a/c"));
  EXPECT_TRUE(filter_matches("a/+", "a/b"));
  EXPECT_FALSE(filter_matches("a/+", "a/b/c"));
  EXPECT_TRUE(filter_matches("a/#", "a"));  // '#' includes the parent level
  EXPECT_TRUE(filter_matches("a/#", "a/b/c"));
  EXPECT_TRUE(filter_matches("#", "x/y"));
  EXPECT_TRUE(filter_matches("+/+", "/x"));     // an empty level is a level
  EXPECT_FALSE(filter_matches("#", "$SYS/x"));  // MQTT-4.7.2-1
  EXPECT_FALSE(filter_matches("+/x", "$SYS/x"));
  EXPECT_TRUE(filter_matches("$SYS/#", "$SYS/x"));
}

TEST(FilterRelationsTest, Covers) {
  EXPECT_TRUE(filter_covers("a/#", "a/#"));
  EXPECT_TRUE(filter_covers("a/#", "a/+/c"));
  EXPECT_TRUE(filter_covers("a/#", "a"));
  EXPECT_TRUE(filter_covers("#", "#"));
  EXPECT_TRUE(filter_covers("+/b", "+/b"));
  EXPECT_TRUE(filter_covers("+/b", "x/b"));
  EXPECT_FALSE(filter_covers("a/+", "a/#"));  // '#' goes deeper than one level
  EXPECT_FALSE(filter_covers("a/b", "a/+"));
  EXPECT_FALSE(filter_covers("a/+/c", "a/#"));
  EXPECT_FALSE(filter_covers("a/b/#", "a/#"));
  EXPECT_FALSE(filter_covers("a", "a/b"));
  EXPECT_FALSE(filter_covers("#", "$SYS/#"));
  EXPECT_TRUE(filter_covers("$SYS/#", "$SYS/broker/+"));
}

TEST(FilterRelationsTest, Overlaps) {
  EXPECT_TRUE(filters_overlap("a/#", "a/b"));
  EXPECT_TRUE(filters_overlap("a/+", "+/b"));
  EXPECT_TRUE(filters_overlap("a", "a/#"));
  EXPECT_TRUE(filters_overlap("#", "x"));
  EXPECT_FALSE(filters_overlap("a/+", "a/b/c"));
  EXPECT_FALSE(filters_overlap("a/b", "a/c"));
  EXPECT_FALSE(filters_overlap("a/b", "a"));
  EXPECT_FALSE(filters_overlap("#", "$SYS/#"));
  EXPECT_FALSE(filters_overlap("+/x", "$SYS/x"));
  EXPECT_TRUE(filters_overlap("$SYS/+", "$SYS/#"));
}

}  // namespace
}  // namespace topicdb::plugins
