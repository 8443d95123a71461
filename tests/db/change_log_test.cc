#include "db/change_log.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/db/db_test_util.h"

namespace topicdb::db {
namespace {

using DbChangeLogTest = testing::DocumentStoreTest;

TEST_F(DbChangeLogTest, ReplayReturnsTheEntitysEventsInOrder) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(create("users", {{"i", i}}).code, 200);
  ASSERT_EQ(create("posts", {{"id", "p1"}}).code, 200);
  ASSERT_EQ(update("posts", "p1", {{"x", 1}}).code, 200);
  ASSERT_TRUE(wait_events(7));

  Answer all = replay({{"entity", "users"}, {"since", 0}});
  ASSERT_EQ(all.code, 200) << all.message;
  ASSERT_EQ(all.data.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all.data[i]["sequence"], i + 1);
    EXPECT_EQ(all.data[i]["operation"], "Create");
    EXPECT_EQ(all.data[i]["data"]["i"], i);
    EXPECT_EQ(all.data[i]["client_id"], "client-1");
    EXPECT_EQ(all.data[i], Json::parse(sink_.events[i].to_json())) << "as the event was";
  }
  Answer after = replay({{"entity", "users"}, {"since", 3}, {"limit", 1}});
  ASSERT_EQ(after.data.size(), 1u);
  EXPECT_EQ(after.data[0]["sequence"], 4);
  Answer posts = replay({{"entity", "posts"}});
  ASSERT_EQ(posts.data.size(), 2u);
  EXPECT_EQ(posts.data[1]["operation"], "Update");
  EXPECT_EQ(replay({{"entity", "users"}, {"since", 99}}).data, Json::array());
  EXPECT_EQ(replay({{"entity", "nobody"}, {"since", 0}}).data, Json::array());
}

TEST_F(DbChangeLogTest, ReplayRefusesBadRequests) {
  EXPECT_EQ(replay(Json::object()).code, 400);
  EXPECT_EQ(replay({{"entity", "_admin"}}).code, 400);
  EXPECT_EQ(replay({{"entity", "users"}, {"since", -1}}).code, 400);
  EXPECT_EQ(replay({{"entity", "users"}, {"since", "0"}}).code, 400);
  EXPECT_EQ(replay({{"entity", "users"}, {"limit", 0}}).code, 400);
  EXPECT_EQ(replay({{"entity", "users"}, {"limit", 10001}}).code, 400);
  EXPECT_EQ(replay({{"entity", "users"}, {"limit", 10000}}).code, 200);
  EXPECT_EQ(replay({{"entity", "users"}, {"from", 1}}).code, 400);
}

TEST_F(DbChangeLogTest, RetentionByCountPrunesAndReplayBeforeTheWindowIsGone) {
  reopen({.event_retention_count = 5});
  for (int i = 0; i < 10; ++i) ASSERT_EQ(create("users", {{"i", i}}).code, 200);
  ASSERT_TRUE(wait_events(10));
  clock_.advance_ms(250);  // one sweep
  ASSERT_TRUE(run_loop_until(
      [&] { return query("SELECT value FROM db_state WHERE key='pruned_seq'") == 5; }));
  EXPECT_EQ(query("SELECT count(*) FROM db_changes"), 5);
  EXPECT_EQ(query("SELECT min(seq) FROM db_changes"), 6);
  Answer inside = replay({{"entity", "users"}, {"since", 5}});
  ASSERT_EQ(inside.code, 200);
  ASSERT_EQ(inside.data.size(), 5u);
  EXPECT_EQ(inside.data[0]["sequence"], 6);
  Answer gone = replay({{"entity", "users"}, {"since", 4}});
  EXPECT_EQ(gone.code, 410);
  EXPECT_EQ(replay({{"entity", "users"}, {"since", 0}}).code, 410);
  EXPECT_EQ(replay({{"entity", "users"}, {"since", 10}}).data, Json::array());
  ASSERT_EQ(create("users", {{"i", 10}}).code, 200);
  ASSERT_TRUE(wait_events(11));
  EXPECT_EQ(sink_.events.back().sequence, 11u);
}

TEST_F(DbChangeLogTest, RetentionByAge) {
  reopen({.event_retention_ms = 10'000});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(create("users", {{"i", i}}).code, 200);
  clock_.advance_ms(5'000);
  for (int i = 3; i < 5; ++i) ASSERT_EQ(create("users", {{"i", i}}).code, 200);
  ASSERT_TRUE(wait_events(5));
  clock_.advance_ms(5'250);  // the first three are now older than 10 s
  ASSERT_TRUE(run_loop_until(
      [&] { return query("SELECT value FROM db_state WHERE key='pruned_seq'") == 3; }));
  EXPECT_EQ(query("SELECT min(seq) FROM db_changes"), 4);
  EXPECT_EQ(replay({{"entity", "users"}, {"since", 2}}).code, 410);
  EXPECT_EQ(replay({{"entity", "users"}, {"since", 3}}).data.size(), 2u);
}

TEST_F(DbChangeLogTest, PruningStopsAtTheLastRoutedEvent) {
  for (int i = 0; i < 4; ++i) ASSERT_EQ(create("users", {{"i", i}}).code, 200);
  RetentionPolicy policy;
  policy.retention_ms = 1'000'000;
  policy.retention_count = 1;
  policy.max_prunable_seq = 2;  // events 3 and 4 have not left yet
  int64_t pruned = -1;
  ASSERT_TRUE(store_
                  ->run_sync([&](sqlite3* db) {
                    return prune_changes(db, clock_.wall_ms(), policy, &pruned);
                  })
                  .is_ok());
  EXPECT_EQ(pruned, 2);
  EXPECT_EQ(query("SELECT min(seq) FROM db_changes"), 3);
  EXPECT_EQ(query("SELECT value FROM db_state WHERE key='pruned_seq'"), 2);
  policy.max_prunable_seq = 4;
  policy.batch = 1;  // bounded work per sweep
  ASSERT_TRUE(store_
                  ->run_sync([&](sqlite3* db) {
                    return prune_changes(db, clock_.wall_ms(), policy, &pruned);
                  })
                  .is_ok());
  EXPECT_EQ(pruned, 1);
  EXPECT_EQ(query("SELECT min(seq) FROM db_changes"), 4);
}

}  // namespace
}  // namespace topicdb::db
