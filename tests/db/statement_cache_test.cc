#include "db/statement_cache.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

namespace topicdb::db {
namespace {

class StatementCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  void TearDown() override { sqlite3_close(db_); }
  sqlite3* db_ = nullptr;
};

TEST_F(StatementCacheTest, ReusesAStatementOnceItIsBack) {
  StatementCache cache(db_);
  StatementCache::ThreadBinding binding(&cache);
  sqlite3_stmt* first;
  {
    Statement stmt = Statement::prepare(db_, "SELECT ?1");
    ASSERT_TRUE(stmt);
    first = stmt.get();
    sqlite3_bind_int(first, 1, 42);
    ASSERT_EQ(sqlite3_step(first), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(first, 0), 42);
  }
  Statement again = Statement::prepare(db_, "SELECT ?1");
  EXPECT_EQ(again.get(), first);
  // Reset and unbound on its way back.
  ASSERT_EQ(sqlite3_step(again.get()), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_type(again.get(), 0), SQLITE_NULL);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(StatementCacheTest, AStatementInUseGivesAOneOff) {
  StatementCache cache(db_);
  StatementCache::ThreadBinding binding(&cache);
  Statement outer = Statement::prepare(db_, "SELECT 1");
  Statement inner = Statement::prepare(db_, "SELECT 1");
  ASSERT_TRUE(outer);
  ASSERT_TRUE(inner);
  EXPECT_NE(outer.get(), inner.get());
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(StatementCacheTest, EvictsTheLeastRecentlyUsedBeyondItsCapacity) {
  StatementCache cache(db_, 2);
  StatementCache::ThreadBinding binding(&cache);
  sqlite3_stmt* one = Statement::prepare(db_, "SELECT 1").get();
  Statement::prepare(db_, "SELECT 2");
  Statement::prepare(db_, "SELECT 1");  // 1 is now more recent than 2
  Statement::prepare(db_, "SELECT 3");  // evicts 2
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(Statement::prepare(db_, "SELECT 1").get(), one);
}

TEST_F(StatementCacheTest, OnlyTheBoundThreadAndConnectionUseIt) {
  StatementCache cache(db_);
  EXPECT_EQ(StatementCache::for_connection(db_), nullptr);
  {
    StatementCache::ThreadBinding binding(&cache);
    EXPECT_EQ(StatementCache::for_connection(db_), &cache);
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(":memory:", &other), SQLITE_OK);
    EXPECT_EQ(StatementCache::for_connection(other), nullptr);
    sqlite3_close(other);
    std::thread([&] { EXPECT_EQ(StatementCache::for_connection(db_), nullptr); }).join();
  }
  EXPECT_EQ(StatementCache::for_connection(db_), nullptr);
  // Without a cache: a one-off statement, still usable.
  Statement stmt = Statement::prepare(db_, "SELECT 7");
  ASSERT_TRUE(stmt);
  ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt.get(), 0), 7);
  EXPECT_FALSE(Statement::prepare(db_, "SELEC nonsense"));
}

}  // namespace
}  // namespace topicdb::db
