// StoreThread: the node's one SQLite write connection (WAL) and the thread that runs it.
// Components (the broker state store, the document store) submit work from the loop thread;
// results come back to the loop thread.
//
// Group commit: the thread takes everything queued at once and runs it in one
// BEGIN IMMEDIATE ... COMMIT, and one sync of the sync thread covers every group committed
// before it began. Each submission runs in its own SAVEPOINT inside that transaction: one that
// fails is rolled back alone (ROLLBACK TO + RELEASE) and reported to its submitter, the others
// commit and the store keeps running. A failure of the group itself (BEGIN, COMMIT, or an
// error that made SQLite drop the transaction: I/O error, disk full) fails every submission
// of the group and turns health() non-ok for good; from then on submissions are reported
// failed without running and committed_ticket() stops (what committed before is still
// synced). A failed sync does the same and also stops durable_ticket(), since durability can
// no longer be promised.
//
// Tickets increase by one per submission. committed_ticket() is the highest ticket such that
// every submission up to it ran in a committed group; a submission that failed alone counts
// (it was processed, and later acknowledgements must not wait on it forever).
// durable_ticket() is the highest committed ticket that a sync to disk covers. In every mode
// COMMIT itself does not fsync: a sync thread fdatasyncs the WAL (none: and the database
// file) while the store thread runs the next group, and durable_ticket() advances to what was
// committed before that sync began. What differs (storage/durability.h, docs/durability.md):
// - immediate: synchronous=NORMAL; the sync starts as soon as a group commits, and
//   acknowledged_ticket() is durable_ticket(): nothing is acknowledged before it is on disk.
// - periodic, none: at most one sync per interval, about one interval after a commit;
//   acknowledged_ticket() is committed_ticket().
// WAL checkpoints run on a Checkpointer's thread and connection, never on the store thread.
// After each group the thread wakes the loop through a uv_async_t, whose callback runs, in
// ticket order, the Done of each submission whose ticket is acknowledged (or that failed),
// with its own Status, then the acknowledgement callbacks, then the durable callbacks; the
// sync thread wakes it the same way when durable_ticket() moves.
//
// Handle lifetime: the uv_async_t lives in its own heap block that close() hands to
// uv_close and whose close callback frees it, so close() itself never needs the loop to
// run (it may already have stopped at shutdown). The owner must run the loop once more
// after close() (uv_run(loop, UV_RUN_NOWAIT)) before uv_loop_close, to release that
// block. The async handle is unreferenced: the store alone does not keep the loop alive.
// `loop` may be null (tools): then Done and durable callbacks run only from flush() and
// close(), while the tickets still advance.
#pragma once

#include <sqlite3.h>
#include <uv.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/checkpointer.h"
#include "storage/durability.h"
#include "storage/latency_histogram.h"
#include "storage/schema_versions.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::storage {

struct StoreThreadOptions {
  // What a commit promises (see the file comment and docs/durability.md).
  Durability durability = Durability::kImmediate;
  // periodic and none: the shortest time between two syncs; a commit waits about this long
  // (plus the sync) for the sync that makes it durable.
  int durability_interval_ms = kDefaultDurabilityIntervalMs;
  // How long a statement waits for a lock held by another connection before failing.
  int busy_timeout_ms = 5000;
};

class StoreThread {
 public:
  using Options = StoreThreadOptions;
  // Runs on the store thread inside the submission's savepoint. A non-ok Status rolls back
  // everything it wrote (and only that).
  using Work = std::function<Status(sqlite3* db)>;
  // Runs on the loop thread once the submission is acknowledged (acknowledged_ticket()
  // covers it): ok; or once it failed: why. A submission whose group committed but whose
  // sync failed (immediate) gets the store's failure.
  using Done = std::function<void(uint64_t ticket, const Status& status)>;
  // Runs on the loop thread, after the Done callbacks, when its ticket advanced: an
  // acknowledgement callback gets acknowledged_ticket(), a durable callback durable_ticket().
  using DurableCallback = std::function<void(uint64_t ticket)>;

