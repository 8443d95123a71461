#include "broker/persist/sqlite_state_store.h"

#include <iterator>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/log.h"

namespace topicdb::broker {

using storage::sqlite::blob;
using storage::sqlite::column_bytes;
using storage::sqlite::exec;
using storage::sqlite::integer;
using storage::sqlite::Param;
using storage::sqlite::sqlite_status;
using storage::sqlite::step_write;
using storage::sqlite::text;

namespace {

// Indexed by SqliteStateStore::Statement.
constexpr const char* kStatementSql[] = {
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

// The StateStore operation each statement serves, for the log line of a failed write.
constexpr const char* kOperationName[] = {
    "put_session",          "delete_session",   "delete_session",      "delete_session",
    "delete_session",       "put_subscription", "delete_subscription", "put_message",
    "update_message_state", "delete_message",   "put_inbound_qos2",    "delete_inbound_qos2",
    "put_retained",         "delete_retained",
};

}  // namespace

// One queued write: which cached statement to run, and its parameters (owned: the
// caller's strings may be gone by the time the store thread runs it).
struct SqliteStateStore::Op {
  uint64_t ticket = 0;  // this store's ticket
  Statement statement = kPutSession;
  std::vector<Param> params;
};

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::open(storage::StoreThread* store) {
  std::unique_ptr<SqliteStateStore> state(new SqliteStateStore(store));
  TDB_RETURN_IF_ERROR(
      store->run_sync([&state](sqlite3* db) { return state->prepare_statements(db); }));
  SqliteStateStore* self = state.get();
  // The broker acknowledges what the node's durability mode acknowledges (immediate:
  // committed and fsynced; periodic, none: committed, in the WAL, safe from a process crash).
  state->durable_callback_id_ =
      store->add_acknowledged_callback([self](uint64_t) { self->report_durable(); });
  return state;
}

SqliteStateStore::SqliteStateStore(storage::StoreThread* store) : store_(store) {}

SqliteStateStore::~SqliteStateStore() { close(); }

Status SqliteStateStore::prepare_statements(sqlite3* db) {
  static_assert(std::size(kStatementSql) == kStatementCount);
  static_assert(std::size(kOperationName) == kStatementCount);
  for (size_t i = 0; i < kStatementCount; ++i) {
    auto stmt = storage::sqlite::prepare_persistent(db, kStatementSql[i]);
    if (!stmt.is_ok()) return stmt.status();
    statements_[i] = std::move(stmt).value();
  }
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
  uint64_t ticket = op.ticket;
  if (closed_ || store_->closed()) {
    // The ticket never becomes durable, so nothing waiting on it gets acknowledged.
    if (!warned_refused_) {
      log::warn("state store: write after close() refused (ticket {})", ticket);
      warned_refused_ = true;
    }
    return ticket;
  }
  store_->submit([this, op = std::move(op)](sqlite3* db) { return apply(db, op); },
                 [this, ticket](uint64_t store_ticket, const Status& status) {
                   on_done(ticket, store_ticket, status);
                 });
  return ticket;
}

Status SqliteStateStore::apply(sqlite3* db, const Op& op) {
  int rc = SQLITE_DONE;
  if (op.statement != kDeleteSession) {
    rc = step_write(statements_[op.statement].get(), op.params);
  } else {
    // A session takes everything it owns with it, in the same savepoint.
    for (Statement s : {kDeleteSessionSubscriptions, kDeleteSessionMessages, kDeleteSessionInbound,
                        kDeleteSession}) {
      if ((rc = step_write(statements_[s].get(), op.params)) != SQLITE_DONE) break;
    }
  }
  if (rc == SQLITE_DONE) return Status::ok();
  Status status =
      sqlite_status(db, fmt::format("{} for '{}' (ticket {})", kOperationName[op.statement],
                                    op.params[0].bytes, op.ticket));
  // Logged here, where the operation is still known; counted on the loop thread.
  log::error("state store: write rolled back: {}", status.message());
  return status;
}

void SqliteStateStore::on_done(uint64_t ticket, uint64_t store_ticket, const Status& status) {
  // The submission is acknowledged exactly when the store's acknowledged ticket covers it;
  // otherwise its group (or, immediate, the group's sync) failed and health() says so: the
  // ticket stays not durable.
  if (store_ticket > store_->acknowledged_ticket()) return;
  if (!status.is_ok()) ++failed_writes_;  // failed alone, rolled back, already logged
  durable_ticket_ = ticket;
}

void SqliteStateStore::report_durable() {
  if (durable_ticket_ <= reported_ticket_) return;
  // Recorded first: the callback may submit writes or re-enter through the loop.
  reported_ticket_ = durable_ticket_;
  if (callback_) callback_(durable_ticket_);
}

Result<LoadedState> SqliteStateStore::load() {
  if (closed_ || store_->closed()) return Status::internal("state store: load() after close()");
  Result<LoadedState> state = Status::internal("state store: load() did not run");
  Status ran = store_->run_sync([this, &state](sqlite3* db) {
    // One read transaction: a consistent snapshot across the five tables.
    TDB_RETURN_IF_ERROR(exec(db, "BEGIN"));
    state = read_all(db);
    exec(db, "COMMIT");
    return Status::ok();
  });
  if (!ran.is_ok()) return ran;
  return state;
}

Result<LoadedState> SqliteStateStore::read_all(sqlite3* db) {
  LoadedState state;
  std::unordered_map<std::string, size_t> index;  // client id -> position in sessions
  size_t orphans = 0;

  // Runs `sql` and hands each row to `row`; a non-ok Status from `row` stops the scan.
  auto scan = [db](const char* sql, auto&& row) -> Status {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_status(db, sql);
    }
    storage::sqlite::StatementPtr stmt(raw);
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

Status SqliteStateStore::close() {
  if (closed_) return health();
  closed_ = true;
  if (!store_->closed()) store_->flush();  // runs this store's Done callbacks
  report_durable();
  store_->remove_durable_callback(durable_callback_id_);
  auto release = [this](sqlite3*) {
    for (storage::sqlite::StatementPtr& stmt : statements_) stmt.reset();
    return Status::ok();
  };
  // After the StoreThread closed, finalizing on the zombie connection is still allowed.
  if (store_->closed() || !store_->run_sync(release).is_ok()) release(nullptr);
  return health();
}

}  // namespace topicdb::broker
