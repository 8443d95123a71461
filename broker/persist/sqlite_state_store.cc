#include "broker/persist/sqlite_state_store.h"

#include <iterator>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/log.h"
#include "broker/persist/sqlite_helpers.h"
#include "broker/persist/state_schema.h"

namespace topicdb::broker {

using sqlite::blob;
using sqlite::column_bytes;
using sqlite::exec;
using sqlite::integer;
using sqlite::Param;
using sqlite::query_int;
using sqlite::sqlite_status;
using sqlite::step_write;
using sqlite::text;

namespace {

// Indexed by SqliteStateStore::Statement.
constexpr const char* kStatementSql[] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT OR REPLACE INTO broker_sessions(client_id, protocol_version, expiry_interval_s, "
    "disconnected_at_ms) VALUES(?1, ?2, ?3, ?4)",
    "DELETE FROM broker_sessions WHERE client_id = ?1",
    "DELETE FROM broker_subscriptions WHERE client_id = ?1",
    "DELETE FROM broker_messages WHERE client_id = ?1",
    "DELETE FROM broker_inbound_qos2 WHERE client_id = ?1",
    "INSERT OR REPLACE INTO broker_subscriptions(client_id, filter, options, subscription_id) "
    "VALUES(?1, ?2, ?3, ?4)",
    "DELETE FROM broker_subscriptions WHERE client_id = ?1 AND filter = ?2",
    "INSERT OR REPLACE INTO broker_messages(client_id, seq, topic, payload, qos, retain, "
    "packet_id, state, properties, expiry_at_ms, subscription_id) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    "UPDATE broker_messages SET packet_id = ?3, state = ?4 WHERE client_id = ?1 AND seq = ?2",
    "DELETE FROM broker_messages WHERE client_id = ?1 AND seq = ?2",
    "INSERT OR IGNORE INTO broker_inbound_qos2(client_id, packet_id) VALUES(?1, ?2)",
    "DELETE FROM broker_inbound_qos2 WHERE client_id = ?1 AND packet_id = ?2",
    "INSERT OR REPLACE INTO broker_retained(topic, payload, qos, properties, expiry_at_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5)",
    "DELETE FROM broker_retained WHERE topic = ?1",
};

}  // namespace

// One queued write: which cached statement to run, and its parameters.
struct SqliteStateStore::Op {
  uint64_t ticket = 0;
  Statement statement = kBegin;
  std::vector<Param> params;
};

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::open(uv_loop_t* loop,
                                                                 const std::string& path,
                                                                 Options options) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) {
    return Status::io_error(fmt::format("state store: cannot open {}: {}", path,
                                        raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  // The first read also tells whether the file is a database at all.
  Result<int64_t> version = query_int(raw, "PRAGMA user_version");
  if (!version.is_ok()) {
    return Status::corruption(fmt::format("state store: {} is not a usable SQLite database: {}",
                                          path, version.status().message()));
  }
  if (*version > kSchemaVersion) {
    // Checked before switching the journal mode so a newer file is left untouched.
    return newer_state_schema_status(path, *version, kSchemaVersion);
  }
  sqlite3_stmt* mode_stmt = nullptr;
  std::string mode;
  if (sqlite3_prepare_v2(raw, "PRAGMA journal_mode = WAL", -1, &mode_stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(mode_stmt) == SQLITE_ROW) {
    mode = column_bytes(mode_stmt, 0);
  }
  sqlite3_finalize(mode_stmt);
  if (mode != "wal") {
    return Status::io_error(fmt::format("state store: cannot switch {} to WAL mode (got '{}'): {}",
                                        path, mode, sqlite3_errmsg(raw)));
  }
  TDB_RETURN_IF_ERROR(exec(
      raw, options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
  TDB_RETURN_IF_ERROR(migrate_state_schema(raw, path, kSchemaVersion));

  std::unique_ptr<SqliteStateStore> store(new SqliteStateStore(std::move(db)));
  TDB_RETURN_IF_ERROR(store->prepare_statements());
  TDB_RETURN_IF_ERROR(store->start(loop));
  log::info("state store: opened {} (schema version {}, synchronous {})", path, kSchemaVersion,
            options.synchronous_full ? "full" : "normal");
  return store;
}

SqliteStateStore::SqliteStateStore(std::unique_ptr<sqlite3, DbCloser> db) : db_(std::move(db)) {}

SqliteStateStore::~SqliteStateStore() { close(); }

Status SqliteStateStore::prepare_statements() {
  static_assert(std::size(kStatementSql) == kStatementCount);
  for (size_t i = 0; i < kStatementCount; ++i) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_.get(), kStatementSql[i], -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr) != SQLITE_OK) {
      return sqlite_status(db_.get(), kStatementSql[i]);
    }
    statements_[i].reset(stmt);
  }
  return Status::ok();
}

Status SqliteStateStore::start(uv_loop_t* loop) {
  if (loop != nullptr) {
    // Freed only by the uv_close callback in close(); see the header comment.
    async_ = new uv_async_t;
    int rc = uv_async_init(loop, async_, &SqliteStateStore::on_async);
    if (rc != 0) {
      delete async_;
      async_ = nullptr;
      return Status::internal(fmt::format("state store: uv_async_init: {}", uv_strerror(rc)));
    }
    async_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  }
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

uint64_t SqliteStateStore::put_session(const StoredSession& session) {
  // Only the metadata: subscriptions and messages have their own writes.
  return submit({0,
                 kPutSession,
                 {text(session.client_id), integer(session.protocol_version),
                  integer(session.expiry_interval_s), integer(session.disconnected_at_ms)}});
}
uint64_t SqliteStateStore::delete_session(const std::string& client_id) {
  return submit({0, kDeleteSession, {text(client_id)}});
}
uint64_t SqliteStateStore::put_subscription(const std::string& client_id,
                                            const StoredSubscription& subscription) {
  return submit({0,
                 kPutSubscription,
                 {text(client_id), text(subscription.filter), integer(subscription.options),
                  integer(subscription.subscription_id)}});
}
uint64_t SqliteStateStore::delete_subscription(const std::string& client_id,
                                               const std::string& filter) {
  return submit({0, kDeleteSubscription, {text(client_id), text(filter)}});
}
uint64_t SqliteStateStore::put_message(const std::string& client_id, const StoredMessage& m) {
  return submit({0,
                 kPutMessage,
                 {text(client_id), integer(static_cast<int64_t>(m.seq)), text(m.topic),
                  blob(m.payload), integer(m.qos), integer(m.retain), integer(m.packet_id),
                  integer(static_cast<int64_t>(m.state)), blob(m.properties),
                  integer(m.expiry_at_ms), integer(m.subscription_id)}});
}
uint64_t SqliteStateStore::update_message_state(const std::string& client_id, uint64_t seq,
                                                uint16_t packet_id, StoredMessage::State state) {
  return submit({0,
                 kUpdateMessageState,
                 {text(client_id), integer(static_cast<int64_t>(seq)), integer(packet_id),
                  integer(static_cast<int64_t>(state))}});
}
uint64_t SqliteStateStore::delete_message(const std::string& client_id, uint64_t seq) {
  return submit({0, kDeleteMessage, {text(client_id), integer(static_cast<int64_t>(seq))}});
}
uint64_t SqliteStateStore::put_inbound_qos2(const std::string& client_id, uint16_t packet_id) {
  return submit({0, kPutInbound, {text(client_id), integer(packet_id)}});
}
uint64_t SqliteStateStore::delete_inbound_qos2(const std::string& client_id, uint16_t packet_id) {
  return submit({0, kDeleteInbound, {text(client_id), integer(packet_id)}});
}
uint64_t SqliteStateStore::put_retained(const StoredRetained& r) {
  return submit({0,
                 kPutRetained,
                 {text(r.topic), blob(r.payload), integer(r.qos), blob(r.properties),
                  integer(r.expiry_at_ms)}});
}
uint64_t SqliteStateStore::delete_retained(const std::string& topic) {
  return submit({0, kDeleteRetained, {text(topic)}});
}

uint64_t SqliteStateStore::submit(Op op) {
  op.ticket = ++last_ticket_;
  if (closed_ || failed_.load(std::memory_order_relaxed)) {
    // The ticket never becomes durable, so nothing waiting on it gets acknowledged.
    if (closed_ && !warned_refused_) {
      log::warn("state store: write after close() refused (ticket {})", op.ticket);
      warned_refused_ = true;
    }
    return op.ticket;
  }
  uint64_t ticket = op.ticket;
  bool was_empty;
  {
    std::lock_guard lock(mu_);
    was_empty = queue_.empty();
    queue_.push_back(std::move(op));
  }
  // A non-empty queue means the thread is already due to look at it: skip the wake-up.
  if (was_empty) work_cv_.notify_one();
  queued_ticket_ = ticket;
  return ticket;
}

void SqliteStateStore::run() {
  std::vector<Op> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ set and everything drained
      batch.swap(queue_);
    }
    uint64_t last = batch.back().ticket;
    bool committed = false;
    {
      std::lock_guard db_lock(db_mu_);
      // After a failure later writes are discarded: applying them on top of a lost
      // write could make the state inconsistent.
      if (!failed_.load(std::memory_order_relaxed)) committed = apply_batch(batch);
    }
    batch.clear();
    if (committed) {
      durable_ticket_.store(last, std::memory_order_release);
      commits_.fetch_add(1, std::memory_order_relaxed);
      if (async_ != nullptr) uv_async_send(async_);
    }
    {
      std::lock_guard lock(mu_);
      processed_ticket_ = last;
    }
    idle_cv_.notify_all();
  }
}

bool SqliteStateStore::apply_batch(const std::vector<Op>& batch) {
  sqlite3* db = db_.get();
  if (step_write(statements_[kBegin].get()) != SQLITE_DONE) {
    fail(sqlite_status(db, "BEGIN IMMEDIATE"));
    return false;
  }
  for (const Op& op : batch) {
    if (apply(op) != SQLITE_DONE) {
      Status status = sqlite_status(db, fmt::format("write for ticket {}", op.ticket));
      // Some errors (disk full, I/O) already rolled the transaction back.
      if (sqlite3_get_autocommit(db) == 0) step_write(statements_[kRollback].get());
      fail(std::move(status));
      return false;
    }
  }
  if (step_write(statements_[kCommit].get()) != SQLITE_DONE) {
    Status status = sqlite_status(db, "COMMIT");
    // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY).
    if (sqlite3_get_autocommit(db) == 0) step_write(statements_[kRollback].get());
    fail(std::move(status));
    return false;
  }
  return true;
}

int SqliteStateStore::apply(const Op& op) {
  if (op.statement != kDeleteSession) return step_write(statements_[op.statement].get(), op.params);
  // A session takes everything it owns with it, in the same transaction.
  for (Statement s : {kDeleteSessionSubscriptions, kDeleteSessionMessages, kDeleteSessionInbound,
                      kDeleteSession}) {
    if (int rc = step_write(statements_[s].get(), op.params); rc != SQLITE_DONE) return rc;
  }
  return SQLITE_DONE;
}

void SqliteStateStore::fail(Status status) {
  log::error("{}; the state store stops accepting writes", status.to_string());
  std::lock_guard lock(mu_);
  health_ = std::move(status);
  failed_.store(true, std::memory_order_relaxed);
}

Status SqliteStateStore::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

Result<LoadedState> SqliteStateStore::load() {
  if (closed_) return Status::internal("state store: load() after close()");
  {
    // Writes submitted earlier must be visible to the read.
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [this] { return processed_ticket_ >= queued_ticket_; });
  }
  std::lock_guard db_lock(db_mu_);
  // One read transaction: a consistent snapshot across the five tables.
  TDB_RETURN_IF_ERROR(exec(db_.get(), "BEGIN"));
  Result<LoadedState> state = read_all();
  exec(db_.get(), "COMMIT");
  return state;
}

