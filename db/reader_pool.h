// ReaderPool: read-only SQLite connections to the node's database (WAL: each read sees a
// committed snapshot and never blocks the writer), each on a thread of its own. Results
// come back to the loop thread through a uv_async_t, like StoreThread's.
//
// Work goes into one queue that every reader takes from (the first idle reader takes the
// next items, up to a batch), each batch in one BEGIN ... COMMIT: one snapshot, taken after
// its items were submitted, so a read submitted after a write's answer sees that write. Each
// connection keeps its prepared statements (StatementCache), bound to its thread while the Work
// runs.
//
// Handle lifetime as StoreThread's: the uv_async_t is a heap block freed by its uv_close
// callback and is unreferenced (the pool alone does not keep the loop alive); the owner runs
// the loop once more after close() (uv_run(loop, UV_RUN_NOWAIT)) before uv_loop_close.
#pragma once

#include <sqlite3.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "db/answer.h"

namespace topicdb::db {

class ReaderPool {
 public:
  // Runs on a reader thread inside one read transaction (one snapshot).
  using Work = std::function<Answer(sqlite3* db)>;
  // Runs on the loop thread.
  using Done = std::function<void(Answer)>;

  // Opens `threads` (at least 1) read-only connections to `path`, whose tables the writer
  // (StoreThread, WAL) already created. Call on the loop thread.
  static Result<std::unique_ptr<ReaderPool>> open(uv_loop_t* loop, const std::string& path,
                                                  int threads);
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Queues `work` (loop thread). After close(), `done` gets a 503 at once, from this call.
  void submit(Work work, Done done);
  // Work already running finishes; work still queued is answered 503 without running; joins
  // the threads, delivers the last answers on the calling (loop) thread, closes the
  // connections. Idempotent.
  void close();

  // Submitted and not yet delivered (loop thread).
  size_t in_flight() const;
  // Work items run so far, over every reader (any thread).
  uint64_t completed() const;
  // Work items waiting for a reader (any thread).
  size_t queued() const;

 private:
  class Impl;
  explicit ReaderPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace topicdb::db
