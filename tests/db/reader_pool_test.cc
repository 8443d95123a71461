#include "db/reader_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "storage/sqlite_helpers.h"
#include "tests/db/query_test_util.h"

namespace topicdb::db {
namespace {

class ReaderPoolTest : public testing::QueryTest {
 protected:
  void before_loop_close() override {
    if (pool_) pool_->close();
    pool_.reset();
    QueryTest::before_loop_close();
  }

  void open_pool(int threads) {
    auto pool = ReaderPool::open(&loop_, path_, threads);
    ASSERT_TRUE(pool.is_ok()) << pool.status().to_string();
    pool_ = std::move(pool).value();
  }

  static int64_t count(sqlite3* db) {
    auto n = storage::sqlite::query_int(db, "SELECT count(*) FROM db_records");
    return n.is_ok() ? *n : -1;
  }

  std::unique_ptr<ReaderPool> pool_;
};

TEST_F(ReaderPoolTest, RunsReadsOnReaderThreadsAndAnswersOnTheLoopThread) {
  put("users", "u1", {{"name", "ann"}});
  open_pool(2);
  std::vector<Answer> answers;
  std::vector<std::thread::id> work_threads, done_threads;
  std::mutex mu;
  for (int i = 0; i < 50; ++i) {
    pool_->submit(
        [&](sqlite3* db) {
          {
            std::lock_guard lock(mu);
            work_threads.push_back(std::this_thread::get_id());
          }
          Request request;
          request.entity = "users";
          request.id = "u1";
          return run_read(db, request, testing::kNow);
        },
        [&](Answer answer) {
          done_threads.push_back(std::this_thread::get_id());
          EXPECT_TRUE(answer.parse_data_text());
          answers.push_back(std::move(answer));
        });
  }
  EXPECT_EQ(pool_->in_flight(), 50u);
  ASSERT_TRUE(run_loop_until([&] { return answers.size() == 50; }));
  for (const Answer& answer : answers) {
    ASSERT_EQ(answer.code, 200) << answer.message;
    EXPECT_EQ(answer.data["name"], "ann");
  }
  for (auto id : done_threads) EXPECT_EQ(id, std::this_thread::get_id());
  for (auto id : work_threads) EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_EQ(pool_->in_flight(), 0u);
  EXPECT_EQ(pool_->completed(), 50u);
}

TEST_F(ReaderPoolTest, EachWorkSeesOneSnapshotAndTheNextSeesLaterCommits) {
  open_pool(1);
  std::vector<int64_t> seen;
  pool_->submit(
      [&](sqlite3* db) {
        int64_t before = count(db);
        put("users", "u1", {});  // commits on another connection meanwhile
        int64_t after = count(db);
        return Answer::ok({before, after});
      },
      [&](Answer answer) {
        seen.push_back(answer.data[0].get<int64_t>());
        seen.push_back(answer.data[1].get<int64_t>());
      });
  ASSERT_TRUE(run_loop_until([&] { return seen.size() == 2; }));
  pool_->submit([&](sqlite3* db) { return Answer::ok(count(db)); },
                [&](Answer answer) { seen.push_back(answer.data.get<int64_t>()); });
  ASSERT_TRUE(run_loop_until([&] { return seen.size() == 3; }));
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 0, 1}));
}

// Read your writes: a read submitted once the writer's Done ran sees the write.
TEST_F(ReaderPoolTest, AReadAfterACommittedWriteSeesIt) {
  open_pool(2);
  for (int i = 0; i < 20; ++i) {
    std::string id = "w" + std::to_string(i);
    bool written = false;
    store_->submit(
        [id](sqlite3* db) {
          return storage::sqlite::exec(db, ("INSERT INTO db_records VALUES('users','" + id +
                                            "',0,1,NULL,'{\"id\":\"" + id + "\",\"_version\":1}')")
                                               .c_str());
        },
        [&](uint64_t, const Status& status) { written = status.is_ok(); });
    ASSERT_TRUE(run_loop_until([&] { return written; }));
    std::optional<Answer> answer;
    pool_->submit(
        [id](sqlite3* db) {
          Request request;
          request.entity = "users";
          request.id = id;
          return run_read(db, request, testing::kNow);
        },
        [&](Answer a) { answer = std::move(a); });
    ASSERT_TRUE(run_loop_until([&] { return answer.has_value(); }));
    EXPECT_EQ(answer->code, 200) << id << ": " << answer->message;
  }
}

