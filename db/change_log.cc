#include "db/change_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "db/names.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

using storage::sqlite::column_bytes;
using storage::sqlite::sqlite_status;

using Stmt = storage::sqlite::StatementPtr;
using storage::sqlite::prepare;

ChangeEvent event_from_row(sqlite3_stmt* stmt) {
  // Columns: seq, entity, id, op, data, client_id.
  ChangeEvent event;
  event.sequence = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
  event.entity = column_bytes(stmt, 1);
  event.id = column_bytes(stmt, 2);
  event.operation = column_bytes(stmt, 3);
  event.data_json = column_bytes(stmt, 4);
  event.client_id = column_bytes(stmt, 5);
  return event;
}

bool read_int_option(const Json& body, const char* key, int64_t* value, Answer* error) {
  auto it = body.find(key);
  if (it == body.end()) return true;
  if (!it->is_number_integer()) {
    *error = Answer::bad_request(fmt::format("replay: {} must be an integer", key));
    return false;
  }
  *value = it->get<int64_t>();
  return true;
}

}  // namespace

Result<int64_t> read_state(sqlite3* db, const char* key) {
  auto stmt = prepare(db, "SELECT value FROM db_state WHERE key=?1");
  if (!stmt.is_ok()) return stmt.status();
  sqlite3_bind_text(stmt->get(), 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(stmt->get(), 0));
  if (rc == SQLITE_DONE) return int64_t{0};
  return sqlite_status(db, "read db_state");
}

Status write_state(sqlite3* db, const char* key, int64_t value) {
  auto stmt = prepare(db, "INSERT OR REPLACE INTO db_state(key, value) VALUES(?1, ?2)");
  if (!stmt.is_ok()) return stmt.status();
  sqlite3_bind_text(stmt->get(), 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt->get(), 2, value);
  if (sqlite3_step(stmt->get()) != SQLITE_DONE) return sqlite_status(db, "write db_state");
  return Status::ok();
}

Status load_changes(sqlite3* db, int64_t after_seq, int64_t limit,
                    std::vector<ChangeEvent>* events) {
  auto stmt = prepare(db,
                      "SELECT seq, entity, id, op, data, client_id FROM db_changes WHERE seq > ?1 "
                      "ORDER BY seq LIMIT ?2");
  if (!stmt.is_ok()) return stmt.status();
  sqlite3_bind_int64(stmt->get(), 1, after_seq);
  sqlite3_bind_int64(stmt->get(), 2, limit);
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    events->push_back(event_from_row(stmt->get()));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "load changes");
  return Status::ok();
}

