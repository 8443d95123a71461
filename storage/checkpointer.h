// Checkpointer: copies the WAL back into the database file on a thread and connection of its
// own, so the store thread rarely has to. SQLite's automatic checkpoint would run inside the
// COMMIT of whichever group took the WAL past 1,000 pages: the store thread would read those
// frames, write them into the database file and (synchronous=NORMAL) fsync both files while
// every write of the node waits. Here the store connection reports the WAL's size after each
// commit (a SQLite WAL hook, which also turns the automatic checkpoint off) and this thread
// runs a PASSIVE checkpoint each time the WAL grows by another threshold's worth of pages. A
// PASSIVE checkpoint never blocks the writer, which keeps appending.
//
// Under a steady stream of commits the background never catches up with the last frames, and
// SQLite only starts the WAL over once every frame is back in the database file: the WAL
// would grow without bound (measured: 120 MB in a few seconds of constrained creates) and
// the same pages would be copied again and again. So once the WAL reaches
// kStoreCheckpointThresholds thresholds the store connection checkpoints itself in the hook,
// as the automatic checkpoint would: by then most frames are already copied, so it copies
// only the rest, and the next commit restarts the WAL from its start.
//
// The checkpoint connection's synchronous level follows the durability mode, so a checkpoint
// syncs the WAL before and the database file after copying, as the store's own would
// (docs/durability.md). A failed checkpoint loses nothing: the frames stay in the WAL, which
// stays the newer copy, and a later checkpoint tries again; it is logged and counted.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "storage/durability.h"

namespace topicdb::storage {

class Checkpointer {
 public:
  // SQLite's own default for its automatic checkpoint (PRAGMA wal_autocheckpoint).
  static constexpr int kDefaultThresholdFrames = 1000;
  // At this many thresholds the store connection copies the rest itself (see above). That
  // checkpoint reaches the WAL's end, so SQLite also syncs the database file there, on the
  // store thread, flushing every page the background copied since the last one. At 4 it ran
  // every ~33 group commits of constrained creates (perf trace of one db_constraints run:
  // 60 of them, 250-310 ms of fdatasync and ~35k preads and pwrites on the store thread); at
  // 16, 15 of them, ~175 ms and ~16k. The price: the WAL grows to ~16,000 pages (64 MB of
  // 4 KiB pages) before it starts over.
  static constexpr int kStoreCheckpointThresholds = 16;

  // Opens its connection to the database at `path` (which must exist, in WAL mode) and
  // starts the thread.
  static Result<std::unique_ptr<Checkpointer>> start(
      const std::string& path, Durability durability,
      int threshold_frames = kDefaultThresholdFrames);
  // Stops the thread (after the checkpoint it is running, if any) and closes the connection.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Makes `db` (the store's write connection) report its WAL size here after each commit.
  // Replaces SQLite's automatic checkpoint on that connection. Call before it writes.
  void watch(sqlite3* db);

  // Checkpoints run on this thread, on the store thread (the WAL's rest, before a restart),
  // and those that failed (other than being busy).
  uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }
  uint64_t store_checkpoints() const { return store_checkpoints_.load(std::memory_order_relaxed); }
  uint64_t failed_checkpoints() const { return failed_.load(std::memory_order_relaxed); }

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  Checkpointer(std::unique_ptr<sqlite3, DbCloser> db, int threshold_frames);

  // The WAL hook (store thread): wakes this thread each time the WAL grows by a threshold;
  // at kStoreCheckpointThresholds thresholds checkpoints `db` itself.
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_frames);
  void run();
  // A PASSIVE checkpoint on `db`; false if it failed (busy is not a failure).
  bool checkpoint(sqlite3* db);

  std::unique_ptr<sqlite3, DbCloser> db_;  // this thread's own connection
  const int threshold_frames_;
  int woken_at_thresholds_ = 0;  // store thread: WAL size / threshold when last woken
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> store_checkpoints_{0};
  std::atomic<uint64_t> failed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;   // guarded by mu_: the WAL crossed the threshold
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace topicdb::storage
