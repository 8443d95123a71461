// Record ownership (--ownership ENTITY:FIELD): records of an owned entity belong to the user
// named in their FIELD, and a request carrying an OwnerScope sees and changes only its
// user's records. The adapter attaches a scope to every request of a non-admin user; the
// store applies it in reads (404), lists (an SQL filter), includes (left out), replay (an
// SQL filter), creates (FIELD set or checked) and updates and deletes (404, checked inside
// the write's own transaction).
#pragma once

#include <sqlite3.h>

#include <map>
#include <string>
#include <string_view>

#include "base/status.h"
#include "db/answer.h"

namespace topicdb::db {

// Entity -> the top-level field that names a record's owner.
using OwnershipFields = std::map<std::string, std::string, std::less<>>;

// Parses "entity:field": an entity name (check_entity_name) and a field of letters, digits
// and '_' not starting with '_' (the owner is a top-level field, so it can be matched in
// SQL and in an event's data alike).
Status parse_ownership(std::string_view text, OwnershipFields* into);

// Whose records one request may see.
struct OwnerScope {
  std::string user;
  OwnershipFields fields;

  // The owner field of `entity`, or null when its records are not owned.
  const std::string* field_of(std::string_view entity) const;
  // Whether `record` (an object of `entity`) is visible: unowned entity, or its owner field
  // is the string `user`.
  bool may_see(std::string_view entity, const Json& record) const;
};

// A create by a scoped user: FIELD is set to the user when absent; naming anyone else (or
// not a string) is a 403. False with the answer in `error` when refused.
bool apply_owner_to_create(const OwnerScope& scope, std::string_view entity, Json* body,
                           Answer* error);
// An update patch may not hand the record to someone else: FIELD, when present, must be the
// user. False with a 403 in `error` otherwise.
bool check_owner_in_patch(const OwnerScope& scope, std::string_view entity, const Json& patch,
                          Answer* error);
// Store thread, inside the write's submission: whether the stored record (entity, id) may be
// changed by the scope's user. A record that does not exist passes (the write answers its
// own 404); one of another owner gets `*allowed` false. Non-ok only when SQL failed.
Status check_stored_owner(sqlite3* db, const OwnerScope& scope, const std::string& entity,
                          const std::string& id, bool* allowed);

}  // namespace topicdb::db