Answer replay(sqlite3* db, const Json& body, int64_t max_seq, const OwnerScope* owner) {
  if (!body.is_object()) return Answer::bad_request("replay: the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "entity" && key != "since" && key != "limit") {
      return Answer::bad_request(fmt::format("replay: unknown option '{}'", key));
    }
  }
  auto entity_it = body.find("entity");
  if (entity_it == body.end() || !entity_it->is_string()) {
    return Answer::bad_request("replay: entity (a string) is required");
  }
  const std::string& entity = entity_it->get_ref<const std::string&>();
  Status valid = check_entity_name(entity);
  if (!valid) return Answer::bad_request(valid.message());
  int64_t since = 0;
  int64_t limit = kReplayDefaultLimit;
  Answer error;
  if (!read_int_option(body, "since", &since, &error)) return error;
  if (!read_int_option(body, "limit", &limit, &error)) return error;
  if (since < 0) return Answer::bad_request("replay: since must be >= 0");
  if (limit < 1 || limit > kReplayMaxLimit) {
    return Answer::bad_request(fmt::format("replay: limit must be 1 to {}", kReplayMaxLimit));
  }
  Result<int64_t> pruned = read_state(db, "pruned_seq");
  if (!pruned.is_ok()) return Answer::unavailable(pruned.status().message());
  if (since < *pruned) {
    return Answer::error(410,
                         fmt::format("replay: events after {} are no longer kept (the log "
                                     "starts after {}); read the records again",
                                     since, *pruned),
                         Json{{"oldest_since", *pruned}});
  }
  const std::string* owner_field = owner != nullptr ? owner->field_of(entity) : nullptr;
  auto stmt = prepare(db, owner_field == nullptr
                              ? "SELECT seq, entity, id, op, data, client_id FROM db_changes WHERE "
                                "entity=?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4"
                              : "SELECT seq, entity, id, op, data, client_id FROM db_changes WHERE "
                                "entity=?1 AND seq > ?2 AND seq <= ?3 AND "
                                "json_extract(data, ?5) = ?6 ORDER BY seq LIMIT ?4");
  if (!stmt.is_ok()) return Answer::unavailable(stmt.status().message());
  const std::string owner_path = owner_field == nullptr ? std::string() : "$." + *owner_field;
  if (owner_field != nullptr) {
    sqlite3_bind_text64(stmt->get(), 5, owner_path.data(), owner_path.size(), SQLITE_STATIC,
                        SQLITE_UTF8);
    sqlite3_bind_text64(stmt->get(), 6, owner->user.data(), owner->user.size(), SQLITE_STATIC,
                        SQLITE_UTF8);
  }
  sqlite3_bind_text64(stmt->get(), 1, entity.data(), entity.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_int64(stmt->get(), 2, since);
  sqlite3_bind_int64(stmt->get(), 3, max_seq);
  sqlite3_bind_int64(stmt->get(), 4, limit);
  Json events = Json::array();
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    ChangeEvent event = event_from_row(stmt->get());
    Json data = Json::parse(event.data_json, nullptr, false);
    events.push_back(Json{{"sequence", event.sequence},
                          {"entity", event.entity},
                          {"id", event.id},
                          {"operation", event.operation},
                          {"data", data.is_discarded() ? Json() : std::move(data)},
                          {"client_id", event.client_id}});
  }
  if (rc != SQLITE_DONE) return Answer::unavailable(sqlite_status(db, "replay").message());
  return Answer::ok(std::move(events));
}

Status prune_changes(sqlite3* db, int64_t now_ms, const RetentionPolicy& policy, int64_t* pruned) {
  *pruned = 0;
  Result<int64_t> done = read_state(db, "pruned_seq");
  if (!done.is_ok()) return done.status();
  Result<int64_t> max_seq =
      storage::sqlite::query_int(db, "SELECT coalesce(max(seq), 0) FROM db_changes");
  if (!max_seq.is_ok()) return max_seq.status();
  int64_t target = 0;
  int64_t count = static_cast<int64_t>(std::min<uint64_t>(policy.retention_count, INT64_MAX));
  if (*max_seq > count) target = *max_seq - count;
  // The oldest rows by time: the run of rows from the oldest on whose at_ms is past the
  // window (stops at the first younger one, so a clock step back never prunes young rows).
  auto old = prepare(db, "SELECT seq, at_ms FROM db_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!old.is_ok()) return old.status();
  sqlite3_bind_int64(old->get(), 1, *done);
  sqlite3_bind_int64(old->get(), 2, policy.batch);
  int64_t cutoff = now_ms - policy.retention_ms;
  int64_t first = 0;
  int rc;
  while ((rc = sqlite3_step(old->get())) == SQLITE_ROW) {
    int64_t seq = sqlite3_column_int64(old->get(), 0);
    if (first == 0) first = seq;
    if (sqlite3_column_int64(old->get(), 1) >= cutoff) break;
    target = std::max(target, seq);
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "scan old changes");
  if (first == 0) return Status::ok();  // nothing kept beyond pruned_seq
  target = std::min({target, policy.max_prunable_seq, first + policy.batch - 1});
  if (target < first) return Status::ok();
  auto del = prepare(db, "DELETE FROM db_changes WHERE seq <= ?1");
  if (!del.is_ok()) return del.status();
  sqlite3_bind_int64(del->get(), 1, target);
  if (sqlite3_step(del->get()) != SQLITE_DONE) return sqlite_status(db, "prune changes");
  *pruned = sqlite3_changes(db);
  return write_state(db, "pruned_seq", target);
}

}  // namespace topicdb::db
