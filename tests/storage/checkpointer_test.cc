// Checkpointer: the WAL is copied into the database file by its own thread as it grows, the
// watched connection copies the rest at kStoreCheckpointThresholds thresholds so the WAL
// starts over, and it never
// checkpoints by itself otherwise (real SQLite files, bounded waits).
#include "storage/checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "storage/sqlite_helpers.h"
#include "storage/store_thread.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::storage {
namespace {

class CheckpointerTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_EQ(sqlite3_open(path_.c_str(), &writer_), SQLITE_OK);
    ASSERT_TRUE(sqlite::exec(writer_, "PRAGMA journal_mode = WAL").is_ok());
    ASSERT_TRUE(sqlite::exec(writer_, "CREATE TABLE blobs(b BLOB)").is_ok());
  }
  void before_loop_close() override {
    checkpointer_.reset();  // first: the writer must be the last connection
    sqlite3_close(writer_);
  }

  void start(int threshold_frames) {
    auto started = Checkpointer::start(path_, Durability::kImmediate, threshold_frames);
    ASSERT_TRUE(started.is_ok()) << started.status().to_string();
    checkpointer_ = std::move(started).value();
    checkpointer_->watch(writer_);
    database_bytes_before_ = std::filesystem::file_size(path_);
  }

  // `count` commits of one 16 KB row each (about 5 WAL frames per commit).
  void write_rows(int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(sqlite::exec(writer_, "INSERT INTO blobs VALUES(zeroblob(16000))").is_ok());
    }
  }

  // Polls `done` for up to 5 s.
  static bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  sqlite3* writer_ = nullptr;
  std::unique_ptr<Checkpointer> checkpointer_;
  uintmax_t database_bytes_before_ = 0;
};

TEST_F(CheckpointerTest, CopiesTheWalIntoTheDatabaseFileOncePastTheThreshold) {
  start(/*threshold_frames=*/50);
  write_rows(30);  // ~150 frames, ~480 KB: three thresholds, all for the background
  ASSERT_TRUE(eventually([&] { return checkpointer_->checkpoints() >= 1; }));
  EXPECT_EQ(checkpointer_->failed_checkpoints(), 0u);
  EXPECT_EQ(checkpointer_->store_checkpoints(), 0u) << "below the store's thresholds";
  // The rows' pages reached the database file itself, not only the WAL.
  EXPECT_TRUE(eventually([&] {
    return std::filesystem::file_size(path_) > database_bytes_before_ + 400'000;
  })) << std::filesystem::file_size(path_)
      << " bytes";
}

TEST_F(CheckpointerTest, AtTheStoreThresholdsTheWriterCopiesTheRestAndTheWalStartsOver) {
  constexpr int kThreshold = 50;
  constexpr uintmax_t kStoreFrames = Checkpointer::kStoreCheckpointThresholds * kThreshold;
  start(kThreshold);
  write_rows(3 * kStoreFrames / 5);  // ~3 times the store's frames: the WAL would keep growing
  EXPECT_GE(checkpointer_->store_checkpoints(), 1u);
  EXPECT_EQ(checkpointer_->failed_checkpoints(), 0u);
  // The store's thresholds, plus the commit that crossed them, plus what commits add while a
  // busy background checkpoint holds the lock: well below 3 times as many frames of 4,120
  // bytes.
  EXPECT_LT(std::filesystem::file_size(path_ + "-wal"), kStoreFrames * 3 / 2 * 4120u);
  EXPECT_EQ(query("SELECT count(*) FROM blobs"), static_cast<int64_t>(3 * kStoreFrames / 5));
}

TEST_F(CheckpointerTest, TheWatchedConnectionNoLongerCheckpointsByItself) {
  start(/*threshold_frames=*/1 << 30);
  write_rows(300);  // ~1,500 frames: SQLite's automatic checkpoint would run at 1,000
  EXPECT_EQ(checkpointer_->checkpoints(), 0u);
  EXPECT_EQ(checkpointer_->store_checkpoints(), 0u);
  EXPECT_EQ(std::filesystem::file_size(path_), database_bytes_before_)
      << "something copied the WAL into the database file";
  EXPECT_GT(std::filesystem::file_size(path_ + "-wal"), 1000u * 4096u);
}

TEST_F(CheckpointerTest, TheStoreThreadsWalIsCheckpointedAndTheDataStaysReadable) {
  sqlite3_close(writer_);  // the store's own connection writes here
  writer_ = nullptr;
  auto opened = StoreThread::open(&loop_, path_, {testing::notes_schema()});
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  std::unique_ptr<StoreThread> store = std::move(opened).value();
  bool done = false;
  // One group of ~1,300 pages: past the 1,000-page threshold in one commit.
  store->submit(
      [](sqlite3* db) {
        return sqlite::exec(db,
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                            "WHERE i < 1200) INSERT INTO notes SELECT i, hex(zeroblob(2000)) "
                            "FROM n");
      },
      [&](uint64_t, const Status& status) {
        EXPECT_TRUE(status.is_ok()) << status.to_string();
        done = true;
      });
  ASSERT_TRUE(run_loop_until([&] { return done; }));
  ASSERT_TRUE(run_loop_until([&] { return store->checkpoints() >= 1; }));
  EXPECT_EQ(store->failed_checkpoints(), 0u);
  EXPECT_EQ(query("SELECT count(*) FROM notes"), 1200);
  EXPECT_TRUE(store->close().is_ok());
  EXPECT_EQ(query("SELECT count(*) FROM notes"), 1200) << "after the last connection closed";
}

}  // namespace
}  // namespace topicdb::storage