Result<LoadedState> SqliteStateStore::read_all() {
  sqlite3* db = db_.get();
  LoadedState state;
  std::unordered_map<std::string, size_t> index;  // client id -> position in sessions
  size_t orphans = 0;

  // Runs `sql` and hands each row to `row`; a non-ok Status from `row` stops the scan.
  auto scan = [db](const char* sql, auto&& row) -> Status {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_status(db, sql);
    }
    StatementPtr stmt(raw);
    int rc;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) TDB_RETURN_IF_ERROR(row(raw));
    return rc == SQLITE_DONE ? Status::ok() : sqlite_status(db, sql);
  };
  auto session_for = [&](sqlite3_stmt* s) -> StoredSession* {
    auto it = index.find(column_bytes(s, 0));
    if (it == index.end()) {
      ++orphans;
      return nullptr;
    }
    return &state.sessions[it->second];
  };

  TDB_RETURN_IF_ERROR(
      scan("SELECT client_id, protocol_version, expiry_interval_s, disconnected_at_ms "
           "FROM broker_sessions ORDER BY client_id",
           [&](sqlite3_stmt* s) {
             StoredSession& session = state.sessions.emplace_back();
             session.client_id = column_bytes(s, 0);
             session.protocol_version = static_cast<uint8_t>(sqlite3_column_int64(s, 1));
             session.expiry_interval_s = static_cast<uint32_t>(sqlite3_column_int64(s, 2));
             session.disconnected_at_ms = sqlite3_column_int64(s, 3);
             index.emplace(session.client_id, state.sessions.size() - 1);
             return Status::ok();
           }));
  TDB_RETURN_IF_ERROR(
      scan("SELECT client_id, filter, options, subscription_id FROM broker_subscriptions "
           "ORDER BY client_id, filter",
           [&](sqlite3_stmt* s) {
             if (StoredSession* session = session_for(s)) {
               StoredSubscription& sub = session->subscriptions.emplace_back();
               sub.filter = column_bytes(s, 1);
               sub.options = static_cast<uint8_t>(sqlite3_column_int64(s, 2));
               sub.subscription_id = static_cast<uint32_t>(sqlite3_column_int64(s, 3));
             }
             return Status::ok();
           }));
  TDB_RETURN_IF_ERROR(scan(
      "SELECT client_id, seq, topic, payload, qos, retain, packet_id, state, properties, "
      "expiry_at_ms, subscription_id FROM broker_messages ORDER BY client_id, seq",
      [&](sqlite3_stmt* s) {
        int64_t raw_state = sqlite3_column_int64(s, 7);
        if (raw_state < 0 || raw_state > static_cast<int64_t>(StoredMessage::State::kPubrelSent)) {
          return Status::corruption(
              fmt::format("state store: message state {} for client '{}' is not known", raw_state,
                          column_bytes(s, 0)));
        }
        if (StoredSession* session = session_for(s)) {
          StoredMessage& m = session->messages.emplace_back();
          m.seq = static_cast<uint64_t>(sqlite3_column_int64(s, 1));
          m.topic = column_bytes(s, 2);
          m.payload = column_bytes(s, 3);
          m.qos = static_cast<uint8_t>(sqlite3_column_int64(s, 4));
          m.retain = sqlite3_column_int64(s, 5) != 0;
          m.packet_id = static_cast<uint16_t>(sqlite3_column_int64(s, 6));
          m.state = static_cast<StoredMessage::State>(raw_state);
          m.properties = column_bytes(s, 8);
          m.expiry_at_ms = sqlite3_column_int64(s, 9);
          m.subscription_id = static_cast<uint32_t>(sqlite3_column_int64(s, 10));
        }
        return Status::ok();
      }));
  TDB_RETURN_IF_ERROR(
      scan("SELECT client_id, packet_id FROM broker_inbound_qos2 ORDER BY client_id, packet_id",
           [&](sqlite3_stmt* s) {
             if (StoredSession* session = session_for(s)) {
               session->inbound_qos2.push_back(static_cast<uint16_t>(sqlite3_column_int64(s, 1)));
             }
             return Status::ok();
           }));
  TDB_RETURN_IF_ERROR(scan(
      "SELECT topic, payload, qos, properties, expiry_at_ms FROM broker_retained ORDER BY topic",
      [&](sqlite3_stmt* s) {
        StoredRetained& r = state.retained.emplace_back();
        r.topic = column_bytes(s, 0);
        r.payload = column_bytes(s, 1);
        r.qos = static_cast<uint8_t>(sqlite3_column_int64(s, 2));
        r.properties = column_bytes(s, 3);
        r.expiry_at_ms = sqlite3_column_int64(s, 4);
        return Status::ok();
      }));
  if (orphans > 0) {
    // Rows whose session is gone: nothing can resume them, so they are not returned.
    log::warn("state store: ignored {} rows that belong to no stored session", orphans);
  }
  return state;
}

void SqliteStateStore::on_async(uv_async_t* handle) {
  static_cast<SqliteStateStore*>(handle->data)->report_durable();
}

void SqliteStateStore::report_durable() {
  uint64_t durable = durable_ticket_.load(std::memory_order_acquire);
  if (durable <= reported_ticket_) return;
  // Recorded first: the callback may submit writes or re-enter through the loop.
  reported_ticket_ = durable;
  if (callback_) callback_(durable);
}

Status SqliteStateStore::close() {
  if (closed_) return health();
  closed_ = true;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  if (thread_.joinable()) thread_.join();  // the thread drains the queue before leaving
  if (async_ != nullptr) {
    // No uv_async_send can follow (the thread is gone); the close callback frees the block.
    uv_close(reinterpret_cast<uv_handle_t*>(async_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
    async_ = nullptr;
  }
  report_durable();
  {
    std::lock_guard db_lock(db_mu_);
    for (StatementPtr& stmt : statements_) stmt.reset();
    db_.reset();  // the last connection checkpoints the WAL into the database file
  }
  return health();
}

}  // namespace topicdb::broker
