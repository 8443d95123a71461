// ConstraintEnforcer: the store manager's write-side rules. Inside the store thread's
// transaction of each write it checks not_null, foreign keys and unique constraints, keeps
// the unique table (db_unique) and the foreign-key reverse index (db_fk_refs) exactly in step
// with the record, and plans what deleting a record does to the records that reference it.
#pragma once

#include <sqlite3.h>

#include <array>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "db/answer.h"
#include "db/metadata.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

// One step of a delete: a record to delete, or fields of a record to set to null.
struct DeleteStep {
  enum class Kind { kDelete, kSetNull };
  Kind kind = Kind::kDelete;
  std::string entity;
  std::string id;
  std::vector<std::string> null_fields;  // kSetNull
  // kDelete: the (child entity, foreign key) pairs whose reverse-index rows naming this record
  // go in one range delete with it; every such child is a later kDelete step of the plan.
  std::vector<std::pair<std::string, std::string>> unlink_children;
  // kDelete reached through a cascade: the foreign key of `entity` whose row the parent's
  // range delete removed, so deleting this record need not look for it.
  std::string unlinked_fk;
};

// What deleting one record does, computed from the parent's side as an explicit list of
// operations (the root's delete first, then cascaded deletes in breadth-first order, then the
// set_null updates), so a cluster could later drive the same plan across partitions.
struct DeletePlan {
  std::vector<DeleteStep> steps;
};

// The row value of each constraint of an entity (in catalog order) for one record: its unique
// key or referenced parent id; nullopt where it has none (not-null rules, null fields).
using RowValues = std::vector<std::optional<std::string>>;

// Store thread only; borrows the catalog (its constraints are the ones enforced).
class ConstraintEnforcer {
 public:
  explicit ConstraintEnforcer(Catalog* catalog) : catalog_(catalog) {}

  // Checks `record` (the whole record after a create or update of entity/id) against the
  // entity's constraints. A violation sets *refusal to a 409 naming the constraint and the
  // offending value; writes nothing either way. `values` (optional) receives the row values
  // it computed, for index_record() of the same record in the same submission.
  // `look_up_unique` false (a create that claims its keys with claim_record() afterwards):
  // unique keys are computed into `values` but not looked up.
  Status check(sqlite3* db, const std::string& entity, const std::string& id, const Json& record,
               int64_t now_ms, std::optional<Answer>* refusal, RowValues* values = nullptr,
               bool look_up_unique = true);
  // A new record's rows, after check(look_up_unique=false) passed with `checked` and the record
  // row was inserted: inserts its unique keys, each insert being the look-up (one B-tree
  // descent instead of two), then its reverse-index rows. A key held by another record sets
  // *refusal to the 409 check() would give and removes the keys this call inserted; the
  // caller then removes the record row. Writes nothing else either way.
  Status claim_record(sqlite3* db, const std::string& entity, const std::string& id, int partition,
                      const Json& record, const RowValues& checked, std::optional<Answer>* refusal);
  // Writes the record's unique and reverse-index rows; `old` (an update: the record before it)
  // has its rows replaced where they differ. Call after check() passed; `checked` (what it
  // computed for this record, if kept) spares computing the keys again.
  Status index_record(sqlite3* db, const std::string& entity, const std::string& id, int partition,
                      const Json& record, const Json* old, const RowValues* checked = nullptr);
  // Removes the rows of the record whose stored body is `old_body`, and a held expiry; the
  // row of foreign key `unlinked_fk` (a DeleteStep's) is gone already. The body is parsed
  // only when another unique or foreign-key row remains to remove.
  Status unindex_record(sqlite3* db, const std::string& entity, const std::string& id,
                        const std::string& old_body, const std::string& unlinked_fk = {});
  // Removes every reverse-index row of (child_entity, fk_name) naming `parent_id` (a
  // DeleteStep's unlink_children: one range delete instead of one per child).
  Status unlink_children(sqlite3* db, const std::string& child_entity, const std::string& fk_name,
                         const std::string& parent_id);

  // Plans deleting entity/id: cascade follows every level (a visited set ends cycles and
  // self-references); restrict refuses (409) while a child outside the plan remains (a child
  // past its TTL deadline does not count: the plan deletes it); set_null refuses (409) when
  // the field is also not-null or a required schema field.
  Status plan_delete(sqlite3* db, const std::string& entity, const std::string& id, int64_t now_ms,
                     DeletePlan* plan, std::optional<Answer>* refusal);

  // True when writes of `entity` have anything to check or index.
  bool has_rules(const std::string& entity) const;

 private:
  enum Statement : size_t {
    kSelectUnique,
    kInsertUnique,
    kDeleteUniqueOfRecord,
    kInsertRef,
    kDeleteRefsOfChild,
    kSelectChildren,
    kParentExists,
    kSelectExpiry,
    kDeleteHeld,
    kDeleteRefsOfParent,
    kParentByRowid,
    kStatementCount,
  };
  Status prepare(sqlite3* db);
  // Replaces the rows of `old` by those of `record` (either may be null) where they differ.
  Status write_rows(sqlite3* db, const std::string& entity, const std::string& id, int partition,
                    const Json* record, const Json* old, const std::string& skip_fk = {},
                    const RowValues* checked = nullptr);
  sqlite3_stmt* stmt(Statement which) { return statements_[which].get(); }
  Status record_live(sqlite3* db, const std::string& entity, const std::string& id, int64_t now_ms,
                     bool* live);
  // The 409 for unique constraint `c` of `entity`, whose key in `record` `holder` has.
  static Answer unique_refusal(const Constraint& c, const std::string& entity, const Json& record,
                               const std::string& holder);

  Catalog* catalog_;
  sqlite3* prepared_for_ = nullptr;
  std::array<storage::sqlite::StatementPtr, kStatementCount> statements_;
  // Where the parents that foreign keys referenced lately are: entity + '\0' + id -> rowid
  // in db_records. Only a hint: record_live() reads that row and checks its entity and id,
  // so an entry made stale by a delete, a rolled-back create or a reused rowid costs one
  // look-up and is dropped. It spares the (entity, id) index descent of every reference to a
  // hot parent (each constrained create checks one).
  std::unordered_map<std::string, int64_t> parent_rowids_;
};

// The message and data of a 409 for `constraint` refusing `value` (shared with the admin).
std::string describe_value(const Constraint& constraint, const Json& record);

}  // namespace topicdb::db
