#include "db/record_writes.h"

#include <fmt/format.h>

#include "db/json_text.h"
#include "db/names.h"
#include "db/partition.h"

namespace topicdb::db {

namespace {

using storage::sqlite::column_bytes;
using storage::sqlite::sqlite_status;

// Indexed by RecordWriter::Statement.
constexpr const char* kStatementSql[] = {
    "SELECT version, expires_at_ms, partition, body FROM db_records WHERE entity=?1 AND id=?2",
    "INSERT INTO db_records(entity, id, partition, version, expires_at_ms, body) "
    "VALUES(?1, ?2, ?3, 1, ?4, ?5)",
    "UPDATE db_records SET version=?3, body=?4 WHERE entity=?1 AND id=?2",
    "DELETE FROM db_records WHERE entity=?1 AND id=?2",
    "INSERT INTO db_changes(entity, id, partition, op, data, client_id, at_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "SELECT entity, id, expires_at_ms FROM db_records WHERE expires_at_ms IS NOT NULL AND "
    "expires_at_ms <= ?1 ORDER BY expires_at_ms LIMIT ?2",
    "UPDATE db_records SET expires_at_ms=NULL WHERE entity=?1 AND id=?2",
    "INSERT OR REPLACE INTO db_expiry_held(entity, id, deadline_ms) VALUES(?1, ?2, ?3)",
    "SELECT entity, id, deadline_ms FROM db_expiry_held ORDER BY deadline_ms LIMIT ?1",
    "DELETE FROM db_expiry_held WHERE entity=?1 AND id=?2",
};

// Held expiries retried per sweep (each costs a delete plan).
constexpr int kHeldBatch = 100;

// Binds without copying: every bound string outlives the step.
void bind_text(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_text64(stmt, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// Resets the statement when the scope ends, whatever path leaves it.
struct ResetGuard {
  sqlite3_stmt* stmt;
  ~ResetGuard() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

Answer not_found(const std::string& entity, const std::string& id) {
  return Answer::not_found(fmt::format("record '{}' not found in '{}'", id, entity));
}

bool is_expired(const std::optional<int64_t>& expires_at_ms, int64_t now_ms) {
  return expires_at_ms && *expires_at_ms <= now_ms;
}

// Sets the value at a dotted path to null when the path exists.
void set_null_at(Json& record, std::string_view path) {
  Json* at = &record;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key(
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!at->is_object()) return;
    auto it = at->find(key);
    if (it == at->end()) return;
    if (dot == std::string_view::npos) {
      *it = nullptr;
      return;
    }
    at = &*it;
    start = dot + 1;
  }
}

}  // namespace

bool check_create(Json body, const std::string& assigned_id, int64_t now_ms, CreateInput* input,
                  Answer* error) {
  if (!body.is_object()) {
    *error = Answer::bad_request("the record must be a JSON object");
    return false;
  }
  input->expires_at_ms.reset();
  auto ttl = body.find("ttl_secs");
  if (ttl != body.end()) {
    // At most ~292 years, so the deadline cannot overflow.
    if (!ttl->is_number_integer() || ttl->get<int64_t>() <= 0 ||
        ttl->get<int64_t>() > 9'000'000'000LL) {
      *error = Answer::bad_request("ttl_secs must be a positive integer (seconds)");
      return false;
    }
    input->expires_at_ms = now_ms + ttl->get<int64_t>() * 1000;
    body.erase(ttl);
  }
  for (const auto& [key, value] : body.items()) {
    if (!key.empty() && key[0] == '_') {
      *error = Answer::bad_request(
          fmt::format("field '{}' is reserved (fields starting with '_' are the server's)", key));
      return false;
    }
  }
  auto id = body.find("id");
  if (id != body.end()) {
    if (!id->is_string()) {
      *error = Answer::bad_request("id must be a string");
      return false;
    }
    Status valid = check_record_id(id->get_ref<const std::string&>());
    if (!valid) {
      *error = Answer::bad_request(valid.message());
      return false;
    }
    input->id = id->get<std::string>();
  } else {
    input->id = assigned_id;
    body["id"] = assigned_id;
  }
  if (input->expires_at_ms) body["_expires_at"] = *input->expires_at_ms;
  input->record = std::move(body);
  return true;
}

bool check_update(const Json& body, Answer* error) {
  if (!body.is_object()) {
    *error = Answer::bad_request("the update must be a JSON object");
    return false;
  }
  for (const auto& [key, value] : body.items()) {
    if (key == "_version") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        *error = Answer::bad_request("_version must be a non-negative integer");
        return false;
      }
    } else if (key == "id") {
      if (!value.is_string()) {
        *error = Answer::bad_request("id must be a string");
        return false;
      }
    } else if (!key.empty() && key[0] == '_') {
      *error = Answer::bad_request(
          fmt::format("field '{}' is reserved (fields starting with '_' are the server's)", key));
      return false;
    }
  }
  return true;
}

Status RecordWriter::prepare(sqlite3* db) {
  if (prepared_for_ == db) return Status::ok();
  static_assert(std::size(kStatementSql) == kStatementCount);
  for (size_t i = 0; i < kStatementCount; ++i) {
    Result<storage::sqlite::StatementPtr> stmt =
        storage::sqlite::prepare_persistent(db, kStatementSql[i]);
    if (!stmt.is_ok()) return stmt.status();
    statements_[i] = std::move(stmt).value();
  }
  prepared_for_ = db;
  return Status::ok();
}

Status RecordWriter::select(sqlite3* db, const std::string& entity, const std::string& id,
                            Stored* stored, bool* found) {
  sqlite3_stmt* stmt = statements_[kSelectRecord].get();
  ResetGuard guard{stmt};
  bind_text(stmt, 1, entity);
  bind_text(stmt, 2, id);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    *found = false;
    return Status::ok();
  }
  if (rc != SQLITE_ROW) return sqlite_status(db, "select record");
  *found = true;
  stored->version = sqlite3_column_int64(stmt, 0);
  if (sqlite3_column_type(stmt, 1) == SQLITE_NULL) {
    stored->expires_at_ms.reset();
  } else {
    stored->expires_at_ms = sqlite3_column_int64(stmt, 1);
  }
  stored->partition = sqlite3_column_int(stmt, 2);
  stored->body = column_bytes(stmt, 3);
  return Status::ok();
}

