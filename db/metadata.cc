#include "db/metadata.h"

#include <fmt/format.h>

#include <memory>

#include "db/json_text.h"
#include "db/names.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

using storage::sqlite::column_bytes;
using storage::sqlite::sqlite_status;

using Stmt = storage::sqlite::StatementPtr;
using storage::sqlite::bind_text;
using storage::sqlite::prepare;

// The definitions of `kind` for `entity`, in revision order: (name, definition) pairs.
Result<std::vector<std::pair<std::string, std::string>>> read_metadata(sqlite3* db,
                                                                       const char* kind,
                                                                       const std::string& entity) {
  auto stmt = prepare(db,
                      "SELECT name, definition FROM db_metadata WHERE kind=?1 AND entity=?2 "
                      "ORDER BY revision");
  if (!stmt.is_ok()) return stmt.status();
  sqlite3_bind_text(stmt->get(), 1, kind, -1, SQLITE_STATIC);
  bind_text(stmt->get(), 2, entity);
  std::vector<std::pair<std::string, std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    rows.emplace_back(column_bytes(stmt->get(), 0), column_bytes(stmt->get(), 1));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "read metadata");
  return rows;
}

Result<Json> index_definitions(sqlite3* db, const std::string& entity) {
  auto rows = read_metadata(db, "index", entity);
  if (!rows.is_ok()) return rows.status();
  Json list = Json::array();
  for (const auto& [name, definition] : *rows) {
    Json parsed = Json::parse(definition, nullptr, false);
    if (!parsed.is_discarded()) list.push_back(std::move(parsed));
  }
  return list;
}

}  // namespace

Status Catalog::ensure_loaded(sqlite3* db) {
  if (loaded_for_ == db) return Status::ok();
  schemas_.clear();
  auto stmt = prepare(db, "SELECT entity, definition FROM db_metadata WHERE kind='schema'");
  if (!stmt.is_ok()) return stmt.status();
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    std::string entity = column_bytes(stmt->get(), 0);
    Json definition = Json::parse(column_bytes(stmt->get(), 1), nullptr, false);
    Result<EntitySchema> schema = EntitySchema::parse(definition);
    if (!schema.is_ok()) {
      return Status::corruption(
          fmt::format("database: stored schema of '{}': {}", entity, schema.status().message()));
    }
    schemas_[entity] = std::make_unique<EntitySchema>(std::move(schema).value());
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "load schemas");
  TDB_RETURN_IF_ERROR(load_constraints(db, &constraints_));
  loaded_for_ = db;
  return Status::ok();
}

const EntitySchema* Catalog::schema(const std::string& entity) const {
  auto it = schemas_.find(entity);
  return it == schemas_.end() ? nullptr : it->second.get();
}

void Catalog::set_schema(const std::string& entity, EntitySchema schema) {
  schemas_[entity] = std::make_unique<EntitySchema>(std::move(schema));
}

