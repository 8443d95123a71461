// Metadata of the document store: schemas and index definitions, changed only through one
// ordered, revision-numbered apply path (a db_metadata_log row with the next revision, the
// db_metadata current row and the effect, e.g. the SQL index, in one transaction), so a
// cluster can later feed the same path from its catalog. Catalog: the schemas as the store
// thread uses them, loaded once per connection and updated by that path, so no write reloads
// them.
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "db/answer.h"
#include "db/constraints.h"
#include "db/entity_schema.h"

namespace topicdb::db {

// Store thread only.
class Catalog {
 public:
  // Loads every schema from db_metadata the first time it sees `db` (or a new connection).
  Status ensure_loaded(sqlite3* db);
  // The entity's schema, or null (schemaless).
  const EntitySchema* schema(const std::string& entity) const;
  void set_schema(const std::string& entity, EntitySchema schema);
  // The constraints (db/constraints.h), loaded with the schemas; changed by the
  // constraint add/remove apply path (db/constraint_admin.h).
  const ConstraintSet& constraints() const { return constraints_; }
  ConstraintSet& mutable_constraints() { return constraints_; }

 private:
  sqlite3* loaded_for_ = nullptr;
  std::map<std::string, std::unique_ptr<EntitySchema>> schemas_;
  ConstraintSet constraints_;
};

// The metadata change applied, for the caller's answer.
struct MetadataChange {
  int64_t revision = 0;
};

// Appends one change to db_metadata_log with the next revision (db_state
// 'metadata_revision' + 1), writes the current row to db_metadata and bumps the revision.
// The caller's transaction makes it atomic with its effect.
Result<MetadataChange> apply_metadata(sqlite3* db, const std::string& kind,
                                      const std::string& entity, const std::string& name,
                                      const std::string& definition, int64_t now_ms);

// Removes metadata `name` of `kind` on `entity`: a db_metadata_log row with the next revision
// and the definition "null", and the current row deleted. The caller's transaction makes it
// atomic with its effect.
Result<MetadataChange> remove_metadata(sqlite3* db, const std::string& kind,
                                       const std::string& entity, const std::string& name,
                                       int64_t now_ms);

// kSchemaSet on the store thread: parses the schema (400 naming the field), refuses it with
// 409 when existing live records violate it (data {"offending_ids":[up to 10]}), else
// applies it through apply_metadata and updates `catalog`. Answer data: the schema.
// A non-ok Status is an SQL failure (the submission is rolled back).
Status set_schema(sqlite3* db, Catalog* catalog, const std::string& entity, const Json& body,
                  int64_t now_ms, Answer* answer);
// kIndexAdd on the store thread: {"fields":[1..8 field paths]}; creates
// "dbidx_<entity>_<revision>" ON db_records(json_extract_sql(f)...) WHERE entity='<entity>'
// unless an index on the same fields exists (then nothing changes). Answer data: the
// entity's index definitions, as index_definitions() gives them.
Status add_index(sqlite3* db, const std::string& entity, const Json& body, int64_t now_ms,
                 Answer* answer);

// Reads (any connection). kSchemaGet: the schema, 404 when the entity has none.
Answer get_schema(sqlite3* db, const std::string& entity);
// kIndexList: [{"fields":[...]}, ...] in creation order ([] when none).
Answer list_indexes(sqlite3* db, const std::string& entity);

// The SQL that creates the index `index_name` on `fields` (checked paths) of `entity`.
std::string index_ddl(const std::string& entity, const std::string& index_name,
                      const std::vector<std::string>& fields);

}  // namespace topicdb::db
