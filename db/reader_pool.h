// ReaderPool: read-only SQLite connections to the node's database (WAL: each read sees a
// committed snapshot and never blocks the writer), each on a thread of its own. Results
// come back to the loop thread through a uv_async_t, like StoreThread's.
#pragma once

#include <sqlite3.h>
#include <uv.h>

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

  static Result<std::unique_ptr<ReaderPool>> open(uv_loop_t* loop, const std::string& path,
                                                  int threads);
  ~ReaderPool();
  void submit(Work work, Done done);
  // Finishes queued work, joins the threads, delivers the last answers. Idempotent.
  void close();

 private:
  class Impl;
  explicit ReaderPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace topicdb::db
