// The constraint admin operations of the store manager: add (validated against existing
// data, its rows built in the same transaction), remove and list through the metadata apply
// path, and the start-up rebuild of the unique table and the reverse index when they are
// missing. Verify is db/constraint_verify.h.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "base/status.h"
#include "db/answer.h"
#include "db/metadata.h"

namespace topicdb::db {

// At most this many offending records in a 409 or a verify sample.
inline constexpr size_t kConstraintSampleSize = 10;

// kConstraintAdd on the store thread. 400: malformed definition, unknown target entity (no
// records, schema or other metadata, and not the entity itself), set_null on a field a
// not-null constraint or a required schema field covers, not_null on a field a set_null
// foreign key clears. 409: the name exists on the entity, or existing records violate it
// (data {"offending":[...]}, up to 10). Else applied and answered with the definition.
Status add_constraint(sqlite3* db, Catalog* catalog, const std::string& entity, const Json& body,
                      int64_t now_ms, Answer* answer);
// kConstraintRemove: {"name":"..."}; 404 when the entity has no such constraint.
Status remove_constraint(sqlite3* db, Catalog* catalog, const std::string& entity, const Json& body,
                         int64_t now_ms, Answer* answer);
// kConstraintList (any connection): the entity's definitions in the order added.
Answer list_constraints(sqlite3* db, const std::string& entity);

// Rebuilds db_unique and db_fk_refs from the data when they are missing: db_state
// 'constraint_rows' unset (a database from before constraints) or both tables empty while
// records exist under an entity with a unique or foreign-key constraint. Store thread, at
// start, inside a transaction of the caller's. *rebuilt tells whether it ran.
Status rebuild_constraint_rows_if_missing(sqlite3* db, Catalog* catalog, bool* rebuilt);

}  // namespace topicdb::db
