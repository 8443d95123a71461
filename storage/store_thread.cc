#include "storage/store_thread.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>

#include "base/log.h"
#include "storage/wal_batching_vfs.h"

namespace topicdb::storage {

using sqlite::column_bytes;
using sqlite::exec;
using sqlite::sqlite_status;
using sqlite::step_write;

namespace {

// Indexed by StoreThread::Statement. One savepoint name suffices: savepoints of a group
// never nest, each is released or rolled back before the next starts.
constexpr const char* kStatementSql[] = {
    "BEGIN IMMEDIATE",        "COMMIT", "ROLLBACK", "SAVEPOINT submission", "RELEASE submission",
    "ROLLBACK TO submission",
};

const char* synchronous_pragma(Durability durability) {
  switch (durability) {
    case Durability::kImmediate:
    case Durability::kPeriodic:
      // COMMIT does not fsync: the sync thread does, while the next group runs (immediate:
      // before anything is acknowledged). NORMAL still syncs the WAL before and the database
      // after each checkpoint, so a power loss never damages the file.
      return "PRAGMA synchronous = NORMAL";
    case Durability::kNone:
      return "PRAGMA synchronous = OFF";
  }
  return "PRAGMA synchronous = NORMAL";
}

}  // namespace

Result<std::unique_ptr<StoreThread>> StoreThread::open(uv_loop_t* loop, const std::string& path,
                                                       const std::vector<ComponentSchema>& schemas,
                                                       Options options) {
  Result<const char*> vfs = wal_batching_vfs();
  if (!vfs.is_ok()) return vfs.status();
  sqlite3* raw = nullptr;
  // NOMUTEX: the connection is only used under db_mu_ (the store thread, run_sync(), close()),
  // so SQLite's own lock around every bind, step and reset (~0.8 us of a constrained create's
  // ~19 us on the store thread, measured with perf) guards nothing.
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, *vfs);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) {
    return Status::io_error(fmt::format("database: cannot open {}: {}", path,
                                        raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  // Before switching the journal mode, so a refused file is left untouched.
  TDB_RETURN_IF_ERROR(check_schema_versions(raw, path, schemas));
  sqlite3_stmt* mode_stmt = nullptr;
  std::string mode;
  if (sqlite3_prepare_v2(raw, "PRAGMA journal_mode = WAL", -1, &mode_stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(mode_stmt) == SQLITE_ROW) {
    mode = column_bytes(mode_stmt, 0);
  }
  sqlite3_finalize(mode_stmt);
  if (mode != "wal") {
    return Status::io_error(fmt::format("database: cannot switch {} to WAL mode (got '{}'): {}",
                                        path, mode, sqlite3_errmsg(raw)));
  }
  if (options.durability_interval_ms < 1) {
    return Status::invalid_argument("database: the durability interval must be at least 1 ms");
  }
  TDB_RETURN_IF_ERROR(exec(raw, synchronous_pragma(options.durability)));
  TDB_RETURN_IF_ERROR(migrate_schemas(raw, path, schemas));

  Result<std::unique_ptr<Checkpointer>> checkpointer =
      Checkpointer::start(path, options.durability);
  if (!checkpointer.is_ok()) return checkpointer.status();
  checkpointer.value()->watch(raw);
  std::unique_ptr<StoreThread> store(new StoreThread(std::move(db), path, options));
  store->checkpointer_ = std::move(checkpointer).value();
  TDB_RETURN_IF_ERROR(store->prepare_statements());
  TDB_RETURN_IF_ERROR(store->open_sync_files());
  TDB_RETURN_IF_ERROR(store->start(loop));
  std::string components;
  for (const ComponentSchema& schema : schemas) {
    components +=
        fmt::format("{}{} v{}", components.empty() ? "" : ", ", schema.component, schema.version());
  }
  std::string interval = options.durability == Durability::kImmediate
                             ? ""
                             : fmt::format(", sync every {} ms", options.durability_interval_ms);
  log::info("database: opened {} ({}; durability {}{})", path, components,
            durability_name(options.durability), interval);
  return store;
}

StoreThread::StoreThread(std::unique_ptr<sqlite3, DbCloser> db, std::string path, Options options)
    : path_(std::move(path)), options_(options), db_(std::move(db)) {}

StoreThread::~StoreThread() { close(); }

Status StoreThread::prepare_statements() {
  static_assert(std::size(kStatementSql) == kStatementCount);
  for (size_t i = 0; i < kStatementCount; ++i) {
    Result<sqlite::StatementPtr> stmt = sqlite::prepare_persistent(db_.get(), kStatementSql[i]);
    if (!stmt.is_ok()) return stmt.status();
    statements_[i] = std::move(stmt).value();
  }
  return Status::ok();
}

Status StoreThread::open_sync_files() {
  // The WAL exists from the first read in WAL mode (the schema check) and stays while this
  // connection, which outlives every other, is open: its inode never changes under us.
  auto open_file = [](const std::string& file, int* fd) {
    *fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (*fd >= 0) return Status::ok();
    return Status::io_error(
        fmt::format("database: cannot open {} to sync it: {}", file, std::strerror(errno)));
  };
  TDB_RETURN_IF_ERROR(open_file(path_ + "-wal", &wal_fd_));
  // synchronous=OFF does not sync the database file after a checkpoint either.
  if (options_.durability == Durability::kNone) TDB_RETURN_IF_ERROR(open_file(path_, &db_fd_));
  return Status::ok();
}

Status StoreThread::start(uv_loop_t* loop) {
  if (loop != nullptr) {
    // Freed only by the uv_close callback in close(); see the header comment.
    async_ = new uv_async_t;
    int rc = uv_async_init(loop, async_, &StoreThread::on_async);
    if (rc != 0) {
      delete async_;
      async_ = nullptr;
      return Status::internal(fmt::format("database: uv_async_init: {}", uv_strerror(rc)));
    }
    async_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  }
  thread_ = std::thread([this] { run(); });
  if (wal_fd_ >= 0) sync_thread_ = std::thread([this] { run_syncs(); });
  return Status::ok();
}

uint64_t StoreThread::submit(Work work, Done done) {
  uint64_t ticket = ++last_ticket_;
  if (closed_) {
    if (!warned_refused_) {
      log::warn("database: submission after close() refused (ticket {})", ticket);
      warned_refused_ = true;
    }
    return ticket;
  }
  bool was_empty;
  {
    std::lock_guard lock(mu_);
    was_empty = queue_.empty();
    queue_.push_back({ticket, std::move(work), std::move(done)});
  }
  // A non-empty queue means the thread is already due to look at it: skip the wake-up.
  if (was_empty) work_cv_.notify_one();
  queued_ticket_ = ticket;
  return ticket;
}

uint64_t StoreThread::add_durable_callback(DurableCallback callback) {
  uint64_t id = next_callback_id_++;
  durable_callbacks_.emplace_back(id, std::move(callback));
  return id;
}

uint64_t StoreThread::add_acknowledged_callback(DurableCallback callback) {
  uint64_t id = next_callback_id_++;
  acknowledged_callbacks_.emplace_back(id, std::move(callback));
  return id;
}

void StoreThread::remove_durable_callback(uint64_t id) {
  auto same = [id](const auto& entry) { return entry.first == id; };
  std::erase_if(durable_callbacks_, same);
  std::erase_if(acknowledged_callbacks_, same);
}

void StoreThread::run() {
  std::vector<Submission> group;
  std::vector<Status> statuses;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ set and everything drained
      group.swap(queue_);
    }
    uint64_t last = group.back().ticket;
    statuses.assign(group.size(), Status::ok());
    bool committed;
    const auto began = std::chrono::steady_clock::now();
    {
      std::lock_guard db_lock(db_mu_);
      committed = run_group(group, statuses);
    }
    // Published before the outcomes, so a Done sees committed_ticket() >= its ticket exactly
    // when its group committed.
    if (committed) {
      committed_ticket_.store(last, std::memory_order_release);
      wake_syncer();
      commits_.fetch_add(1, std::memory_order_relaxed);
      const auto took = std::chrono::steady_clock::now() - began;
      commit_latency_.record_ns(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
    }
    {
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < group.size(); ++i) {
        if (group[i].done) {
          outcomes_.push_back({group[i].ticket, std::move(statuses[i]), std::move(group[i].done)});
        }
      }
      processed_ticket_ = last;
    }
    group.clear();  // the work closures (and what they own) die on this thread
    idle_cv_.notify_all();
    if (async_ != nullptr) uv_async_send(async_);
  }
}

bool StoreThread::run_group(std::vector<Submission>& group, std::vector<Status>& statuses) {
  sqlite3* db = db_.get();
  Status failure;
  if (failed_.load(std::memory_order_relaxed)) {
    // Running later work on top of a lost group could make the state inconsistent.
    failure = health();
  } else if (step(kBegin) != SQLITE_DONE) {
    failure = sqlite_status(db, "BEGIN IMMEDIATE");
  } else {
    for (size_t i = 0; i < group.size() && failure.is_ok(); ++i) {
      if (!run_one(group[i], &statuses[i])) failure = statuses[i];
    }
    if (failure.is_ok() && step(kCommit) != SQLITE_DONE) failure = sqlite_status(db, "COMMIT");
    // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY).
    if (!failure.is_ok() && sqlite3_get_autocommit(db) == 0) step(kRollback);
    if (!failure.is_ok()) fail(failure);
  }
  if (failure.is_ok()) return true;
  std::fill(statuses.begin(), statuses.end(), failure);
  return false;
}

bool StoreThread::run_one(Submission& submission, Status* status) {
  sqlite3* db = db_.get();
  if (step(kSavepoint) != SQLITE_DONE) {
    *status = sqlite_status(db, "SAVEPOINT");
    return false;
  }
  *status = submission.work(db);
  if (status->is_ok()) {
    if (step(kRelease) == SQLITE_DONE) return true;
    *status = sqlite_status(db, "RELEASE");
    return false;
  }
  // Some errors (I/O, disk full) make SQLite roll back the whole transaction: the earlier
  // submissions of the group are gone too.
  if (sqlite3_get_autocommit(db) != 0) return false;
  if (step(kRollbackTo) != SQLITE_DONE || step(kRelease) != SQLITE_DONE) {
    *status =
        sqlite_status(db, fmt::format("ROLLBACK TO after ticket {} failed", submission.ticket));
    return false;
  }
  failed_submissions_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int StoreThread::step(Statement statement) { return step_write(statements_[statement].get()); }

void StoreThread::fail(const Status& status) {
  log::error("{}; the database stops accepting writes", status.to_string());
  std::lock_guard lock(mu_);
  health_ = status;
  failed_.store(true, std::memory_order_relaxed);
}

Status StoreThread::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

void StoreThread::wait_idle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return processed_ticket_ >= queued_ticket_; });
}

