#include "db/constraint_admin.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "db/change_log.h"
#include "db/constraint_enforcer.h"
#include "db/constraint_verify.h"
#include "db/json_text.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

using storage::sqlite::bind_text;
using storage::sqlite::column_bytes;
using storage::sqlite::prepare;
using storage::sqlite::sqlite_status;

Result<bool> exists(sqlite3* db, const char* sql, const std::string& a, const std::string& b) {
  auto stmt = prepare(db, sql);
  if (!stmt.is_ok()) return stmt.status();
  bind_text(stmt->get(), 1, a);
  if (!b.empty()) bind_text(stmt->get(), 2, b);
  int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "look up");
  return rc == SQLITE_ROW;
}

// An entity is known when it has records, a schema or other metadata.
Result<bool> entity_known(sqlite3* db, const std::string& entity) {
  return exists(db,
                "SELECT 1 WHERE EXISTS(SELECT 1 FROM db_records WHERE entity=?1) OR "
                "EXISTS(SELECT 1 FROM db_metadata WHERE entity=?1)",
                entity, "");
}

// Existing records that `c` would refuse, up to kConstraintSampleSize, and a message about
// the first.
Status find_violations(sqlite3* db, const Constraint& c, Json* offending, std::string* first) {
  std::map<std::string, std::string> seen;  // unique key -> first id
  return for_each_record(db, c.entity, [&](const std::string& id, int, const Json& record) {
    if (offending->size() >= kConstraintSampleSize) return Status::ok();
    switch (c.kind) {
      case ConstraintKind::kNotNull:
        if (is_null_field(record, c.field())) {
          if (first->empty()) *first = fmt::format("record '{}' has no {}", id, c.field());
          offending->push_back(Json{{"id", id}});
        }
        break;
      case ConstraintKind::kUnique: {
        std::optional<std::string> key = unique_key(c.fields, record);
        if (!key) break;
        auto [it, inserted] = seen.try_emplace(*key, id);
        if (!inserted) {
          if (first->empty()) {
            *first = fmt::format("records '{}' and '{}' share {}", it->second, id,
                                 describe_value(c, record));
          }
          offending->push_back(
              Json{{"ids", {it->second, id}}, {"value", Json::parse(*key, nullptr, false)}});
        }
        break;
      }
      case ConstraintKind::kForeignKey: {
        const Json* value = field_value(record, c.field());
        if (value == nullptr || value->is_null()) break;
        bool ok = false;
        if (value->is_string()) {
          Result<bool> found = record_exists(db, c.target_entity, value->get<std::string>());
          if (!found.is_ok()) return found.status();
          ok = *found;
        }
        if (!ok) {
          if (first->empty()) {
            *first = fmt::format("record '{}' has {}, which names no record of '{}'", id,
                                 describe_value(c, record), c.target_entity);
          }
          offending->push_back(Json{{"id", id}, {"value", *value}});
        }
        break;
      }
    }
    return Status::ok();
  });
}

// Writes the rows of `c` for every stored record.
Status build_rows(sqlite3* db, const Constraint& c) {
  if (c.kind == ConstraintKind::kNotNull) return Status::ok();
  const char* sql = c.kind == ConstraintKind::kUnique
                        ? "INSERT OR IGNORE INTO db_unique(entity, constraint_name, key, "
                          "record_id, partition) VALUES(?1, ?2, ?3, ?4, ?5)"
                        : "INSERT OR IGNORE INTO db_fk_refs(child_entity, fk_name, parent_id, "
                          "child_id, partition) VALUES(?1, ?2, ?3, ?4, ?5)";
  auto insert = prepare(db, sql);
  if (!insert.is_ok()) return insert.status();
  sqlite3_stmt* stmt = insert->get();
  return for_each_record(db, c.entity,
                         [&](const std::string& id, int partition, const Json& record) {
                           std::string value;
                           if (c.kind == ConstraintKind::kUnique) {
                             std::optional<std::string> key = unique_key(c.fields, record);
                             if (!key) return Status::ok();
                             value = std::move(*key);
                           } else {
                             const Json* parent = field_value(record, c.field());
                             if (parent == nullptr || !parent->is_string()) return Status::ok();
                             value = parent->get<std::string>();
                           }
                           sqlite3_reset(stmt);
                           bind_text(stmt, 1, c.entity);
                           bind_text(stmt, 2, c.name);
                           bind_text(stmt, 3, value);
                           bind_text(stmt, 4, id);
                           sqlite3_bind_int(stmt, 5, partition);
                           if (sqlite3_step(stmt) != SQLITE_DONE)
                             return sqlite_status(db, "build constraint rows");
                           return Status::ok();
                         });
}

