#include "db/constraint_admin.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "db/change_log.h"
#include "db/constraint_enforcer.h"
#include "db/json_text.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

using storage::sqlite::bind_text;
using storage::sqlite::column_bytes;
using storage::sqlite::prepare;
using storage::sqlite::sqlite_status;

// Calls fn(id, partition, record) for every stored record of `entity` (expired ones not yet
// swept included: the structures cover every stored row).
Status for_each_record(sqlite3* db, const std::string& entity,
                       const std::function<Status(const std::string&, int, const Json&)>& fn) {
  auto scan = prepare(db, "SELECT id, partition, body FROM db_records WHERE entity=?1");
  if (!scan.is_ok()) return scan.status();
  bind_text(scan->get(), 1, entity);
  int rc;
  while ((rc = sqlite3_step(scan->get())) == SQLITE_ROW) {
    Json record = Json::parse(column_bytes(scan->get(), 2), nullptr, false);
    if (!record.is_object()) continue;
    TDB_RETURN_IF_ERROR(
        fn(column_bytes(scan->get(), 0), sqlite3_column_int(scan->get(), 1), record));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "scan records");
  return Status::ok();
}

Result<bool> exists(sqlite3* db, const char* sql, const std::string& a, const std::string& b) {
  auto stmt = prepare(db, sql);
  if (!stmt.is_ok()) return stmt.status();
  bind_text(stmt->get(), 1, a);
  if (!b.empty()) bind_text(stmt->get(), 2, b);
  int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "look up");
  return rc == SQLITE_ROW;
}