  // Opens (creating if needed) the database at `path`; the directory must exist. Checks
  // every component's schema version first (a file newer than this build is refused
  // untouched), then switches to WAL and runs pending migrations in one transaction. Call on
  // the loop thread.
  static Result<std::unique_ptr<StoreThread>> open(uv_loop_t* loop, const std::string& path,
                                                   const std::vector<ComponentSchema>& schemas,
                                                   Options options = {});

  ~StoreThread();
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  // Queues `work` (loop thread) and returns its ticket. After close() the work never runs,
  // its Done is never called and its ticket never becomes durable.
  uint64_t submit(Work work, Done done = nullptr);

  // The highest ticket handed out (0 before any submission).
  uint64_t last_ticket() const { return last_ticket_; }
  uint64_t committed_ticket() const { return committed_ticket_.load(std::memory_order_acquire); }
  uint64_t durable_ticket() const { return durable_ticket_.load(std::memory_order_acquire); }
  // What the configured mode acknowledges on (Done, the broker's PUBACK/PUBREC/SUBACK):
  // durable_ticket() in immediate mode, committed_ticket() otherwise.
  uint64_t acknowledged_ticket() const {
    return options_.durability == Durability::kImmediate ? durable_ticket() : committed_ticket();
  }
  // Registers a callback for durable_ticket() (one per component); the id removes it again.
  // What waits for a sync to disk uses it: $DB change events.
  uint64_t add_durable_callback(DurableCallback callback);
  // Registers a callback for acknowledged_ticket() (the broker's acknowledgements).
  uint64_t add_acknowledged_callback(DurableCallback callback);
  // Removes a callback added by either of the two.
  void remove_durable_callback(uint64_t id);

  // Waits until every submission so far was processed, then runs `fn` with the connection
  // on the caller's thread while the store thread is idle: start-up reads, statement
  // preparation. Delivers no results. Fails after close().
  Status run_sync(const std::function<Status(sqlite3* db)>& fn);
  // Waits until every submission so far was processed and synced, then runs the pending
  // Done, acknowledgement and durable callbacks on the caller's thread (the loop thread,
  // or a tool's only thread).
  void flush();

  // Drains the queue, joins the thread, starts closing the async handle (see the file
  // comment), delivers the last results and closes the database. Idempotent. Returns health().
  Status close();
  Status health() const;
  bool closed() const { return closed_; }

