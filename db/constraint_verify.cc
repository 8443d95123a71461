#include "db/constraint_verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "db/constraint_admin.h"
#include "db/constraints.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

using storage::sqlite::bind_text;
using storage::sqlite::column_bytes;
using storage::sqlite::prepare;
using storage::sqlite::sqlite_status;

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

Result<bool> record_exists(sqlite3* db, const std::string& entity, const std::string& id) {
  auto stmt = prepare(db, "SELECT 1 FROM db_records WHERE entity=?1 AND id=?2");
  if (!stmt.is_ok()) return stmt.status();
  bind_text(stmt->get(), 1, entity);
  bind_text(stmt->get(), 2, id);
  int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "look up record");
  return rc == SQLITE_ROW;
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

}  // namespace topicdb::db