Status StoreThread::run_sync(const std::function<Status(sqlite3* db)>& fn) {
  if (closed_) return Status::internal("database: run_sync() after close()");
  wait_idle();  // work submitted earlier must be visible to `fn`
  std::lock_guard db_lock(db_mu_);
  return fn(db_.get());
}

void StoreThread::flush() {
  if (!closed_) {
    wait_idle();
    wait_durable();
  }
  deliver();
}

void StoreThread::on_async(uv_async_t* handle) {
  static_cast<StoreThread*>(handle->data)->deliver();
}

void StoreThread::deliver() {
  // Read before the outcomes: an outcome the store thread adds later is for a later ticket.
  const uint64_t acknowledged = acknowledged_ticket();
  const uint64_t committed = committed_ticket();
  // After a failed group the sync thread still syncs what committed before it; only a
  // failed sync means a committed submission will never be acknowledged.
  const bool sync_failed = sync_failed_.load(std::memory_order_acquire);
  std::vector<Outcome> outcomes;  // local: a Done may call flush(), which delivers again
  {
    std::lock_guard lock(mu_);
    // In ticket order, the prefix that is acknowledged (a submission that failed alone
    // included: its group committed), failed with its group (or was refused after it), or
    // will never be acknowledged (committed, but a sync failed).
    auto ready = [&](const Outcome& o) {
      return o.ticket <= acknowledged || sync_failed || (!o.status.is_ok() && o.ticket > committed);
    };
    auto end = std::find_if_not(outcomes_.begin(), outcomes_.end(), ready);
    outcomes.assign(std::make_move_iterator(outcomes_.begin()), std::make_move_iterator(end));
    outcomes_.erase(outcomes_.begin(), end);
  }
  for (Outcome& outcome : outcomes) {
    if (outcome.status.is_ok() && outcome.ticket > acknowledged) outcome.status = health();
    outcome.done(outcome.ticket, outcome.status);
  }
  // Each reported ticket is recorded before its callbacks run: a callback may submit work
  // or re-enter through the loop.
  if (acknowledged > reported_acknowledged_) {
    reported_acknowledged_ = acknowledged;
    run_callbacks(acknowledged_callbacks_, acknowledged);
  }
  uint64_t durable = durable_ticket();
  if (durable > reported_ticket_) {
    reported_ticket_ = durable;
    run_callbacks(durable_callbacks_, durable);
  }
}