  // Committed transactions; with group commit this grows slower than tickets.
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // Submissions that failed alone (rolled back to their savepoint).
  uint64_t failed_submissions() const {
    return failed_submissions_.load(std::memory_order_relaxed);
  }
  // WAL checkpoints run by the checkpoint thread, by the store thread (the rest, before the
  // WAL restarts), and those that failed (the WAL kept the frames). See checkpointer.h.
  uint64_t checkpoints() const { return checkpointer_ ? checkpointer_->checkpoints() : 0; }
  uint64_t store_checkpoints() const {
    return checkpointer_ ? checkpointer_->store_checkpoints() : 0;
  }
  uint64_t failed_checkpoints() const {
    return checkpointer_ ? checkpointer_->failed_checkpoints() : 0;
  }
  // Syncs to disk done by the sync thread.
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }
  // The longest of those syncs so far, in microseconds: what bounds the durable lag beyond
  // the interval.
  uint64_t longest_sync_us() const { return longest_sync_us_.load(std::memory_order_relaxed); }
  // How long each committed group took on the store thread, BEGIN IMMEDIATE through COMMIT
  // (the submissions' work; the sync runs on the sync thread): /metrics' histogram.
  const LatencyHistogram& commit_latency() const { return commit_latency_; }
  Durability durability() const { return options_.durability; }
  // Tests: points the sync thread's WAL descriptor at /dev/null, so its next fdatasync
  // really fails (EINVAL), as it would on a disk that stopped accepting writes.
  void break_sync_for_testing();
  const std::string& path() const { return path_; }

 private:
  struct Submission {
    uint64_t ticket;
    Work work;
    Done done;
  };
  struct Outcome {
    uint64_t ticket;
    Status status;
    Done done;
  };
  enum Statement : size_t {
    kBegin,
    kCommit,
    kRollback,
    kSavepoint,
    kRelease,
    kRollbackTo,
    kStatementCount,
  };
  struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };

  using CallbackList = std::vector<std::pair<uint64_t, DurableCallback>>;

  StoreThread(std::unique_ptr<sqlite3, DbCloser> db, std::string path, Options options);

  Status prepare_statements();
  Status open_sync_files();
  Status start(uv_loop_t* loop);
  void run();        // the store thread
  void run_syncs();  // the sync thread
  Status sync_files();
  void wake_syncer();
  // Asks for a sync now and waits until durable_ticket() covers committed_ticket().
  void wait_durable();
  static void run_callbacks(const CallbackList& list, uint64_t ticket);
  // Runs one group in one transaction and fills `statuses`; false if the group failed as a
  // whole (then every status is the group's failure).
  bool run_group(std::vector<Submission>& group, std::vector<Status>& statuses);
  // One submission in its savepoint; false if the transaction itself is lost.
  bool run_one(Submission& submission, Status* status);
  int step(Statement statement);
  void fail(const Status& status);
  void wait_idle();
  void deliver();  // loop thread
  static void on_async(uv_async_t* handle);

  const std::string path_;
  const Options options_;

  // Store-thread side (guarded by db_mu_; run_sync() and close() take it while the thread
  // is idle or gone, which keeps the connection single-user at any moment).
  std::mutex db_mu_;
  std::unique_ptr<sqlite3, DbCloser> db_;
  std::array<sqlite::StatementPtr, kStatementCount> statements_;
  // Its own thread and connection; closed before db_, which must be the last connection
  // (it checkpoints everything and removes the WAL when it closes).
  std::unique_ptr<Checkpointer> checkpointer_;

  // Shared between the loop thread and the store thread.
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // queue became non-empty, or stop_
  std::condition_variable idle_cv_;  // processed_ticket_ advanced
  std::vector<Submission> queue_;
  std::vector<Outcome> outcomes_;  // processed, Done not yet run
  bool stop_ = false;
  uint64_t processed_ticket_ = 0;  // highest ticket the thread ran or refused
  Status health_;

  std::atomic<bool> failed_{false};
  std::atomic<bool> sync_failed_{false};  // an fdatasync failed (set after health_)
  std::atomic<uint64_t> committed_ticket_{0};
  std::atomic<uint64_t> durable_ticket_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> longest_sync_us_{0};  // written by the sync thread only
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> failed_submissions_{0};
  LatencyHistogram commit_latency_;  // written by the store thread only
  std::thread thread_;

  // The sync thread: fds of its own on the WAL and, in none, the database file; fdatasync on any fd
  // of a file flushes every write to it, SQLite's included.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;       // a commit to sync, a sync asked for, or stopping
  std::condition_variable sync_done_cv_;  // a sync finished (or failed)
  bool sync_requested_ = false;           // guarded by sync_mu_
  bool sync_stop_ = false;                // guarded by sync_mu_
  bool sync_idle_ = false;                // guarded by sync_mu_: waiting for a commit
  int wal_fd_ = -1;
  int db_fd_ = -1;
  std::thread sync_thread_;
  // Heap block freed by its uv_close callback; null when there is no loop or after close().
  uv_async_t* async_ = nullptr;

  // Loop-thread only.
  uint64_t last_ticket_ = 0;
  uint64_t queued_ticket_ = 0;          // highest ticket actually handed to the thread
  uint64_t reported_acknowledged_ = 0;  // highest acknowledged ticket passed to the callbacks
  uint64_t reported_ticket_ = 0;        // highest durable ticket passed to the callbacks
  uint64_t next_callback_id_ = 1;
  CallbackList acknowledged_callbacks_;
  CallbackList durable_callbacks_;
  bool closed_ = false;
  bool warned_refused_ = false;
};

}  // namespace topicdb::storage
