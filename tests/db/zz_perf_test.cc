#include <gtest/gtest.h>
#include <chrono>
#include "db/reader_pool.h"
#include "db/statement_cache.h"
#include "tests/db/query_test_util.h"
namespace topicdb::db {
namespace {
class PerfTest : public testing::QueryTest {
 protected:
  void before_loop_close() override {
    if (pool_) pool_->close();
    pool_.reset();
    QueryTest::before_loop_close();
  }
  std::unique_ptr<ReaderPool> pool_;
};
TEST_F(PerfTest, Reads) {
  sql("BEGIN");
  for (int i = 0; i < 10000; ++i)
    put("users", "u" + std::to_string(i),
        {{"name", "someone with a name"},
         {"email", "x@example.com"},
         {"age", i},
         {"bio", std::string(100, 'x')}});
  sql("COMMIT");
  Request r;
  r.entity = "users";
  r.id = "u5";
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) {
    r.id = "u" + std::to_string(i % 10000);
    ASSERT_EQ(run_read(reader_, r, 1).code, 200);
  }
  auto t1 = std::chrono::steady_clock::now();
  {
    StatementCache cache(reader_);
    StatementCache::ThreadBinding b(&cache);
    for (int i = 0; i < 20000; ++i) {
      r.id = "u" + std::to_string(i % 10000);
      ASSERT_EQ(run_read(reader_, r, 1).code, 200);
    }
  }
  auto t2 = std::chrono::steady_clock::now();
  auto us = [](auto a, auto b) {
    return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
  };
  printf("uncached %.0f/s cached %.0f/s\n", 20000e6 / us(t0, t1), 20000e6 / us(t1, t2));
  auto pool = ReaderPool::open(&loop_, path_, 2);
  pool_ = std::move(pool).value();
  int done = 0;
  auto t3 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100000; ++i) {
    Request q;
    q.entity = "users";
    q.id = "u" + std::to_string(i % 10000);
    pool_->submit([q](sqlite3* db) { return run_read(db, q, 1); },
                  [&](Answer a) {
                    if (a.code == 200) ++done;
                  });
  }
  run_loop_until([&] { return done == 100000; });
  auto t4 = std::chrono::steady_clock::now();
  printf("pool %.0f/s (%d)\n", 100000e6 / us(t3, t4), done);
  Request l;
  l.entity = "users";
  l.body = {{"filters", {{{"field", "age"}, {"op", "gte"}, {"value", 5000}}}}, {"limit", 10}};
  auto t5 = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(run_list(reader_, l, {}, 1).code, 200);
  auto t6 = std::chrono::steady_clock::now();
  printf("unindexed list limit 10 over 10k: %.0f us each\n", us(t5, t6) / 200.0);
  create_index("dbidx_users_0", "users", {"age"});
  auto t7 = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(run_list(reader_, l, {}, 1).code, 200);
  auto t8 = std::chrono::steady_clock::now();
  printf("indexed range list limit 10 over 10k: %.0f us each\n", us(t7, t8) / 2000.0);
  l.body = {{"filters", {{{"field", "age"}, {"op", "eq"}, {"value", 5000}}}}, {"limit", 10}};
  auto t9 = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(run_list(reader_, l, {}, 1).code, 200);
  auto t10 = std::chrono::steady_clock::now();
  printf("indexed eq list: %.0f us each\n", us(t9, t10) / 2000.0);
}
}  // namespace
}  // namespace topicdb::db