Result<bool> record_exists(sqlite3* db, const std::string& entity, const std::string& id) {
  return exists(db, "SELECT 1 FROM db_records WHERE entity=?1 AND id=?2", entity, id);
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

struct Drift {
  int64_t missing = 0;
  int64_t extra = 0;
  int64_t violations = 0;
  Json sample = Json::array();

  void note(Json item) {
    if (sample.size() < kConstraintSampleSize) sample.push_back(std::move(item));
  }
  bool any() const { return missing + extra + violations > 0; }
};

Status verify_unique(sqlite3* db, const Constraint& c, Drift* drift) {
  std::map<std::string, std::vector<std::string>> expected;
  TDB_RETURN_IF_ERROR(
      for_each_record(db, c.entity, [&](const std::string& id, int, const Json& record) {
        if (std::optional<std::string> key = unique_key(c.fields, record)) {
          expected[*key].push_back(id);
        }
        return Status::ok();
      }));
  std::map<std::string, std::string> stored;
  auto rows =
      prepare(db, "SELECT key, record_id FROM db_unique WHERE entity=?1 AND constraint_name=?2");
  if (!rows.is_ok()) return rows.status();
  bind_text(rows->get(), 1, c.entity);
  bind_text(rows->get(), 2, c.name);
  int rc;
  while ((rc = sqlite3_step(rows->get())) == SQLITE_ROW) {
    stored[column_bytes(rows->get(), 0)] = column_bytes(rows->get(), 1);
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "read unique rows");
  for (const auto& [key, ids] : expected) {
    if (ids.size() > 1) {
      ++drift->violations;
      drift->note(Json{{"kind", "duplicate"}, {"key", key}, {"ids", ids}});
    }
    auto it = stored.find(key);
    if (it == stored.end() || std::find(ids.begin(), ids.end(), it->second) == ids.end()) {
      ++drift->missing;
      drift->note(Json{{"kind", "missing_row"}, {"key", key}, {"id", ids.front()}});
    }
  }
  for (const auto& [key, id] : stored) {
    auto it = expected.find(key);
    if (it == expected.end() ||
        std::find(it->second.begin(), it->second.end(), id) == it->second.end()) {
      ++drift->extra;
      drift->note(Json{{"kind", "stale_row"}, {"key", key}, {"id", id}});
    }
  }
  return Status::ok();
}

Status verify_foreign_key(sqlite3* db, const Constraint& c, Drift* drift) {
  std::set<std::pair<std::string, std::string>> expected;  // (parent, child)
  TDB_RETURN_IF_ERROR(
      for_each_record(db, c.entity, [&](const std::string& id, int, const Json& record) {
        const Json* parent = field_value(record, c.field());
        if (parent == nullptr || parent->is_null()) return Status::ok();
        bool ok = false;
        if (parent->is_string()) {
          expected.emplace(parent->get<std::string>(), id);
          Result<bool> found = record_exists(db, c.target_entity, parent->get<std::string>());
          if (!found.is_ok()) return found.status();
          ok = *found;
        }
        if (!ok) {
          ++drift->violations;
          drift->note(Json{{"kind", "dangling_reference"}, {"id", id}, {"value", *parent}});
        }
        return Status::ok();
      }));
  std::set<std::pair<std::string, std::string>> stored;
  auto rows = prepare(
      db, "SELECT parent_id, child_id FROM db_fk_refs WHERE child_entity=?1 AND fk_name=?2");
  if (!rows.is_ok()) return rows.status();
  bind_text(rows->get(), 1, c.entity);
  bind_text(rows->get(), 2, c.name);
  int rc;
  while ((rc = sqlite3_step(rows->get())) == SQLITE_ROW) {
    stored.emplace(column_bytes(rows->get(), 0), column_bytes(rows->get(), 1));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "read reference rows");
  for (const auto& ref : expected) {
    if (!stored.contains(ref)) {
      ++drift->missing;
      drift->note(Json{{"kind", "missing_row"}, {"parent_id", ref.first}, {"id", ref.second}});
    }
  }
  for (const auto& ref : stored) {
    if (!expected.contains(ref)) {
      ++drift->extra;
      drift->note(Json{{"kind", "stale_row"}, {"parent_id", ref.first}, {"id", ref.second}});
    }
  }
  return Status::ok();
}

Status verify_not_null(sqlite3* db, const Constraint& c, Drift* drift) {
  return for_each_record(db, c.entity, [&](const std::string& id, int, const Json& record) {
    if (is_null_field(record, c.field())) {
      ++drift->violations;
      drift->note(Json{{"kind", "null"}, {"id", id}});
    }
    return Status::ok();
  });
}

// Rows whose (entity, constraint) names no current constraint of that kind.
Status verify_orphan_rows(sqlite3* db, const ConstraintSet& set, Json* problems) {
  struct Source {
    const char* sql;
    ConstraintKind kind;
  };
  for (const Source& source :
       {Source{"SELECT entity, constraint_name, count(*) FROM db_unique GROUP BY 1, 2",
               ConstraintKind::kUnique},
        Source{"SELECT child_entity, fk_name, count(*) FROM db_fk_refs GROUP BY 1, 2",
               ConstraintKind::kForeignKey}}) {
    auto rows = prepare(db, source.sql);
    if (!rows.is_ok()) return rows.status();
    int rc;
    while ((rc = sqlite3_step(rows->get())) == SQLITE_ROW) {
      std::string entity = column_bytes(rows->get(), 0);
      std::string name = column_bytes(rows->get(), 1);
      const Constraint* c = set.find(entity, name);
      if (c != nullptr && c->kind == source.kind) continue;
      problems->push_back(Json{
          {"entity", entity},
          {"constraint", "<unknown>"},
          {"type", constraint_kind_name(source.kind)},
          {"missing_rows", 0},
          {"extra_rows", sqlite3_column_int64(rows->get(), 2)},
          {"violations", 0},
          {"sample", Json::array({Json{{"kind", "rows_of_unknown_constraint"}, {"name", name}}})}});
    }
    if (rc != SQLITE_DONE) return sqlite_status(db, "read constraint rows");
  }
  return Status::ok();
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

Answer verify_constraints(sqlite3* db) {
  ConstraintSet set;
  Status loaded = load_constraints(db, &set);
  if (!loaded) return Answer::unavailable(loaded.message());
  Json problems = Json::array();
  std::vector<const Constraint*> all = set.all();
  for (const Constraint* c : all) {
    Drift drift;
    Status status;
    switch (c->kind) {
      case ConstraintKind::kUnique:
        status = verify_unique(db, *c, &drift);
        break;
      case ConstraintKind::kForeignKey:
        status = verify_foreign_key(db, *c, &drift);
        break;
      case ConstraintKind::kNotNull:
        status = verify_not_null(db, *c, &drift);
        break;
    }
    if (!status) return Answer::unavailable(status.message());
    if (!drift.any()) continue;
    problems.push_back(Json{{"entity", c->entity},
                            {"constraint", c->name},
                            {"type", constraint_kind_name(c->kind)},
                            {"missing_rows", drift.missing},
                            {"extra_rows", drift.extra},
                            {"violations", drift.violations},
                            {"sample", std::move(drift.sample)}});
  }
  Status orphans = verify_orphan_rows(db, set, &problems);
  if (!orphans) return Answer::unavailable(orphans.message());
  bool clean = problems.empty();
  return Answer::ok(
      Json{{"clean", clean}, {"constraints", all.size()}, {"problems", std::move(problems)}});
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