Result<MetadataChange> apply_metadata(sqlite3* db, const std::string& kind,
                                      const std::string& entity, const std::string& name,
                                      const std::string& definition, int64_t now_ms) {
  auto current = prepare(db, "SELECT value FROM db_state WHERE key='metadata_revision'");
  if (!current.is_ok()) return current.status();
  int64_t revision = 1;
  int rc = sqlite3_step(current->get());
  if (rc == SQLITE_ROW) {
    revision = sqlite3_column_int64(current->get(), 0) + 1;
  } else if (rc != SQLITE_DONE) {
    return sqlite_status(db, "read metadata revision");
  }
  auto log = prepare(db,
                     "INSERT INTO db_metadata_log(revision, kind, entity, name, definition, at_ms) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  if (!log.is_ok()) return log.status();
  sqlite3_bind_int64(log->get(), 1, revision);
  bind_text(log->get(), 2, kind);
  bind_text(log->get(), 3, entity);
  bind_text(log->get(), 4, name);
  bind_text(log->get(), 5, definition);
  sqlite3_bind_int64(log->get(), 6, now_ms);
  if (sqlite3_step(log->get()) != SQLITE_DONE) return sqlite_status(db, "append metadata log");
  auto row = prepare(db,
                     "INSERT OR REPLACE INTO db_metadata(kind, entity, name, definition, revision) "
                     "VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!row.is_ok()) return row.status();
  bind_text(row->get(), 1, kind);
  bind_text(row->get(), 2, entity);
  bind_text(row->get(), 3, name);
  bind_text(row->get(), 4, definition);
  sqlite3_bind_int64(row->get(), 5, revision);
  if (sqlite3_step(row->get()) != SQLITE_DONE) return sqlite_status(db, "write metadata");
  auto state = prepare(db,
                       "INSERT OR REPLACE INTO db_state(key, value) "
                       "VALUES('metadata_revision', ?1)");
  if (!state.is_ok()) return state.status();
  sqlite3_bind_int64(state->get(), 1, revision);
  if (sqlite3_step(state->get()) != SQLITE_DONE) return sqlite_status(db, "bump revision");
  return MetadataChange{revision};
}

Result<MetadataChange> remove_metadata(sqlite3* db, const std::string& kind,
                                       const std::string& entity, const std::string& name,
                                       int64_t now_ms) {
  // The log row first (it takes the next revision), then the current row goes.
  Result<MetadataChange> change = apply_metadata(db, kind, entity, name, "null", now_ms);
  if (!change.is_ok()) return change;
  auto row = prepare(db, "DELETE FROM db_metadata WHERE kind=?1 AND entity=?2 AND name=?3");
  if (!row.is_ok()) return row.status();
  bind_text(row->get(), 1, kind);
  bind_text(row->get(), 2, entity);
  bind_text(row->get(), 3, name);
  if (sqlite3_step(row->get()) != SQLITE_DONE) return sqlite_status(db, "remove metadata");
  return change;
}

Status set_schema(sqlite3* db, Catalog* catalog, const std::string& entity, const Json& body,
                  int64_t now_ms, Answer* answer) {
  TDB_RETURN_IF_ERROR(catalog->ensure_loaded(db));
  Result<EntitySchema> schema = EntitySchema::parse(body);
  if (!schema.is_ok()) {
    *answer = Answer::bad_request(schema.status().message());
    return Status::ok();
  }
  // Existing live records must satisfy it (defaults are not written into them: a required
  // field they lack is a violation).
  auto scan = prepare(db,
                      "SELECT id, body FROM db_records WHERE entity=?1 AND "
                      "(expires_at_ms IS NULL OR expires_at_ms > ?2)");
  if (!scan.is_ok()) return scan.status();
  bind_text(scan->get(), 1, entity);
  sqlite3_bind_int64(scan->get(), 2, now_ms);
  Json offending = Json::array();
  std::string first_problem;
  int rc;
  while ((rc = sqlite3_step(scan->get())) == SQLITE_ROW) {
    Json record = Json::parse(column_bytes(scan->get(), 1), nullptr, false);
    Status valid = record.is_object() ? schema->validate(record)
                                      : Status::invalid_argument("record is not an object");
    if (valid) continue;
    if (first_problem.empty()) first_problem = valid.message();
    offending.push_back(column_bytes(scan->get(), 0));
    if (offending.size() >= 10) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "scan records");
  if (!offending.empty()) {
    *answer = Answer::conflict(
        fmt::format("existing records of '{}' violate the schema (e.g. record '{}': {})", entity,
                    offending[0].get<std::string>(), first_problem),
        Json{{"offending_ids", offending}});
    return Status::ok();
  }
  Result<MetadataChange> change = apply_metadata(db, "schema", entity, "", dump_json(body), now_ms);
  if (!change.is_ok()) return change.status();
  catalog->set_schema(entity, std::move(schema).value());
  *answer = Answer::ok(body);
  return Status::ok();
}

std::string index_ddl(const std::string& entity, const std::string& index_name,
                      const std::vector<std::string>& fields) {
  std::string columns;
  for (const std::string& field : fields) {
    if (!columns.empty()) columns += ", ";
    columns += json_extract_sql(field);
  }
  // Ending in id: a list orders by its sort keys and then id, so an equality filter on the
  // fields reads matches in answer order and stops at the limit, with no sort step that
  // would grow with the table.
  return fmt::format("CREATE INDEX IF NOT EXISTS \"{}\" ON db_records({}, id) WHERE entity={}",
                     index_name, columns, entity_literal(entity));
}

Status add_index(sqlite3* db, const std::string& entity, const Json& body, int64_t now_ms,
                 Answer* answer) {
  auto fields_it = body.find("fields");
  if (!body.is_object() || fields_it == body.end() || !fields_it->is_array() ||
      fields_it->empty() || fields_it->size() > 8) {
    *answer = Answer::bad_request("index needs \"fields\": an array of 1 to 8 field paths");
    return Status::ok();
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "fields") {
      *answer = Answer::bad_request(fmt::format("unknown index option '{}'", key));
      return Status::ok();
    }
  }
  std::vector<std::string> fields;
  std::string name;
  for (const Json& field : *fields_it) {
    if (!field.is_string()) {
      *answer = Answer::bad_request("index fields must be strings");
      return Status::ok();
    }
    Status valid = check_field_path(field.get_ref<const std::string&>());
    if (!valid) {
      *answer = Answer::bad_request(valid.message());
      return Status::ok();
    }
    fields.push_back(field.get<std::string>());
    if (!name.empty()) name += ',';
    name += fields.back();
  }
  auto existing = read_metadata(db, "index", entity);
  if (!existing.is_ok()) return existing.status();
  bool exists = false;
  for (const auto& [existing_name, definition] : *existing) exists |= existing_name == name;
  if (!exists) {
    Json definition = Json{{"fields", fields}};
    Result<MetadataChange> change =
        apply_metadata(db, "index", entity, name, dump_json(definition), now_ms);
    if (!change.is_ok()) return change.status();
    std::string ddl =
        index_ddl(entity, fmt::format("dbidx_{}_{}", entity, change->revision), fields);
    TDB_RETURN_IF_ERROR(storage::sqlite::exec(db, ddl.c_str()));
  }
  Result<Json> list = index_definitions(db, entity);
  if (!list.is_ok()) return list.status();
  *answer = Answer::ok(std::move(list).value());
  return Status::ok();
}

Answer get_schema(sqlite3* db, const std::string& entity) {
  auto rows = read_metadata(db, "schema", entity);
  if (!rows.is_ok()) return Answer::unavailable(rows.status().message());
  if (rows->empty()) return Answer::not_found(fmt::format("no schema for '{}'", entity));
  Json schema = Json::parse(rows->front().second, nullptr, false);
  if (schema.is_discarded()) return Answer::unavailable("stored schema is not JSON");
  return Answer::ok(std::move(schema));
}

Answer list_indexes(sqlite3* db, const std::string& entity) {
  Result<Json> list = index_definitions(db, entity);
  if (!list.is_ok()) return Answer::unavailable(list.status().message());
  return Answer::ok(std::move(list).value());
}

}  // namespace topicdb::db
