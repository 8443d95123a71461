// PLACEHOLDER (store branch only; the integrator drops this file when merging QUERY's
// db/reader_pool.cc and db/reads.cc): a one-thread ReaderPool and a bare run_read, so the
// store branch links and its tests can read.
#include <sqlite3.h>
#include <uv.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "db/reader_pool.h"
#include "db/reads.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

class ReaderPool::Impl {
 public:
  struct Job {
    Work work;
    Done done;
    Answer answer;
  };
  sqlite3* db = nullptr;
  uv_async_t* async = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> queue;
  std::deque<Job> finished;
  bool stop = false;
  bool closed = false;
  std::thread thread;

  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return stop || !queue.empty(); });
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
      job.answer = job.work(db);
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      {
        std::lock_guard lock(mu);
        finished.push_back(std::move(job));
      }
      uv_async_send(async);
    }
  }
  void deliver() {
    std::deque<Job> jobs;
    {
      std::lock_guard lock(mu);
      jobs.swap(finished);
    }
    for (Job& job : jobs) job.done(std::move(job.answer));
  }
};

Result<std::unique_ptr<ReaderPool>> ReaderPool::open(uv_loop_t* loop, const std::string& path,
                                                     int /*threads*/) {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(impl->db);
    return Status::io_error("cannot open reader");
  }
  sqlite3_busy_timeout(impl->db, 5000);
  impl->async = new uv_async_t;
  uv_async_init(loop, impl->async,
                [](uv_async_t* handle) { static_cast<Impl*>(handle->data)->deliver(); });
  impl->async->data = impl.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(impl->async));
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<ReaderPool>(new ReaderPool(std::move(impl)));
}

ReaderPool::ReaderPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReaderPool::~ReaderPool() { close(); }

void ReaderPool::submit(Work work, Done done) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.push_back({std::move(work), std::move(done), {}});
  }
  impl_->cv.notify_one();
}

void ReaderPool::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_one();
  impl_->thread.join();
  uv_close(reinterpret_cast<uv_handle_t*>(impl_->async),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
  impl_->deliver();
  sqlite3_close(impl_->db);
}

Answer run_read(sqlite3* db, const Request& request, int64_t now_ms) {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT body FROM db_records WHERE entity=?1 AND id=?2 AND "
                     "(expires_at_ms IS NULL OR expires_at_ms > ?3)",
                     -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, request.entity.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, request.id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 3, now_ms);
  Answer answer = Answer::not_found("record not found");
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    answer = Answer::ok(Json::parse(storage::sqlite::column_bytes(stmt, 0), nullptr, false));
  }
  sqlite3_finalize(stmt);
  return answer;
}

Answer run_list(sqlite3*, const Request&, const QueryLimits&, int64_t) {
  return Answer::unavailable("list: placeholder (QUERY's db/reads.cc replaces this file)");
}

}  // namespace topicdb::db
