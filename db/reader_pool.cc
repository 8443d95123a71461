#include "db/reader_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "base/log.h"
#include "db/statement_cache.h"

namespace topicdb::db {

namespace {

constexpr int kBusyTimeoutMs = 5000;
// Most reads one reader runs in one transaction.
constexpr size_t kMaxBatch = 32;

Answer sqlite_failure(sqlite3* db, std::string_view what) {
  return Answer::unavailable(fmt::format("database: {}: {}", what, sqlite3_errmsg(db)));
}

}  // namespace

class ReaderPool::Impl {
 public:
  struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
  struct Job {
    Work work;
    Done done;
  };
  struct Outcome {
    Answer answer;
    Done done;
  };

  Impl(uv_loop_t* loop, std::vector<DbPtr> dbs) : loop_(loop), dbs_(std::move(dbs)) {}
  ~Impl() { close(); }

  Status start() {
    async_ = new uv_async_t;  // freed by the uv_close callback in close()
    int rc = uv_async_init(loop_, async_, &Impl::on_async);
    if (rc != 0) {
      delete async_;
      async_ = nullptr;
      return Status::internal(fmt::format("database readers: uv_async_init: {}", uv_strerror(rc)));
    }
    async_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    for (DbPtr& db : dbs_) threads_.emplace_back([this, raw = db.get()] { run(raw); });
    return Status::ok();
  }

  void submit(Work work, Done done) {
    if (closed_) {
      if (done) done(Answer::unavailable("database: readers are closed"));
      return;
    }
    ++in_flight_;
    bool wake;
    {
      std::lock_guard lock(mu_);
      queue_.push_back({std::move(work), std::move(done)});
      wake = idle_ > 0;
    }
    // Busy readers look at the queue again before they sleep: no wake-up (a syscall) needed.
    if (wake) work_cv_.notify_one();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    std::deque<Job> refused;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      refused.swap(queue_);
      for (Job& job : refused) {
        outcomes_.push_back({Answer::unavailable("database: shutting down"), std::move(job.done)});
      }
    }
    work_cv_.notify_all();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    if (async_ != nullptr) {
      // No uv_async_send can follow (the threads are gone); the close callback frees it.
      uv_close(reinterpret_cast<uv_handle_t*>(async_),
               [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
      async_ = nullptr;
    }
    deliver();
    dbs_.clear();
  }

  size_t in_flight() const { return in_flight_; }
  uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }
  size_t queued() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  // A reader thread: its own statement cache on its own connection.
  void run(sqlite3* db) {
    StatementCache cache(db);
    StatementCache::ThreadBinding binding(&cache);
    std::vector<Job> jobs;
    std::vector<Outcome> outcomes;
    for (;;) {
      bool wake_another = false;
      {
        std::unique_lock lock(mu_);
        ++idle_;
        work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        --idle_;
        if (queue_.empty()) return;  // stopping; close() took what was left
        // A share of the queue, run in one transaction and answered with one wake-up of the
        // loop: BEGIN/COMMIT and the wake-up cost as much as a point read. Idle readers keep
        // a share of their own.
        const size_t take = std::min(
            kMaxBatch, std::max<size_t>(1, queue_.size() / (static_cast<size_t>(idle_) + 1)));
        for (size_t i = 0; i < take; ++i) {
          jobs.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        wake_another = !queue_.empty() && idle_ > 0;
      }
      if (wake_another) work_cv_.notify_one();
      run_batch(db, jobs, &outcomes);
      jobs.clear();  // what the closures own dies on this thread
      completed_.fetch_add(outcomes.size(), std::memory_order_relaxed);
      {
        std::lock_guard lock(mu_);
        for (Outcome& outcome : outcomes) outcomes_.push_back(std::move(outcome));
      }
      outcomes.clear();
      uv_async_send(async_);
    }
  }

  // One read transaction for the whole batch. Its snapshot is taken after every job in it
  // was submitted (they were all queued when the reader took them), so each still sees the
  // writes answered before it was submitted. A job whose failure ended the transaction
  // leaves the next one to begin another.
  static void run_batch(sqlite3* db, std::vector<Job>& jobs, std::vector<Outcome>* outcomes) {
    for (Job& job : jobs) {
      Answer answer;
      if (sqlite3_get_autocommit(db) != 0 && !begin(db)) {
        answer = sqlite_failure(db, "BEGIN");
      } else {
        answer = run_one(db, job.work);
      }
      job.work = nullptr;
      outcomes->push_back({std::move(answer), std::move(job.done)});
    }
    if (sqlite3_get_autocommit(db) == 0) {
      Statement commit = Statement::prepare(db, "COMMIT");
      if (!commit || sqlite3_step(commit.get()) != SQLITE_DONE) {
        // A read transaction has nothing to lose; ROLLBACK just ends it.
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
  }

  static bool begin(sqlite3* db) {
    Statement begin = Statement::prepare(db, "BEGIN");
    return begin && sqlite3_step(begin.get()) == SQLITE_DONE;
  }

  static Answer run_one(sqlite3* db, const Work& work) {
    try {
      return work(db);
    } catch (const std::exception& e) {
      // Library exceptions (json) stop here: no exception crosses the reader thread.
      log::error("database readers: a read failed: {}", e.what());
      return Answer::unavailable(fmt::format("database: read failed: {}", e.what()));
    }
  }

  static void on_async(uv_async_t* handle) { static_cast<Impl*>(handle->data)->deliver(); }

  void deliver() {
    std::vector<Outcome> outcomes;  // local: a Done may submit again
    {
      std::lock_guard lock(mu_);
      outcomes.swap(outcomes_);
    }
    in_flight_ -= outcomes.size();
    for (Outcome& outcome : outcomes) {
      if (outcome.done) outcome.done(std::move(outcome.answer));
    }
  }

  uv_loop_t* loop_;
  std::vector<DbPtr> dbs_;
  std::vector<std::thread> threads_;
  uv_async_t* async_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Job> queue_;
  std::vector<Outcome> outcomes_;
  bool stop_ = false;
  int idle_ = 0;  // readers waiting for work
  std::atomic<uint64_t> completed_{0};

  // Loop thread only.
  bool closed_ = false;
  size_t in_flight_ = 0;
};

Result<std::unique_ptr<ReaderPool>> ReaderPool::open(uv_loop_t* loop, const std::string& path,
                                                     int threads) {
  if (loop == nullptr) return Status::invalid_argument("database readers need a loop");
  std::vector<Impl::DbPtr> dbs;
  for (int i = 0; i < std::max(threads, 1); ++i) {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    Impl::DbPtr db(raw);
    if (rc != SQLITE_OK) {
      return Status::io_error(fmt::format("database readers: cannot open {}: {}", path,
                                          raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    dbs.push_back(std::move(db));
  }
  auto impl = std::make_unique<Impl>(loop, std::move(dbs));
  TDB_RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<ReaderPool>(new ReaderPool(std::move(impl)));
}

ReaderPool::ReaderPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReaderPool::~ReaderPool() { close(); }
void ReaderPool::submit(Work work, Done done) { impl_->submit(std::move(work), std::move(done)); }
void ReaderPool::close() { impl_->close(); }
size_t ReaderPool::in_flight() const { return impl_->in_flight(); }
uint64_t ReaderPool::completed() const { return impl_->completed(); }
size_t ReaderPool::queued() const { return impl_->queued(); }

}  // namespace topicdb::db