TEST_F(ReaderPoolTest, ConnectionsAreReadOnly) {
  open_pool(1);
  std::optional<Answer> answer;
  pool_->submit(
      [](sqlite3* db) {
        Status status =
            storage::sqlite::exec(db, "INSERT INTO db_records VALUES('users','x',0,1,NULL,'{}')");
        return status.is_ok() ? Answer::ok(nullptr) : Answer::bad_request(status.message());
      },
      [&](Answer a) { answer = std::move(a); });
  ASSERT_TRUE(run_loop_until([&] { return answer.has_value(); }));
  EXPECT_EQ(answer->code, 400);
  EXPECT_NE(answer->message.find("readonly"), std::string::npos) << answer->message;
  EXPECT_EQ(query("SELECT count(*) FROM db_records"), 0);
}

// Reads queued while the reader is busy run as one batch in one transaction; a read that
// ends that transaction leaves the next to begin another, so every read runs in one.
TEST_F(ReaderPoolTest, AQueuedBatchRunsInATransactionEvenAfterOneEndsIt) {
  put("users", "u1", {{"name", "ann"}});
  open_pool(1);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::vector<Answer> answers;
  pool_->submit(
      [opened](sqlite3*) {
        opened.wait();
        return Answer::ok(nullptr);
      },
      [&](Answer a) { answers.push_back(std::move(a)); });
  constexpr int kQueued = 10;
  for (int i = 0; i < kQueued; ++i) {
    pool_->submit(
        [i](sqlite3* db) {
          const bool in_transaction = sqlite3_get_autocommit(db) == 0;
          if (i == 4) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
          return Answer::ok({i, in_transaction, count(db)});
        },
        [&](Answer a) { answers.push_back(std::move(a)); });
  }
  gate.set_value();
  ASSERT_TRUE(run_loop_until([&] { return answers.size() == kQueued + 1; }));
  for (int i = 0; i < kQueued; ++i) {
    const Answer& answer = answers[i + 1];
    ASSERT_EQ(answer.code, 200) << answer.message;
    EXPECT_EQ(answer.data[0], i) << "answered in submission order";
    EXPECT_EQ(answer.data[1], true) << "read " << i;
    EXPECT_EQ(answer.data[2], 1) << "read " << i;
  }
  EXPECT_EQ(pool_->completed(), static_cast<uint64_t>(kQueued + 1));
}

TEST_F(ReaderPoolTest, AnExceptionInWorkIsA503AndTheReaderKeepsGoing) {
  open_pool(1);
  std::vector<int> codes;
  pool_->submit([](sqlite3*) -> Answer { throw std::runtime_error("boom"); },
                [&](Answer a) { codes.push_back(a.code); });
  pool_->submit([](sqlite3*) { return Answer::ok(1); }, [&](Answer a) { codes.push_back(a.code); });
  ASSERT_TRUE(run_loop_until([&] { return codes.size() == 2; }));
  EXPECT_EQ(codes, (std::vector<int>{503, 200}));
}

TEST_F(ReaderPoolTest, CloseAnswersQueuedWork503AndLetsRunningWorkFinish) {
  open_pool(1);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::promise<void> entered;
  std::vector<int> codes;
  pool_->submit(
      [&, opened](sqlite3*) {
        entered.set_value();
        opened.wait();
        return Answer::ok("ran");
      },
      [&](Answer a) { codes.push_back(a.code); });
  entered.get_future().wait();
  for (int i = 0; i < 3; ++i) {
    pool_->submit([](sqlite3*) { return Answer::ok("should not run"); },
                  [&](Answer a) { codes.push_back(a.code); });
  }
  EXPECT_EQ(pool_->queued(), 3u);
  // Opens the gate once close() has taken the queue (the reader is still inside the gate).
  std::thread opener([&] {
    for (int i = 0; i < 5000 && pool_->queued() != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    gate.set_value();
  });
  pool_->close();
  opener.join();
  // close() delivered everything itself: the 503s and the running work's answer.
  ASSERT_EQ(codes.size(), 4u);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 503), 3);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 200), 1);
  EXPECT_EQ(pool_->completed(), 1u);

  // After close: answered at once, without running.
  bool ran = false;
  std::optional<Answer> late;
  pool_->submit(
      [&](sqlite3*) {
        ran = true;
        return Answer::ok(nullptr);
      },
      [&](Answer a) { late = std::move(a); });
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->code, 503);
  EXPECT_FALSE(ran);
  pool_->close();  // idempotent
}

TEST_F(ReaderPoolTest, OpenFailsForAMissingDatabase) {
  auto pool = ReaderPool::open(&loop_, dir_ + "/missing/db.sqlite3", 1);
  EXPECT_FALSE(pool.is_ok());
}

}  // namespace
}  // namespace topicdb::db