Status RecordWriter::delete_row(sqlite3* db, const std::string& entity, const std::string& id) {
  sqlite3_stmt* stmt = statements_[kDeleteRecord].get();
  ResetGuard guard{stmt};
  bind_text(stmt, 1, entity);
  bind_text(stmt, 2, id);
  if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "delete record");
  return Status::ok();
}

Status RecordWriter::log_change(sqlite3* db, const std::string& entity, const std::string& id,
                                int partition, const char* op, std::string data,
                                const std::string& client_id, int64_t now_ms,
                                std::vector<ChangeEvent>* events) {
  sqlite3_stmt* stmt = statements_[kInsertChange].get();
  {
    ResetGuard guard{stmt};
    bind_text(stmt, 1, entity);
    bind_text(stmt, 2, id);
    sqlite3_bind_int(stmt, 3, partition);
    sqlite3_bind_text(stmt, 4, op, -1, SQLITE_STATIC);
    bind_text(stmt, 5, data);
    bind_text(stmt, 6, client_id);
    sqlite3_bind_int64(stmt, 7, now_ms);
    if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "insert change");
  }
  ChangeEvent event;
  event.sequence = static_cast<uint64_t>(sqlite3_last_insert_rowid(db));
  event.entity = entity;
  event.id = id;
  event.operation = op;
  event.data_json = std::move(data);
  event.client_id = client_id;
  events->push_back(std::move(event));
  return Status::ok();
}

