#include "storage/checkpointer.h"

#include <fmt/format.h>

#include "base/log.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::storage {

Result<std::unique_ptr<Checkpointer>> Checkpointer::start(const std::string& path,
                                                          Durability durability,
                                                          int threshold_frames) {
  sqlite3* raw = nullptr;
  // NOMUTEX: only the checkpoint thread uses this connection.
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) {
    return Status::io_error(fmt::format("database: cannot open {} for checkpoints: {}", path,
                                        raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_extended_result_codes(raw, 1);
  // The checkpoint's syncs are this connection's: the same level as the store's.
  TDB_RETURN_IF_ERROR(sqlite::exec(raw, durability == Durability::kNone
                                            ? "PRAGMA synchronous = OFF"
                                            : "PRAGMA synchronous = NORMAL"));
  std::unique_ptr<Checkpointer> checkpointer(new Checkpointer(std::move(db), threshold_frames));
  checkpointer->thread_ = std::thread([self = checkpointer.get()] { self->run(); });
  return checkpointer;
}

Checkpointer::Checkpointer(std::unique_ptr<sqlite3, DbCloser> db, int threshold_frames)
    : db_(std::move(db)), threshold_frames_(threshold_frames) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Checkpointer::watch(sqlite3* db) { sqlite3_wal_hook(db, &Checkpointer::on_commit, this); }

int Checkpointer::on_commit(void* self, sqlite3* db, const char* /*schema*/, int wal_frames) {
  auto* checkpointer = static_cast<Checkpointer*>(self);
  int thresholds = wal_frames / checkpointer->threshold_frames_;
  if (thresholds >= kStoreCheckpointThresholds) {
    // What the background copied is not copied again; the rest is, and the next commit
    // restarts the WAL.
    if (checkpointer->checkpoint(db)) {
      checkpointer->store_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    }
    checkpointer->woken_at_thresholds_ = 0;
  } else if (thresholds > checkpointer->woken_at_thresholds_) {
    checkpointer->woken_at_thresholds_ = thresholds;
    {
      std::lock_guard lock(checkpointer->mu_);
      checkpointer->due_ = true;
    }
    checkpointer->cv_.notify_one();
  } else if (thresholds == 0) {
    checkpointer->woken_at_thresholds_ = 0;  // the WAL started over
  }
  return SQLITE_OK;  // the commit itself is never failed here
}

void Checkpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || due_; });
    if (stop_) return;
    due_ = false;
    lock.unlock();
    if (checkpoint(db_.get())) checkpoints_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
  }
}

bool Checkpointer::checkpoint(sqlite3* db) {
  int wal_frames = 0;
  int copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
  if (rc == SQLITE_OK) return true;
  if ((rc & 0xff) == SQLITE_BUSY) return false;  // another checkpoint holds the lock: it copies
  uint64_t failed = failed_.fetch_add(1, std::memory_order_relaxed) + 1;
  // A failing disk fails every later attempt too: log the first failure and every 100th.
  if (failed == 1 || failed % 100 == 0) {
    log::warn("database: checkpoint failed ({} so far; the WAL keeps the frames): {} ({})", failed,
              sqlite3_errmsg(db), rc);
  }
  return false;
}

}  // namespace topicdb::storage
