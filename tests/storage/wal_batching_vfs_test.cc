// The WAL batching VFS: what a commit through it wrote is in the WAL file when COMMIT
// returns (another connection reads it, a copy of the files taken then recovers it), large
// and spilled transactions and rollbacks come out right, and the backstop never has work
// (real SQLite files).
#include "storage/wal_batching_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "storage/sqlite_helpers.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::storage {
namespace {

namespace fs = std::filesystem;

class WalBatchingVfsTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    Result<const char*> vfs = wal_batching_vfs();
    ASSERT_TRUE(vfs.is_ok()) << vfs.status().to_string();
    ASSERT_EQ(
        sqlite3_open_v2(path_.c_str(), &writer_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, *vfs),
        SQLITE_OK);
    // No automatic checkpoint: the frames must be read from the WAL file itself.
    exec(writer_,
         "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
         "PRAGMA wal_autocheckpoint = 0; CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &reader_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    backstop_before_ = wal_batching_stats().backstop_flushes;
  }
  void before_loop_close() override {
    sqlite3_close(reader_);
    sqlite3_close(writer_);
  }

  static void exec(sqlite3* db, const char* sql) {
    Status status = sqlite::exec(db, sql);
    ASSERT_TRUE(status.is_ok()) << sql << ": " << status.to_string();
  }

  // count(*) and the sum of the blob lengths, as `db` reads them.
  static std::pair<int64_t, int64_t> totals(sqlite3* db) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(
        sqlite3_prepare_v2(db, "SELECT count(*), total(length(v)) FROM t", -1, &stmt, nullptr),
        SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    std::pair<int64_t, int64_t> out{sqlite3_column_int64(stmt, 0),
                                    static_cast<int64_t>(sqlite3_column_double(stmt, 1))};
    sqlite3_finalize(stmt);
    return out;
  }

  static std::string integrity(sqlite3* db) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
    std::string out = sqlite3_step(stmt) == SQLITE_ROW
                          ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))
                          : "no answer";
    sqlite3_finalize(stmt);
    return out;
  }

  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
  uint64_t backstop_before_ = 0;
};

TEST_F(WalBatchingVfsTest, EachCommitIsInTheWalFileWhenCommitReturns) {
  uint64_t flushes_before = wal_batching_stats().flushes;
  for (int i = 0; i < 50; ++i) {
    exec(writer_, "BEGIN");
    for (int j = 0; j < 20; ++j) exec(writer_, "INSERT INTO t(v) VALUES(randomblob(300))");
    exec(writer_, "COMMIT");
    // The reader has its own descriptor: it sees only what reached the file.
    ASSERT_EQ(totals(reader_), std::make_pair(int64_t{20} * (i + 1), int64_t{6000} * (i + 1)));
  }
  EXPECT_EQ(integrity(reader_), "ok");
  WalBatchingStats stats = wal_batching_stats();
  EXPECT_GE(stats.flushes - flushes_before, 50u) << "one flush per commit at least";
  EXPECT_EQ(stats.backstop_flushes, backstop_before_);
}

TEST_F(WalBatchingVfsTest, ACopyOfTheFilesTakenAfterCommitRecoversEveryCommittedRow) {
  exec(writer_, "BEGIN");
  for (int j = 0; j < 200; ++j) exec(writer_, "INSERT INTO t(v) VALUES(randomblob(1000))");
  exec(writer_, "COMMIT");
  exec(writer_, "INSERT INTO t(v) VALUES(randomblob(10))");
  // As a crash right now would leave them: the writer is still open, nothing checkpointed.
  std::string copy = dir_ + "/copy.sqlite3";
  fs::copy_file(path_, copy);
  fs::copy_file(path_ + "-wal", copy + "-wal");
  sqlite3* recovered = nullptr;
  ASSERT_EQ(sqlite3_open(copy.c_str(), &recovered), SQLITE_OK);
  EXPECT_EQ(totals(recovered), std::make_pair(int64_t{201}, int64_t{200'010}));
  EXPECT_EQ(integrity(recovered), "ok");
  sqlite3_close(recovered);
}

TEST_F(WalBatchingVfsTest, LargeAndSpilledTransactionsAndRollbacksComeOutRight) {
  // A tiny page cache makes SQLite spill frames mid-transaction; 12 MB is past the buffer,
  // and each flush past the 128 KiB the unix VFS writes at once.
  exec(writer_, "PRAGMA cache_size = 10");
  exec(writer_, "BEGIN");
  for (int j = 0; j < 12; ++j) exec(writer_, "INSERT INTO t(v) VALUES(randomblob(1000000))");
  exec(writer_, "COMMIT");
  EXPECT_EQ(totals(reader_), std::make_pair(int64_t{12}, int64_t{12'000'000}));

  // Spilled frames of a transaction that then rolls back are never seen, and the next
  // commit's frames (written over them) are.
  exec(writer_, "BEGIN");
  for (int j = 0; j < 3; ++j) exec(writer_, "INSERT INTO t(v) VALUES(randomblob(500000))");
  exec(writer_, "ROLLBACK");
  EXPECT_EQ(totals(reader_), std::make_pair(int64_t{12}, int64_t{12'000'000}));
  exec(writer_, "BEGIN");
  exec(writer_, "SAVEPOINT s");
  exec(writer_, "INSERT INTO t(v) VALUES(randomblob(400000))");
  exec(writer_, "ROLLBACK TO s");
  exec(writer_, "RELEASE s");
  exec(writer_, "INSERT INTO t(v) VALUES(randomblob(7))");
  exec(writer_, "COMMIT");
  EXPECT_EQ(totals(reader_), std::make_pair(int64_t{13}, int64_t{12'000'007}));
  EXPECT_EQ(integrity(reader_), "ok");

  // The WAL starts over after a full checkpoint; the frames written from its start are read.
  exec(writer_, "PRAGMA wal_checkpoint(RESTART)");
  exec(writer_, "INSERT INTO t(v) VALUES(randomblob(3))");
  EXPECT_EQ(totals(reader_), std::make_pair(int64_t{14}, int64_t{12'000'010}));
  EXPECT_EQ(integrity(reader_), "ok");
  EXPECT_EQ(wal_batching_stats().backstop_flushes, backstop_before_);
}

// With a small page cache a transaction spills pages, changes some of them again and writes
// them over their own frames; at commit SQLite then rewrites those frames' headers (new
// checksums), the commit frame's last, with no page after it.
TEST_F(WalBatchingVfsTest, ATransactionThatRewritesItsSpilledFramesLeavesNothingForTheBackstop) {
  exec(writer_, "PRAGMA cache_size = 50");
  exec(writer_, "CREATE INDEX t_v ON t(v)");
  for (int round = 0; round < 5; ++round) {
    exec(writer_, "BEGIN");
    for (int j = 0; j < 1000; ++j) exec(writer_, "INSERT INTO t(v) VALUES(randomblob(300))");
    exec(writer_, "COMMIT");
    ASSERT_EQ(totals(reader_),
              std::make_pair(int64_t{1000} * (round + 1), int64_t{300'000} * (round + 1)));
  }
  EXPECT_EQ(integrity(reader_), "ok");
  EXPECT_EQ(wal_batching_stats().backstop_flushes, backstop_before_);
}

}  // namespace
}  // namespace topicdb::storage