Status RecordWriter::create(sqlite3* db, const std::string& entity, CreateInput input,
                            const std::string& client_id, int64_t now_ms, WriteResult* out) {
  TDB_RETURN_IF_ERROR(prepare(db));
  TDB_RETURN_IF_ERROR(catalog_->ensure_loaded(db));
  Json& record = input.record;
  if (const EntitySchema* schema = catalog_->schema(entity)) {
    schema->apply_defaults(record);
    Status valid = schema->validate(record);
    if (!valid) {
      out->answer = Answer::bad_request(valid.message());
      return Status::ok();
    }
  }
  // Unique keys are claimed after the record row is in (claim_record): the insert of a key
  // is its own look-up.
  RowValues checked;
  const bool constrained = enforcer_.has_rules(entity);
  if (constrained) {
    std::optional<Answer> refusal;
    TDB_RETURN_IF_ERROR(enforcer_.check(db, entity, input.id, record, now_ms, &refusal, &checked,
                                        /*look_up_unique=*/false));
    if (refusal) {
      out->answer = std::move(*refusal);
      return Status::ok();
    }
  }
  record["_version"] = 1;
  std::string body = dump_json(record);
  int partition = partition_of(entity, input.id);
  for (int attempt = 0;; ++attempt) {
    sqlite3_stmt* stmt = statements_[kInsertRecord].get();
    int rc;
    {
      ResetGuard guard{stmt};
      bind_text(stmt, 1, entity);
      bind_text(stmt, 2, input.id);
      sqlite3_bind_int(stmt, 3, partition);
      if (input.expires_at_ms) sqlite3_bind_int64(stmt, 4, *input.expires_at_ms);
      bind_text(stmt, 5, body);
      rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_DONE) break;
    if ((rc & 0xff) != SQLITE_CONSTRAINT || attempt > 0) return sqlite_status(db, "insert record");
    // The id exists. A record past its deadline is gone for clients (reads say 404), so it
    // must not block the id: it expires now, with its Delete event, as the sweep would do.
    Stored stored;
    bool found = false;
    TDB_RETURN_IF_ERROR(select(db, entity, input.id, &stored, &found));
    bool deleted = false;
    if (found && is_expired(stored.expires_at_ms, now_ms)) {
      TDB_RETURN_IF_ERROR(expire_one(db, entity, input.id, *stored.expires_at_ms, false, now_ms,
                                     &out->events, &deleted));
    }
    if (!deleted) {
      out->answer =
          Answer::conflict(fmt::format("record '{}' already exists in '{}'", input.id, entity));
      return Status::ok();
    }
    if (constrained) {
      // Expiring it may have deleted (by cascade) a record this one references: check again.
      std::optional<Answer> refusal;
      TDB_RETURN_IF_ERROR(enforcer_.check(db, entity, input.id, record, now_ms, &refusal, &checked,
                                          /*look_up_unique=*/false));
      if (refusal) {
        out->answer = std::move(*refusal);
        return Status::ok();
      }
    }
  }
  if (constrained) {
    std::optional<Answer> refusal;
    TDB_RETURN_IF_ERROR(
        enforcer_.claim_record(db, entity, input.id, partition, record, checked, &refusal));
    if (refusal) {
      TDB_RETURN_IF_ERROR(delete_row(db, entity, input.id));
      out->answer = std::move(*refusal);
      return Status::ok();
    }
  }
  TDB_RETURN_IF_ERROR(log_change(db, entity, input.id, partition, "Create", std::move(body),
                                 client_id, now_ms, &out->events));
  out->answer = Answer::ok(std::move(record));
  return Status::ok();
}

