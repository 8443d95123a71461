#include "storage/store_thread.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite_helpers.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::storage {
namespace {

// Inserts a row, then fails: the row must not survive.
StoreThread::Work insert_then_fail(int id) {
  return [id](sqlite3* db) {
    TDB_RETURN_IF_ERROR(
        sqlite::exec(db, fmt::format("INSERT INTO notes VALUES({}, 'doomed')", id).c_str()));
    return sqlite::exec(db, "INSERT INTO no_such_table VALUES(1)");
  };
}

// One Done callback's call, as seen on the loop thread.
struct Report {
  uint64_t ticket;
  Status status;
  std::thread::id thread;
};

class StoreThreadTest : public testing::StoreTest {
 protected:
  void before_loop_close() override { store_.reset(); }

  void open(uv_loop_t* loop) {
    auto store = StoreThread::open(loop, path_, {testing::notes_schema()});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  StoreThread::Done record() {
    return [this](uint64_t ticket, const Status& status) {
      reports_.push_back({ticket, status, std::this_thread::get_id()});
    };
  }

  // A submission that keeps the store thread busy until release() is called, so that
  // everything submitted meanwhile forms the next group.
  uint64_t submit_gate() {
    std::shared_future<void> opened = gate_.get_future().share();
    auto entered = std::make_shared<std::promise<void>>();
    std::future<void> running = entered->get_future();
    uint64_t ticket = store_->submit(
        [opened, entered](sqlite3*) {
          entered->set_value();
          opened.wait();
          return Status::ok();
        },
        record());
    // The thread has taken the gate's group: whatever comes next queues behind it.
    running.wait();
    return ticket;
  }
  void release() { gate_.set_value(); }

  std::unique_ptr<StoreThread> store_;
  std::vector<Report> reports_;
  std::promise<void> gate_;
};

TEST_F(StoreThreadTest, GroupCommitRunsManySubmissionsInFewerCommits) {
  open(&loop_);
  for (int i = 1; i <= 1000; ++i) store_->submit(testing::insert_note(i), record());
  EXPECT_EQ(store_->last_ticket(), 1000u);
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 1000; }));
  EXPECT_EQ(store_->durable_ticket(), 1000u);
  EXPECT_GE(store_->commits(), 1u);
  EXPECT_LT(store_->commits(), 1000u);
  EXPECT_EQ(query("SELECT count(*) FROM notes"), 1000);
}

TEST_F(StoreThreadTest, FailingSubmissionIsRolledBackAloneAndTheGroupCommits) {
  open(&loop_);
  std::vector<uint64_t> durable_seen;
  store_->add_durable_callback([&](uint64_t ticket) { durable_seen.push_back(ticket); });
  submit_gate();                                                 // ticket 1: group of its own
  store_->submit(testing::insert_note(1, "before"), record());   // 2
  uint64_t bad = store_->submit(insert_then_fail(2), record());  // 3
  store_->submit(testing::insert_note(3, "after"), record());    // 4
  release();  // 2, 3 and 4 were queued together: they form one group
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 4; }));
  EXPECT_EQ(store_->commits(), 2u) << "tickets 2-4 committed as one group";

  std::thread::id loop_thread = std::this_thread::get_id();
  for (size_t i = 0; i < reports_.size(); ++i) {
    EXPECT_EQ(reports_[i].ticket, i + 1) << "Done callbacks run in ticket order";
    EXPECT_EQ(reports_[i].thread, loop_thread) << "Done callbacks run on the loop thread";
    EXPECT_EQ(reports_[i].status.is_ok(), reports_[i].ticket != bad) << reports_[i].ticket;
  }
  EXPECT_NE(reports_[bad - 1].status.message().find("no such table"), std::string::npos)
      << reports_[bad - 1].status.message();
  EXPECT_EQ(store_->failed_submissions(), 1u);
  // The failed ticket counts as processed: the durable ticket passes it.
  EXPECT_EQ(store_->durable_ticket(), 4u);
  ASSERT_FALSE(durable_seen.empty());
  EXPECT_EQ(durable_seen.back(), 4u);
  EXPECT_TRUE(store_->health().is_ok());
  EXPECT_EQ(query("SELECT count(*) FROM notes"), 2);
  EXPECT_EQ(query("SELECT count(*) FROM notes WHERE id = 2"), 0) << "its insert was rolled back";

  // Later submissions still work.
  store_->submit(testing::insert_note(4), record());
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 5; }));
  EXPECT_TRUE(reports_[4].status.is_ok());
  EXPECT_EQ(store_->durable_ticket(), 5u);
  EXPECT_EQ(query("SELECT count(*) FROM notes"), 3);
}

TEST_F(StoreThreadTest, DurableTicketAdvancesPastAFailureAlone) {
  open(&loop_);
  uint64_t durable = 0;
  store_->add_durable_callback([&](uint64_t ticket) { durable = ticket; });
  uint64_t bad = store_->submit(insert_then_fail(1), record());
  ASSERT_TRUE(run_loop_until([&] { return durable == bad; }));
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_FALSE(reports_[0].status.is_ok());
  EXPECT_TRUE(store_->health().is_ok());
}