Status delete_rows(sqlite3* db, const Constraint& c) {
  if (c.kind == ConstraintKind::kNotNull) return Status::ok();
  auto stmt = prepare(db, c.kind == ConstraintKind::kUnique
                              ? "DELETE FROM db_unique WHERE entity=?1 AND constraint_name=?2"
                              : "DELETE FROM db_fk_refs WHERE child_entity=?1 AND fk_name=?2");
  if (!stmt.is_ok()) return stmt.status();
  bind_text(stmt->get(), 1, c.entity);
  bind_text(stmt->get(), 2, c.name);
  if (sqlite3_step(stmt->get()) != SQLITE_DONE) return sqlite_status(db, "remove constraint rows");
  return Status::ok();
}

// The cross-constraint rules of an add (400 text, or empty when fine).
std::string conflicting_rule(const Catalog& catalog, const Constraint& c) {
  const std::vector<Constraint>& rules = catalog.constraints().of(c.entity);
  if (c.kind == ConstraintKind::kForeignKey && c.on_delete == OnDelete::kSetNull) {
    for (const Constraint& other : rules) {
      if (other.kind == ConstraintKind::kNotNull && other.field() == c.field()) {
        return fmt::format(
            "constraint '{}': on_delete set_null cannot clear '{}': not-null constraint '{}' "
            "covers it",
            c.name, c.field(), other.name);
      }
    }
    if (const EntitySchema* schema = catalog.schema(c.entity)) {
      auto rule = schema->fields().find(c.field());
      if (rule != schema->fields().end() && rule->second.required) {
        return fmt::format(
            "constraint '{}': on_delete set_null cannot clear '{}': the schema of '{}' requires "
            "it",
            c.name, c.field(), c.entity);
      }
    }
  }
  if (c.kind == ConstraintKind::kNotNull) {
    for (const Constraint& other : rules) {
      if (other.kind == ConstraintKind::kForeignKey && other.on_delete == OnDelete::kSetNull &&
          other.field() == c.field()) {
        return fmt::format(
            "constraint '{}': '{}' cannot be not-null: foreign key '{}' (on_delete set_null) "
            "clears it",
            c.name, c.field(), other.name);
      }
    }
  }
  return {};
}

}  // namespace

Status add_constraint(sqlite3* db, Catalog* catalog, const std::string& entity, const Json& body,
                      int64_t now_ms, Answer* answer) {
  TDB_RETURN_IF_ERROR(catalog->ensure_loaded(db));
  Result<Constraint> parsed = parse_constraint(entity, body);
  if (!parsed.is_ok()) {
    *answer = Answer::bad_request(parsed.status().message());
    return Status::ok();
  }
  Constraint c = std::move(parsed).value();
  if (catalog->constraints().find(entity, c.name) != nullptr) {
    *answer = Answer::conflict(fmt::format(
        "constraint '{}' already exists on '{}' (names are unique per entity)", c.name, entity));
    return Status::ok();
  }
  if (c.kind == ConstraintKind::kForeignKey && c.target_entity != entity) {
    Result<bool> known = entity_known(db, c.target_entity);
    if (!known.is_ok()) return known.status();
    if (!*known) {
      *answer = Answer::bad_request(fmt::format(
          "constraint '{}': unknown target entity '{}' (it has no records, schema or metadata)",
          c.name, c.target_entity));
      return Status::ok();
    }
  }
  if (std::string rule = conflicting_rule(*catalog, c); !rule.empty()) {
    *answer = Answer::bad_request(std::move(rule));
    return Status::ok();
  }
  Json offending = Json::array();
  std::string first;
  TDB_RETURN_IF_ERROR(find_violations(db, c, &offending, &first));
  if (!offending.empty()) {
    *answer = Answer::conflict(
        fmt::format("existing records of '{}' violate {} constraint '{}' (e.g. {})", entity,
                    constraint_kind_name(c.kind), c.name, first),
        Json{{"constraint", c.name}, {"offending", offending}});
    return Status::ok();
  }
  Json definition = c.to_json();
  Result<MetadataChange> change =
      apply_metadata(db, "constraint", entity, c.name, dump_json(definition), now_ms);
  if (!change.is_ok()) return change.status();
  TDB_RETURN_IF_ERROR(build_rows(db, c));
  TDB_RETURN_IF_ERROR(write_state(db, "constraint_rows", 1));
  catalog->mutable_constraints().add(std::move(c));
  *answer = Answer::ok(std::move(definition));
  return Status::ok();
}