Status RecordWriter::update(sqlite3* db, const std::string& entity, const std::string& id,
                            const Json& patch, const std::string& client_id, int64_t now_ms,
                            WriteResult* out) {
  TDB_RETURN_IF_ERROR(prepare(db));
  TDB_RETURN_IF_ERROR(catalog_->ensure_loaded(db));
  Stored stored;
  bool found = false;
  TDB_RETURN_IF_ERROR(select(db, entity, id, &stored, &found));
  if (!found || is_expired(stored.expires_at_ms, now_ms)) {
    out->answer = not_found(entity, id);
    return Status::ok();
  }
  auto expected = patch.find("_version");
  if (expected != patch.end() && expected->get<int64_t>() != stored.version) {
    out->answer =
        Answer::conflict(fmt::format("version conflict on '{}': expected {}, current version is {}",
                                     id, expected->get<int64_t>(), stored.version),
                         Json{{"current_version", stored.version}});
    return Status::ok();
  }
  auto new_id = patch.find("id");
  if (new_id != patch.end() && new_id->get_ref<const std::string&>() != id) {
    out->answer = Answer::bad_request("id cannot change (it must equal the record's id)");
    return Status::ok();
  }
  Json record = Json::parse(stored.body, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) {
    return Status::corruption(
        fmt::format("database: record '{}' of '{}' is not a JSON object", id, entity));
  }
  std::optional<Json> old;
  if (enforcer_.has_rules(entity)) old = record;
  for (const auto& [key, value] : patch.items()) {
    if (key == "_version" || key == "id") continue;
    record[key] = value;
  }
  if (const EntitySchema* schema = catalog_->schema(entity)) {
    Status valid = schema->validate(record);
    if (!valid) {
      out->answer = Answer::bad_request(valid.message());
      return Status::ok();
    }
  }
  RowValues checked;
  if (enforcer_.has_rules(entity)) {
    std::optional<Answer> refusal;
    TDB_RETURN_IF_ERROR(enforcer_.check(db, entity, id, record, now_ms, &refusal, &checked));
    if (refusal) {
      out->answer = std::move(*refusal);
      return Status::ok();
    }
  }
  int64_t version = stored.version + 1;
  record["_version"] = version;
  std::string body = dump_json(record);
  TDB_RETURN_IF_ERROR(enforcer_.index_record(db, entity, id, stored.partition, record,
                                             old ? &*old : nullptr, &checked));
  {
    sqlite3_stmt* stmt = statements_[kUpdateRecord].get();
    ResetGuard guard{stmt};
    bind_text(stmt, 1, entity);
    bind_text(stmt, 2, id);
    sqlite3_bind_int64(stmt, 3, version);
    bind_text(stmt, 4, body);
    if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "update record");
  }
  TDB_RETURN_IF_ERROR(log_change(db, entity, id, stored.partition, "Update", std::move(body),
                                 client_id, now_ms, &out->events));
  out->answer = Answer::ok(std::move(record));
  return Status::ok();
}

Status RecordWriter::remove(sqlite3* db, const std::string& entity, const std::string& id,
                            const std::string& client_id, int64_t now_ms, WriteResult* out) {
  TDB_RETURN_IF_ERROR(prepare(db));
  Stored stored;
  bool found = false;
  TDB_RETURN_IF_ERROR(select(db, entity, id, &stored, &found));
  if (!found || is_expired(stored.expires_at_ms, now_ms)) {
    out->answer = not_found(entity, id);
    return Status::ok();
  }
  TDB_RETURN_IF_ERROR(catalog_->ensure_loaded(db));
  DeletePlan plan;
  std::optional<Answer> refusal;
  TDB_RETURN_IF_ERROR(enforcer_.plan_delete(db, entity, id, now_ms, &plan, &refusal));
  if (refusal) {
    out->answer = std::move(*refusal);
    return Status::ok();
  }
  TDB_RETURN_IF_ERROR(apply_plan(db, plan, client_id, now_ms, &out->events));
  out->answer = Answer::ok(Json{{"id", id}, {"deleted", true}});
  return Status::ok();
}

Status RecordWriter::apply_plan(sqlite3* db, const DeletePlan& plan, const std::string& client_id,
                                int64_t now_ms, std::vector<ChangeEvent>* events) {
  for (const DeleteStep& step : plan.steps) {
    for (const auto& [child_entity, fk_name] : step.unlink_children) {
      TDB_RETURN_IF_ERROR(enforcer_.unlink_children(db, child_entity, fk_name, step.id));
    }
    Stored stored;
    bool found = false;
    TDB_RETURN_IF_ERROR(select(db, step.entity, step.id, &stored, &found));
    if (!found) continue;
    if (step.kind == DeleteStep::Kind::kDelete) {
      TDB_RETURN_IF_ERROR(delete_row(db, step.entity, step.id));
      TDB_RETURN_IF_ERROR(
          enforcer_.unindex_record(db, step.entity, step.id, stored.body, step.unlinked_fk));
      TDB_RETURN_IF_ERROR(log_change(db, step.entity, step.id, stored.partition, "Delete",
                                     std::move(stored.body), client_id, now_ms, events));
      continue;
    }
    Json record = Json::parse(stored.body, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) {
      return Status::corruption(
          fmt::format("database: record '{}' of '{}' is not a JSON object", step.id, step.entity));
    }
    Json old = record;
    for (const std::string& field : step.null_fields) set_null_at(record, field);
    int64_t version = stored.version + 1;
    record["_version"] = version;
    std::string body = dump_json(record);
    TDB_RETURN_IF_ERROR(
        enforcer_.index_record(db, step.entity, step.id, stored.partition, record, &old));
    {
      sqlite3_stmt* stmt = statements_[kUpdateRecord].get();
      ResetGuard guard{stmt};
      bind_text(stmt, 1, step.entity);
      bind_text(stmt, 2, step.id);
      sqlite3_bind_int64(stmt, 3, version);
      bind_text(stmt, 4, body);
      if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "update record");
    }
    TDB_RETURN_IF_ERROR(log_change(db, step.entity, step.id, stored.partition, "Update",
                                   std::move(body), client_id, now_ms, events));
  }
  return Status::ok();
}