void StoreThread::run_callbacks(const CallbackList& list, uint64_t ticket) {
  if (list.empty()) return;
  CallbackList callbacks = list;  // a copy: a callback may add or remove callbacks
  for (auto& [id, callback] : callbacks) {
    if (callback) callback(ticket);
  }
}

Status StoreThread::close() {
  if (closed_) return health();
  closed_ = true;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  if (thread_.joinable()) thread_.join();  // the thread drains the queue before leaving
  if (sync_thread_.joinable()) {
    {
      std::lock_guard lock(sync_mu_);
      sync_stop_ = true;
    }
    sync_cv_.notify_one();
    sync_thread_.join();  // after a last sync that covers every commit
  }
  for (int* fd : {&wal_fd_, &db_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (async_ != nullptr) {
    // No uv_async_send can follow (the thread is gone); the close callback frees the block.
    uv_close(reinterpret_cast<uv_handle_t*>(async_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
    async_ = nullptr;
  }
  deliver();
  {
    std::lock_guard db_lock(db_mu_);
    if (db_) sqlite3_wal_hook(db_.get(), nullptr, nullptr);  // it points at the checkpointer
    checkpointer_.reset();
    for (sqlite::StatementPtr& stmt : statements_) stmt.reset();
    db_.reset();  // the last connection checkpoints the WAL into the database file
  }
  return health();
}

}  // namespace topicdb::storage