Status remove_constraint(sqlite3* db, Catalog* catalog, const std::string& entity, const Json& body,
                         int64_t now_ms, Answer* answer) {
  TDB_RETURN_IF_ERROR(catalog->ensure_loaded(db));
  auto name = body.find("name");
  if (!body.is_object() || name == body.end() || !name->is_string() || body.size() != 1) {
    *answer = Answer::bad_request("constraint remove needs exactly {\"name\": a string}");
    return Status::ok();
  }
  const Constraint* found = catalog->constraints().find(entity, name->get<std::string>());
  if (found == nullptr) {
    *answer = Answer::not_found(
        fmt::format("no constraint '{}' on '{}'", name->get<std::string>(), entity));
    return Status::ok();
  }
  Result<MetadataChange> change = remove_metadata(db, "constraint", entity, found->name, now_ms);
  if (!change.is_ok()) return change.status();
  TDB_RETURN_IF_ERROR(delete_rows(db, *found));
  std::string removed = found->name;
  catalog->mutable_constraints().remove(entity, removed);
  *answer = Answer::ok(Json{{"name", removed}, {"removed", true}});
  return Status::ok();
}

Answer list_constraints(sqlite3* db, const std::string& entity) {
  auto stmt = prepare(db,
                      "SELECT definition FROM db_metadata WHERE kind='constraint' AND entity=?1 "
                      "ORDER BY revision");
  if (!stmt.is_ok()) return Answer::unavailable(stmt.status().message());
  bind_text(stmt->get(), 1, entity);
  Json list = Json::array();
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    Json definition = Json::parse(column_bytes(stmt->get(), 0), nullptr, false);
    if (!definition.is_discarded()) list.push_back(std::move(definition));
  }
  if (rc != SQLITE_DONE)
    return Answer::unavailable(sqlite_status(db, "list constraints").message());
  return Answer::ok(std::move(list));
}

Status rebuild_constraint_rows_if_missing(sqlite3* db, Catalog* catalog, bool* rebuilt) {
  *rebuilt = false;
  TDB_RETURN_IF_ERROR(catalog->ensure_loaded(db));
  Result<int64_t> marked = read_state(db, "constraint_rows");
  if (!marked.is_ok()) return marked.status();
  bool missing = *marked == 0;
  if (!missing) {
    Result<int64_t> rows = storage::sqlite::query_int(
        db,
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM db_unique LIMIT 1)) + "
        "(SELECT count(*) FROM (SELECT 1 FROM db_fk_refs LIMIT 1))");
    if (!rows.is_ok()) return rows.status();
    if (*rows == 0) {
      for (const Constraint* c : catalog->constraints().all()) {
        if (c->kind == ConstraintKind::kNotNull) continue;
        Result<bool> has = exists(db, "SELECT 1 FROM db_records WHERE entity=?1", c->entity, "");
        if (!has.is_ok()) return has.status();
        if (*has) missing = true;
      }
    }
  }
  if (!missing) return Status::ok();
  TDB_RETURN_IF_ERROR(storage::sqlite::exec(db, "DELETE FROM db_unique; DELETE FROM db_fk_refs;"));
  for (const Constraint* c : catalog->constraints().all()) TDB_RETURN_IF_ERROR(build_rows(db, *c));
  TDB_RETURN_IF_ERROR(write_state(db, "constraint_rows", 1));
  *rebuilt = true;
  return Status::ok();
}

}  // namespace topicdb::db
