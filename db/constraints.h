// Constraint definitions of the $DB store (unique, not_null, foreign_key), as MQDB's admin
// payloads spell them, and the pure rules over one record: the canonical unique key of a
// tuple and the value of a (dotted) field. db/constraint_enforcer.h applies them.
#pragma once

#include <sqlite3.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "db/answer.h"

namespace topicdb::db {

enum class ConstraintKind { kUnique, kNotNull, kForeignKey };
enum class OnDelete { kRestrict, kCascade, kSetNull };

// One constraint of `entity`. unique: `fields` (1..8, the tuple); not_null and foreign_key:
// exactly one field. A foreign key points at `target_entity`.id.
struct Constraint {
  std::string entity;
  std::string name;
  ConstraintKind kind = ConstraintKind::kUnique;
  std::vector<std::string> fields;
  std::string target_entity;
  OnDelete on_delete = OnDelete::kRestrict;

  const std::string& field() const { return fields.front(); }
  // The definition as MQDB's add payload writes it (what list answers).
  Json to_json() const;
};

std::string_view constraint_kind_name(ConstraintKind kind);
std::string_view on_delete_name(OnDelete policy);

// Parses an add payload for `entity`: invalid_argument naming what is wrong (unknown type or
// key, missing or malformed name/field/fields, a target that is not "id", on_delete not one
// of restrict/cascade/set_null, ...). Entity existence and cross-constraint rules are the
// enforcer's (they need the catalog).
Result<Constraint> parse_constraint(const std::string& entity, const Json& body);

// The value at a checked dotted path, or null when any segment is missing.
const Json* field_value(const Json& record, std::string_view path);
bool is_null_field(const Json& record, std::string_view path);

// The canonical text of the tuple `fields` of `record`, used as the unique key; nullopt when
// a member is null or missing (as in SQL, such a tuple is never a duplicate). Numbers compare
// by value (1 and 1.0 give the same text), strings exactly ("1" differs from 1); objects and
// arrays are canonicalized recursively.
std::optional<std::string> unique_key(const std::vector<std::string>& fields, const Json& record);
// The canonical JSON text of one value (see unique_key).
std::string canonical_json(const Json& value);

// Every constraint of the node, by entity, in the order they were added. Store-thread copy
// in Catalog; readers load their own from db_metadata.
class ConstraintSet {
 public:
  void add(Constraint constraint);
  // False when `entity` has no constraint `name`.
  bool remove(const std::string& entity, const std::string& name);
  const Constraint* find(const std::string& entity, const std::string& name) const;
  // The constraints declared on `entity` (empty when none).
  const std::vector<Constraint>& of(const std::string& entity) const;
  // The foreign keys (of any entity) whose target is `entity`.
  std::vector<const Constraint*> referencing(const std::string& entity) const;
  bool empty() const { return by_entity_.empty(); }
  std::vector<const Constraint*> all() const;
  void clear() { by_entity_.clear(); }

 private:
  std::map<std::string, std::vector<Constraint>> by_entity_;
};

// Reads every stored definition (db_metadata kind 'constraint') into `set` (any connection).
Status load_constraints(sqlite3* db, ConstraintSet* set);

}  // namespace topicdb::db
