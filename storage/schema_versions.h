// Per-component schema versions in one database file: each component (the broker state
// store, the document store) owns its tables, their version and its ordered migrations.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace topicdb::storage {

// One component's tables. The version this build writes is migrations.size().
struct ComponentSchema {
  std::string component;  // key in the schema_versions table, e.g. "broker"
  // migrations[i] brings the component's tables from version i to i + 1; all run in one
  // transaction with the other components' at open.
  std::vector<std::function<Status(sqlite3* db)>> migrations;
  // For files written before the schema_versions table existed: the version this component
  // already has there (0: none). Null means 0.
  std::function<Result<int64_t>(sqlite3* db)> legacy_version;

  int64_t version() const { return static_cast<int64_t>(migrations.size()); }
};

// PRAGMA user_version of a file whose versions live in schema_versions. Files from before
// (user_version 1: broker tables only) are migrated on open; builds older than the versions
// table read 2 as "newer than supported" and refuse the file instead of writing into it.
inline constexpr int64_t kFileFormatVersion = 2;

// Read-only: refuses (unsupported) a file any of whose components is newer than this build,
// or whose file format is. Writes nothing, so a refused file stays untouched.
Status check_schema_versions(sqlite3* db, const std::string& path,
                             const std::vector<ComponentSchema>& schemas);

// In one BEGIN IMMEDIATE transaction: creates schema_versions if needed, runs each
// component's pending migrations, records the versions. A crash or error leaves the old
// versions intact.
Status migrate_schemas(sqlite3* db, const std::string& path,
                       const std::vector<ComponentSchema>& schemas);

// The version recorded for `component` (0 when it has none).
Result<int64_t> stored_schema_version(sqlite3* db, const std::string& component);

// The error for a component whose stored `version` is newer than this build's `supported`.
Status newer_schema_status(const std::string& path, const std::string& component, int64_t version,
                           int64_t supported);

}  // namespace topicdb::storage
