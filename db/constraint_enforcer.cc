#include "db/constraint_enforcer.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include "db/json_text.h"

namespace topicdb::db {

namespace {

using storage::sqlite::column_bytes;
using storage::sqlite::sqlite_status;

// Indexed by ConstraintEnforcer::Statement.
constexpr const char* kStatementSql[] = {
    "SELECT record_id FROM db_unique WHERE entity=?1 AND constraint_name=?2 AND key=?3",
    "INSERT INTO db_unique(entity, constraint_name, key, record_id, partition) "
    "VALUES(?1, ?2, ?3, ?4, ?5)",
    "DELETE FROM db_unique WHERE entity=?1 AND constraint_name=?2 AND key=?3 AND record_id=?4",
    "INSERT OR IGNORE INTO db_fk_refs(child_entity, fk_name, parent_id, child_id, partition) "
    "VALUES(?1, ?2, ?3, ?4, ?5)",
    "DELETE FROM db_fk_refs WHERE child_entity=?1 AND fk_name=?2 AND parent_id=?3 AND "
    "child_id=?4",
    "SELECT child_id FROM db_fk_refs WHERE child_entity=?1 AND fk_name=?2 AND parent_id=?3",
    "SELECT rowid, expires_at_ms FROM db_records WHERE entity=?1 AND id=?2",
    "SELECT expires_at_ms FROM db_records WHERE entity=?1 AND id=?2",
    "DELETE FROM db_expiry_held WHERE entity=?1 AND id=?2",
    "DELETE FROM db_fk_refs WHERE child_entity=?1 AND fk_name=?2 AND parent_id=?3",
    "SELECT entity, id, expires_at_ms FROM db_records WHERE rowid=?1",
};

// Parents whose rowid record_live() remembers; past it the memory starts over.
constexpr size_t kMaxRememberedParents = 4096;

// Binds without copying: every bound string outlives the step.
void bind_str(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_text64(stmt, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// Resets the statement when the scope ends, whatever path leaves it.
struct Reset {
  sqlite3_stmt* stmt;
  ~Reset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

Status step_done(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) {
  Reset reset{stmt};
  if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, what);
  return Status::ok();
}

// A not-null constraint of `entity` on `field`, or a required schema field: what set_null
// may not clear. Empty when none.
std::string null_forbidden_by(const Catalog& catalog, const std::string& entity,
                              const std::string& field) {
  for (const Constraint& c : catalog.constraints().of(entity)) {
    if (c.kind == ConstraintKind::kNotNull && c.field() == field) {
      return fmt::format("not-null constraint '{}'", c.name);
    }
  }
  if (const EntitySchema* schema = catalog.schema(entity)) {
    auto rule = schema->fields().find(field);
    if (rule != schema->fields().end() && rule->second.required) {
      return fmt::format("the schema of '{}' (a required field)", entity);
    }
  }
  return {};
}

}  // namespace

std::string describe_value(const Constraint& constraint, const Json& record) {
  if (constraint.fields.size() == 1) {
    const Json* value = field_value(record, constraint.field());
    return fmt::format("{}={}", constraint.field(), value ? dump_json(*value) : "null");
  }
  Json tuple = Json::object();
  for (const std::string& field : constraint.fields) {
    const Json* value = field_value(record, field);
    tuple[field] = value ? *value : Json();
  }
  return dump_json(tuple);
}

Status ConstraintEnforcer::prepare(sqlite3* db) {
  if (prepared_for_ == db) return Status::ok();
  static_assert(std::size(kStatementSql) == kStatementCount);
  for (size_t i = 0; i < kStatementCount; ++i) {
    Result<storage::sqlite::StatementPtr> s =
        storage::sqlite::prepare_persistent(db, kStatementSql[i]);
    if (!s.is_ok()) return s.status();
    statements_[i] = std::move(s).value();
  }
  prepared_for_ = db;
  parent_rowids_.clear();  // rowids of another database
  return Status::ok();
}

bool ConstraintEnforcer::has_rules(const std::string& entity) const {
  return !catalog_->constraints().of(entity).empty();
}

namespace {

std::string_view column_view(sqlite3_stmt* stmt, int column) {
  const auto* text = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  return {text != nullptr ? text : "", static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

bool unexpired(sqlite3_stmt* stmt, int column, int64_t now_ms) {
  return sqlite3_column_type(stmt, column) == SQLITE_NULL ||
         sqlite3_column_int64(stmt, column) > now_ms;
}

}  // namespace

Status ConstraintEnforcer::record_live(sqlite3* db, const std::string& entity,
                                       const std::string& id, int64_t now_ms, bool* live) {
  std::string key;
  key.reserve(entity.size() + 1 + id.size());
  key.append(entity).push_back('\0');
  key.append(id);
  if (auto known = parent_rowids_.find(key); known != parent_rowids_.end()) {
    sqlite3_stmt* s = stmt(kParentByRowid);
    Reset reset{s};
    sqlite3_bind_int64(s, 1, known->second);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && column_view(s, 0) == entity && column_view(s, 1) == id) {
      *live = unexpired(s, 2, now_ms);
      return Status::ok();
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "look up reference");
    parent_rowids_.erase(known);  // deleted, or the rowid is another record's now
  }
  sqlite3_stmt* s = stmt(kParentExists);
  Reset reset{s};
  bind_str(s, 1, entity);
  bind_str(s, 2, id);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "look up reference");
  *live = rc == SQLITE_ROW && unexpired(s, 1, now_ms);
  if (rc == SQLITE_ROW) {
    if (parent_rowids_.size() >= kMaxRememberedParents) parent_rowids_.clear();
    parent_rowids_.emplace(std::move(key), sqlite3_column_int64(s, 0));
  }
  return Status::ok();
}

Answer ConstraintEnforcer::unique_refusal(const Constraint& c, const std::string& entity,
                                          const Json& record, const std::string& holder) {
  return Answer::conflict(
      fmt::format("unique constraint '{}' of '{}': {} is already taken by record '{}'", c.name,
                  entity, describe_value(c, record), holder),
      Json{{"constraint", c.name}, {"id", holder}});
}

Status ConstraintEnforcer::check(sqlite3* db, const std::string& entity, const std::string& id,
                                 const Json& record, int64_t now_ms, std::optional<Answer>* refusal,
                                 RowValues* values, bool look_up_unique) {
  const std::vector<Constraint>& rules = catalog_->constraints().of(entity);
  if (values != nullptr) values->assign(rules.size(), std::nullopt);
  if (rules.empty()) return Status::ok();
  TDB_RETURN_IF_ERROR(prepare(db));
  for (size_t i = 0; i < rules.size(); ++i) {
    const Constraint& c = rules[i];
    switch (c.kind) {
      case ConstraintKind::kNotNull:
        if (is_null_field(record, c.field())) {
          *refusal = Answer::conflict(
              fmt::format("not-null constraint '{}' of '{}': field '{}' is null or missing", c.name,
                          entity, c.field()),
              Json{{"constraint", c.name}, {"field", c.field()}});
          return Status::ok();
        }
        break;
      case ConstraintKind::kForeignKey: {
        const Json* value = field_value(record, c.field());
        if (value == nullptr || value->is_null()) break;
        bool live = false;
        if (value->is_string()) {
          const std::string& parent = value->get_ref<const std::string&>();
          if (c.target_entity == entity && parent == id) {
            live = true;  // a record may reference itself
          } else {
            TDB_RETURN_IF_ERROR(record_live(db, c.target_entity, parent, now_ms, &live));
          }
        }
        if (!live) {
          *refusal = Answer::conflict(
              fmt::format("foreign key '{}' of '{}': {} references no record of '{}'", c.name,
                          entity, describe_value(c, record), c.target_entity),
              Json{{"constraint", c.name}, {"field", c.field()}, {"value", *value}});
          return Status::ok();
        }
        if (values != nullptr) (*values)[i] = value->get_ref<const std::string&>();
        break;
      }
      case ConstraintKind::kUnique: {
        std::optional<std::string> key = unique_key(c.fields, record);
        if (!key) break;
        if (!look_up_unique) {
          if (values != nullptr) (*values)[i] = std::move(key);
          break;
        }
        sqlite3_stmt* s = stmt(kSelectUnique);
        Reset reset{s};
        bind_str(s, 1, entity);
        bind_str(s, 2, c.name);
        bind_str(s, 3, *key);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
          std::string holder = column_bytes(s, 0);
          if (holder != id) {
            *refusal = unique_refusal(c, entity, record, holder);
            return Status::ok();
          }
        } else if (rc != SQLITE_DONE) {
          return sqlite_status(db, "look up unique key");
        }
        if (values != nullptr) (*values)[i] = std::move(key);
        break;
      }
    }
  }
  return Status::ok();
}

namespace {

// The row value of `c` for `record`: the unique key, or the referenced parent id.
std::optional<std::string> row_value(const Constraint& c, const Json& record) {
  if (c.kind == ConstraintKind::kUnique) return unique_key(c.fields, record);
  const Json* value = field_value(record, c.field());
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

}  // namespace

Status ConstraintEnforcer::write_rows(sqlite3* db, const std::string& entity, const std::string& id,
                                      int partition, const Json* record, const Json* old,
                                      const std::string& skip_fk, const RowValues* checked) {
  const std::vector<Constraint>& rules = catalog_->constraints().of(entity);
  if (checked != nullptr && checked->size() != rules.size()) checked = nullptr;
  for (size_t i = 0; i < rules.size(); ++i) {
    const Constraint& c = rules[i];
    if (c.kind == ConstraintKind::kNotNull) continue;
    if (c.kind == ConstraintKind::kForeignKey && !skip_fk.empty() && c.name == skip_fk) continue;
    bool unique = c.kind == ConstraintKind::kUnique;
    std::optional<std::string> now;
    if (checked != nullptr) {
      now = (*checked)[i];
    } else if (record != nullptr) {
      now = row_value(c, *record);
    }
    std::optional<std::string> before = old ? row_value(c, *old) : std::nullopt;
    if (now == before) continue;  // an update that leaves the value alone
    if (before) {
      sqlite3_stmt* s = stmt(unique ? kDeleteUniqueOfRecord : kDeleteRefsOfChild);
      bind_str(s, 1, entity);
      bind_str(s, 2, c.name);
      bind_str(s, 3, *before);
      bind_str(s, 4, id);
      TDB_RETURN_IF_ERROR(step_done(db, s, "remove constraint row"));
    }
    if (now) {
      sqlite3_stmt* s = stmt(unique ? kInsertUnique : kInsertRef);
      bind_str(s, 1, entity);
      bind_str(s, 2, c.name);
      bind_str(s, 3, *now);
      bind_str(s, 4, id);
      sqlite3_bind_int(s, 5, partition);
      TDB_RETURN_IF_ERROR(step_done(db, s, unique ? "insert unique key" : "insert reference"));
    }
  }
  return Status::ok();
}

Status ConstraintEnforcer::index_record(sqlite3* db, const std::string& entity,
                                        const std::string& id, int partition, const Json& record,
                                        const Json* old, const RowValues* checked) {
  if (!has_rules(entity)) return Status::ok();
  TDB_RETURN_IF_ERROR(prepare(db));
  return write_rows(db, entity, id, partition, &record, old, {}, checked);
}

Status ConstraintEnforcer::claim_record(sqlite3* db, const std::string& entity,
                                        const std::string& id, int partition, const Json& record,
                                        const RowValues& checked, std::optional<Answer>* refusal) {
  const std::vector<Constraint>& rules = catalog_->constraints().of(entity);
  if (rules.empty()) return Status::ok();
  if (checked.size() != rules.size()) return Status::internal("claim_record: stale row values");
  TDB_RETURN_IF_ERROR(prepare(db));
  std::vector<size_t> claimed;  // unique constraints whose key this call inserted
  for (size_t i = 0; i < rules.size(); ++i) {
    const Constraint& c = rules[i];
    if (c.kind != ConstraintKind::kUnique || !checked[i]) continue;
    sqlite3_stmt* s = stmt(kInsertUnique);
    int rc;
    {
      Reset reset{s};
      bind_str(s, 1, entity);
      bind_str(s, 2, c.name);
      bind_str(s, 3, *checked[i]);
      bind_str(s, 4, id);
      sqlite3_bind_int(s, 5, partition);
      rc = sqlite3_step(s);
    }
    if (rc == SQLITE_DONE) {
      claimed.push_back(i);
      continue;
    }
    if ((rc & 0xff) != SQLITE_CONSTRAINT) return sqlite_status(db, "insert unique key");
    // Taken: by whom, for the answer. A row that already names this record (left by an
    // earlier record of the same id) is this record's key.
    std::string holder;
    {
      sqlite3_stmt* select = stmt(kSelectUnique);
      Reset reset{select};
      bind_str(select, 1, entity);
      bind_str(select, 2, c.name);
      bind_str(select, 3, *checked[i]);
      if (sqlite3_step(select) != SQLITE_ROW) return sqlite_status(db, "look up unique key");
      holder = column_bytes(select, 0);
    }
    if (holder == id) continue;
    for (size_t j : claimed) {
      sqlite3_stmt* undo = stmt(kDeleteUniqueOfRecord);
      bind_str(undo, 1, entity);
      bind_str(undo, 2, rules[j].name);
      bind_str(undo, 3, *checked[j]);
      bind_str(undo, 4, id);
      TDB_RETURN_IF_ERROR(step_done(db, undo, "remove unique key"));
    }
    *refusal = unique_refusal(c, entity, record, holder);
    return Status::ok();
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    const Constraint& c = rules[i];
    if (c.kind != ConstraintKind::kForeignKey || !checked[i]) continue;
    sqlite3_stmt* s = stmt(kInsertRef);
    bind_str(s, 1, entity);
    bind_str(s, 2, c.name);
    bind_str(s, 3, *checked[i]);
    bind_str(s, 4, id);
    sqlite3_bind_int(s, 5, partition);
    TDB_RETURN_IF_ERROR(step_done(db, s, "insert reference"));
  }
  return Status::ok();
}

Status ConstraintEnforcer::unindex_record(sqlite3* db, const std::string& entity,
                                          const std::string& id, const std::string& old_body,
                                          const std::string& unlinked_fk) {
  bool referenced = !catalog_->constraints().referencing(entity).empty();
  // A cascaded child whose only row is the one its parent's range delete removed (the common
  // case) needs no parse of its body.
  bool has_rows = false;
  for (const Constraint& c : catalog_->constraints().of(entity)) {
    if (c.kind == ConstraintKind::kNotNull) continue;
    if (c.kind == ConstraintKind::kForeignKey && !unlinked_fk.empty() && c.name == unlinked_fk) {
      continue;
    }
    has_rows = true;
    break;
  }
  if (!has_rows && !referenced) return Status::ok();
  TDB_RETURN_IF_ERROR(prepare(db));
  if (has_rows) {
    Json old = Json::parse(old_body, nullptr, /*allow_exceptions=*/false);
    TDB_RETURN_IF_ERROR(write_rows(db, entity, id, 0, nullptr, &old, unlinked_fk));
  }
  if (referenced) {
    sqlite3_stmt* s = stmt(kDeleteHeld);
    bind_str(s, 1, entity);
    bind_str(s, 2, id);
    TDB_RETURN_IF_ERROR(step_done(db, s, "remove held expiry"));
  }
  return Status::ok();
}

Status ConstraintEnforcer::unlink_children(sqlite3* db, const std::string& child_entity,
                                           const std::string& fk_name,
                                           const std::string& parent_id) {
  TDB_RETURN_IF_ERROR(prepare(db));
  sqlite3_stmt* s = stmt(kDeleteRefsOfParent);
  bind_str(s, 1, child_entity);
  bind_str(s, 2, fk_name);
  bind_str(s, 3, parent_id);
  return step_done(db, s, "remove references of a parent");
}

Status ConstraintEnforcer::plan_delete(sqlite3* db, const std::string& entity,
                                       const std::string& id, int64_t now_ms, DeletePlan* plan,
                                       std::optional<Answer>* refusal) {
  plan->steps.clear();
  plan->steps.push_back({DeleteStep::Kind::kDelete, entity, id, {}});
  if (catalog_->constraints().referencing(entity).empty()) return Status::ok();
  TDB_RETURN_IF_ERROR(prepare(db));

  using Key = std::pair<std::string, std::string>;  // (entity, id)
  struct Edge {
    const Constraint* fk;
    Key parent;
    Key child;
  };
  std::set<Key> deleting = {{entity, id}};
  std::deque<std::pair<Key, size_t>> queue = {{{entity, id}, 0}};  // with the parent's step
  std::vector<Edge> restricted;
  std::vector<Edge> nulled;
  // Breadth-first over cascade edges; then restrict edges: a child past its TTL deadline is
  // gone for clients already, so the plan deletes it now (as the sweep would) and follows its
  // own children in another round. Any other child outside the plan refuses the delete.
  while (!queue.empty()) {
    while (!queue.empty()) {
      Key parent = std::move(queue.front().first);
      size_t parent_step = queue.front().second;
      queue.pop_front();
      for (const Constraint* fk : catalog_->constraints().referencing(parent.first)) {
        std::vector<std::string> children;
        {
          sqlite3_stmt* s = stmt(kSelectChildren);
          Reset reset{s};
          bind_str(s, 1, fk->entity);
          bind_str(s, 2, fk->name);
          bind_str(s, 3, parent.second);
          int rc;
          while ((rc = sqlite3_step(s)) == SQLITE_ROW) children.push_back(column_bytes(s, 0));
          if (rc != SQLITE_DONE) return sqlite_status(db, "read references");
        }
        // Every child of a cascade is deleted by the plan (here or, reached first through
        // another parent, earlier), so its row naming this parent goes in one range delete.
        if (fk->on_delete == OnDelete::kCascade && !children.empty()) {
          plan->steps[parent_step].unlink_children.emplace_back(fk->entity, fk->name);
        }
        for (std::string& child_id : children) {
          Key child{fk->entity, std::move(child_id)};
          if (fk->on_delete == OnDelete::kRestrict) {
            restricted.push_back({fk, parent, std::move(child)});
          } else if (fk->on_delete == OnDelete::kSetNull) {
            nulled.push_back({fk, parent, std::move(child)});
          } else if (deleting.insert(child).second) {
            plan->steps.push_back(
                {DeleteStep::Kind::kDelete, child.first, child.second, {}, {}, fk->name});
            queue.emplace_back(std::move(child), plan->steps.size() - 1);
          }
        }
      }
    }
    for (Edge& edge : restricted) {
      if (deleting.contains(edge.child)) continue;
      sqlite3_stmt* s = stmt(kSelectExpiry);
      bool expired = false;
      {
        Reset reset{s};
        bind_str(s, 1, edge.child.first);
        bind_str(s, 2, edge.child.second);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_status(db, "read child expiry");
        // A reference row without its record is drift (verify reports it): it blocks nothing.
        expired = rc == SQLITE_DONE || (sqlite3_column_type(s, 0) != SQLITE_NULL &&
                                        sqlite3_column_int64(s, 0) <= now_ms);
        if (rc == SQLITE_DONE) continue;
      }
      if (expired) {
        deleting.insert(edge.child);
        plan->steps.push_back({DeleteStep::Kind::kDelete, edge.child.first, edge.child.second, {}});
        queue.emplace_back(edge.child, plan->steps.size() - 1);
        continue;
      }
      *refusal = Answer::conflict(
          fmt::format("cannot delete record '{}' of '{}': record '{}' of '{}' references it "
                      "through foreign key '{}' (on_delete restrict)",
                      edge.parent.second, edge.parent.first, edge.child.second, edge.child.first,
                      edge.fk->name),
          Json{{"constraint", edge.fk->name},
               {"child_entity", edge.child.first},
               {"child_id", edge.child.second}});
      return Status::ok();
    }
  }
  std::map<Key, size_t> null_steps;  // child -> its step
  for (Edge& edge : nulled) {
    if (deleting.contains(edge.child)) continue;
    std::string forbidden = null_forbidden_by(*catalog_, edge.child.first, edge.fk->field());
    if (!forbidden.empty()) {
      *refusal = Answer::conflict(
          fmt::format("cannot delete record '{}' of '{}': foreign key '{}' (on_delete set_null) "
                      "would null field '{}' of record '{}' of '{}', which {} forbids",
                      edge.parent.second, edge.parent.first, edge.fk->name, edge.fk->field(),
                      edge.child.second, edge.child.first, forbidden),
          Json{{"constraint", edge.fk->name},
               {"child_entity", edge.child.first},
               {"child_id", edge.child.second}});
      return Status::ok();
    }
    auto [it, inserted] = null_steps.try_emplace(edge.child, plan->steps.size());
    if (inserted) {
      plan->steps.push_back({DeleteStep::Kind::kSetNull, edge.child.first, edge.child.second, {}});
    }
    std::vector<std::string>& fields = plan->steps[it->second].null_fields;
    if (std::find(fields.begin(), fields.end(), edge.fk->field()) == fields.end()) {
      fields.push_back(edge.fk->field());
    }
  }
  return Status::ok();
}

}  // namespace topicdb::db