Status RecordWriter::expire_one(sqlite3* db, const std::string& entity, const std::string& id,
                                int64_t deadline_ms, bool already_held, int64_t now_ms,
                                std::vector<ChangeEvent>* events, bool* deleted) {
  DeletePlan plan;
  std::optional<Answer> refusal;
  TDB_RETURN_IF_ERROR(enforcer_.plan_delete(db, entity, id, now_ms, &plan, &refusal));
  *deleted = !refusal;
  if (!refusal) return apply_plan(db, plan, "", now_ms, events);
  if (already_held) return Status::ok();
  // A restrict foreign key protects it: the expiry waits, and meanwhile the record stays
  // readable (reads hide records by expires_at_ms).
  for (Statement which : {kHoldExpiry, kInsertHeld}) {
    sqlite3_stmt* stmt = statements_[which].get();
    ResetGuard guard{stmt};
    bind_text(stmt, 1, entity);
    bind_text(stmt, 2, id);
    if (which == kInsertHeld) sqlite3_bind_int64(stmt, 3, deadline_ms);
    if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "hold expiry");
  }
  return Status::ok();
}

Status RecordWriter::expire(sqlite3* db, int64_t now_ms, int limit,
                            std::vector<ChangeEvent>* events, bool* more) {
  TDB_RETURN_IF_ERROR(prepare(db));
  TDB_RETURN_IF_ERROR(catalog_->ensure_loaded(db));
  struct Due {
    std::string entity;
    std::string id;
    int64_t deadline_ms;
    bool held;
  };
  std::vector<Due> due;
  for (Statement which : {kSelectExpired, kSelectHeld}) {
    bool held = which == kSelectHeld;
    // Held records exist only while a restrict foreign key references their entity.
    if (held && catalog_->constraints().empty()) continue;
    sqlite3_stmt* stmt = statements_[which].get();
    ResetGuard guard{stmt};
    if (held) {
      sqlite3_bind_int(stmt, 1, kHeldBatch);
    } else {
      sqlite3_bind_int64(stmt, 1, now_ms);
      sqlite3_bind_int(stmt, 2, limit);
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      due.push_back(
          {column_bytes(stmt, 0), column_bytes(stmt, 1), sqlite3_column_int64(stmt, 2), held});
    }
    if (rc != SQLITE_DONE) return sqlite_status(db, "select expired records");
    if (!held) *more = static_cast<int>(due.size()) >= limit;
  }
  for (const Due& record : due) {
    Stored stored;
    bool found = false;
    TDB_RETURN_IF_ERROR(select(db, record.entity, record.id, &stored, &found));
    if (!found && record.held) {
      sqlite3_stmt* stmt = statements_[kDeleteHeld].get();
      ResetGuard guard{stmt};
      bind_text(stmt, 1, record.entity);
      bind_text(stmt, 2, record.id);
      if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "drop held expiry");
      continue;
    }
    // A cascade earlier in this batch may have deleted it already.
    if (!found || (!record.held && !is_expired(stored.expires_at_ms, now_ms))) continue;
    bool deleted = false;
    TDB_RETURN_IF_ERROR(expire_one(db, record.entity, record.id, record.deadline_ms, record.held,
                                   now_ms, events, &deleted));
  }
  return Status::ok();
}

}  // namespace topicdb::db