TEST_F(StoreThreadTest, FailedCommitFailsTheWholeGroupAndStopsTheStore) {
  open(&loop_);
  ASSERT_TRUE(store_
                  ->run_sync([](sqlite3* db) {
                    // A deferred foreign key is checked at COMMIT, not at RELEASE.
                    return sqlite::exec(db,
                                        "PRAGMA foreign_keys = ON; "
                                        "CREATE TABLE parent(id INTEGER PRIMARY KEY); "
                                        "CREATE TABLE child(p INTEGER REFERENCES parent(id) "
                                        "DEFERRABLE INITIALLY DEFERRED)");
                  })
                  .is_ok());
  store_->submit(testing::insert_note(1), record());
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 1; }));
  EXPECT_EQ(store_->durable_ticket(), 1u);

  submit_gate();                                      // 2
  store_->submit(testing::insert_note(2), record());  // 3: fine on its own, lost with its group
  store_->submit([](sqlite3* db) { return sqlite::exec(db, "INSERT INTO child VALUES(42)"); },
                 record());  // 4: breaks the COMMIT
  release();
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 4; }));
  EXPECT_TRUE(reports_[1].status.is_ok());
  for (size_t i : {2, 3}) {
    EXPECT_FALSE(reports_[i].status.is_ok()) << i;
    EXPECT_NE(reports_[i].status.message().find("COMMIT"), std::string::npos)
        << reports_[i].status.message();
  }
  EXPECT_FALSE(store_->health().is_ok());
  EXPECT_EQ(store_->durable_ticket(), 2u);

  // From now on nothing runs: submissions are reported failed and never become durable.
  store_->submit(testing::insert_note(5), record());
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 5; }));
  EXPECT_FALSE(reports_[4].status.is_ok());
  EXPECT_EQ(store_->durable_ticket(), 2u);
  EXPECT_FALSE(store_->close().is_ok());
  EXPECT_EQ(query("SELECT count(*) FROM notes"), 1);
}

TEST_F(StoreThreadTest, CloseDrainsAndDeliversWithoutTheLoopRunning) {
  open(&loop_);
  uint64_t durable = 0;
  store_->add_durable_callback([&](uint64_t ticket) { durable = ticket; });
  for (int i = 1; i <= 100; ++i) store_->submit(testing::insert_note(i), record());
  EXPECT_TRUE(store_->close().is_ok());
  ASSERT_EQ(reports_.size(), 100u);
  EXPECT_EQ(reports_.back().ticket, 100u);
  EXPECT_EQ(durable, 100u);
  EXPECT_EQ(store_->durable_ticket(), 100u);
  EXPECT_TRUE(store_->close().is_ok()) << "idempotent";
  // After close() nothing runs and nothing is reported.
  uint64_t refused = store_->submit(testing::insert_note(101), record());
  EXPECT_EQ(refused, 101u);
  EXPECT_EQ(store_->durable_ticket(), 100u);
  EXPECT_FALSE(store_->run_sync([](sqlite3*) { return Status::ok(); }).is_ok());
  EXPECT_EQ(reports_.size(), 100u);
  EXPECT_EQ(query("SELECT count(*) FROM notes"), 100);
}

TEST_F(StoreThreadTest, RunSyncSeesEverythingSubmittedBefore) {
  open(&loop_);
  for (int i = 1; i <= 20; ++i) store_->submit(testing::insert_note(i));
  Result<int64_t> count = Status::internal("not run");
  ASSERT_TRUE(store_
                  ->run_sync([&](sqlite3* db) {
                    count = sqlite::query_int(db, "SELECT count(*) FROM notes");
                    return Status::ok();
                  })
                  .is_ok());
  ASSERT_TRUE(count.is_ok());
  EXPECT_EQ(*count, 20);
}

TEST_F(StoreThreadTest, WithoutALoopFlushDeliversOnTheCallersThread) {
  open(nullptr);
  uint64_t durable = 0;
  store_->add_durable_callback([&](uint64_t ticket) { durable = ticket; });
  store_->submit(testing::insert_note(1), record());
  store_->submit(insert_then_fail(2), record());
  store_->flush();
  ASSERT_EQ(reports_.size(), 2u);
  EXPECT_TRUE(reports_[0].status.is_ok());
  EXPECT_FALSE(reports_[1].status.is_ok());
  EXPECT_EQ(durable, 2u);
}

TEST_F(StoreThreadTest, RemovedDurableCallbackIsNotCalled) {
  open(&loop_);
  int calls_a = 0, calls_b = 0;
  uint64_t a = store_->add_durable_callback([&](uint64_t) { ++calls_a; });
  store_->add_durable_callback([&](uint64_t) { ++calls_b; });
  store_->remove_durable_callback(a);
  store_->submit(testing::insert_note(1));
  ASSERT_TRUE(run_loop_until([&] { return calls_b == 1; }));
  EXPECT_EQ(calls_a, 0);
}

}  // namespace
}  // namespace topicdb::storage

namespace topicdb::storage {
namespace {

TEST_F(StoreThreadTest, CommitLatencyHistogramTimesEachCommittedGroup) {
  open(&loop_);
  // One group whose work takes at least 30 ms: its duration lands in a bucket above 25 ms.
  store_->submit(
      [](sqlite3* db) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        return sqlite::exec(db, "INSERT INTO notes VALUES(1, 'slow')");
      },
      record());
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 1; }));
  LatencyHistogram::Snapshot s = store_->commit_latency().snapshot();
  EXPECT_EQ(s.count(), store_->commits());
  EXPECT_EQ(s.count(), 1u);
  EXPECT_GE(s.sum_ns, 30'000'000u);
  size_t bucket = 0;
  while (s.counts[bucket] == 0) ++bucket;
  ASSERT_LT(bucket, LatencyHistogram::kBoundsNs.size());
  EXPECT_GT(LatencyHistogram::kBoundsNs[bucket], 25'000'000u);

  // Later groups (however they were batched) are each timed once.
  for (int i = 2; i <= 20; ++i) store_->submit(testing::insert_note(i), record());
  ASSERT_TRUE(run_loop_until([&] { return reports_.size() == 20; }));
  EXPECT_EQ(store_->commit_latency().snapshot().count(), store_->commits());
}

}  // namespace
}  // namespace topicdb::storage
