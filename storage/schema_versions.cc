#include "storage/schema_versions.h"

#include <fmt/format.h>

#include "base/log.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::storage {
namespace {

using sqlite::exec;
using sqlite::query_int;
using sqlite::sqlite_status;

constexpr char kCreateVersions[] =
    "CREATE TABLE IF NOT EXISTS schema_versions(component TEXT PRIMARY KEY, "
    "version INTEGER NOT NULL)";

Result<bool> has_versions_table(sqlite3* db) {
  // Also the first read of the file: it tells whether the file is a database at all.
  Result<int64_t> n = query_int(
      db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'");
  if (!n.is_ok()) return n.status();
  return *n > 0;
}

// The component's version in the file: its row, or for a file from before the versions
// table, what the component's legacy hook reports.
Result<int64_t> current_version(sqlite3* db, bool versions_table, const ComponentSchema& schema) {
  if (versions_table) return stored_schema_version(db, schema.component);
  if (!schema.legacy_version) return int64_t{0};
  return schema.legacy_version(db);
}

Status check(sqlite3* db, const std::string& path, const std::vector<ComponentSchema>& schemas,
             bool* versions_table) {
  Result<bool> has_table = has_versions_table(db);
  if (!has_table.is_ok()) {
    return Status::corruption(fmt::format("database {} is not a usable SQLite database: {}", path,
                                          has_table.status().message()));
  }
  *versions_table = *has_table;
  if (*versions_table) {
    Result<int64_t> format = query_int(db, "PRAGMA user_version");
    if (!format.is_ok()) return format.status();
    if (*format > kFileFormatVersion) {
      return newer_schema_status(path, "file format", *format, kFileFormatVersion);
    }
  }
  for (const ComponentSchema& schema : schemas) {
    Result<int64_t> version = current_version(db, *versions_table, schema);
    if (!version.is_ok()) return version.status();
    if (*version > schema.version()) {
      return newer_schema_status(path, schema.component, *version, schema.version());
    }
  }
  return Status::ok();
}

Status migrate_in_transaction(sqlite3* db, const std::string& path,
                              const std::vector<ComponentSchema>& schemas) {
  bool versions_table = false;
  // Checked again under the write lock: the file may have changed since the read-only check.
  TDB_RETURN_IF_ERROR(check(db, path, schemas, &versions_table));
  std::vector<int64_t> from;
  for (const ComponentSchema& schema : schemas) {
    Result<int64_t> version = current_version(db, versions_table, schema);
    if (!version.is_ok()) return version.status();
    from.push_back(*version);
  }
  TDB_RETURN_IF_ERROR(exec(db, kCreateVersions));
  sqlite3_stmt* raw = nullptr;
  const char* upsert = "INSERT OR REPLACE INTO schema_versions(component, version) VALUES(?1, ?2)";
  if (sqlite3_prepare_v2(db, upsert, -1, &raw, nullptr) != SQLITE_OK) {
    return sqlite_status(db, upsert);
  }
  sqlite::StatementPtr stmt(raw);
  for (size_t i = 0; i < schemas.size(); ++i) {
    const ComponentSchema& schema = schemas[i];
    for (int64_t v = from[i]; v < schema.version(); ++v) {
      Status step = schema.migrations[static_cast<size_t>(v)](db);
      if (!step.is_ok()) {
        log::error("database {}: migrating '{}' from version {} to {} failed", path,
                   schema.component, v, v + 1);
        return step;
      }
    }
    if (sqlite::step_write(stmt.get(), {sqlite::text(schema.component),
                                        sqlite::integer(schema.version())}) != SQLITE_DONE) {
      return sqlite_status(db, upsert);
    }
    if (from[i] != schema.version()) {
      log::info("database {}: '{}' tables migrated from version {} to {}", path, schema.component,
                from[i], schema.version());
    }
  }
  return exec(db, fmt::format("PRAGMA user_version = {}", kFileFormatVersion).c_str());
}

}  // namespace

Status newer_schema_status(const std::string& path, const std::string& component, int64_t version,
                           int64_t supported) {
  return Status::unsupported(
      fmt::format("database {}: '{}' has schema version {}, newer than version {} supported by "
                  "this build; run a newer topicdb or use another data directory",
                  path, component, version, supported));
}

Result<int64_t> stored_schema_version(sqlite3* db, const std::string& component) {
  const char* sql = "SELECT version FROM schema_versions WHERE component = ?1";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return sqlite_status(db, sql);
  sqlite::StatementPtr stmt(raw);
  sqlite3_bind_text(raw, 1, component.data(), static_cast<int>(component.size()), SQLITE_STATIC);
  int rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(raw, 0));
  if (rc == SQLITE_DONE) return int64_t{0};
  return sqlite_status(db, sql);
}

Status check_schema_versions(sqlite3* db, const std::string& path,
                             const std::vector<ComponentSchema>& schemas) {
  bool versions_table = false;
  return check(db, path, schemas, &versions_table);
}

Status migrate_schemas(sqlite3* db, const std::string& path,
                       const std::vector<ComponentSchema>& schemas) {
  TDB_RETURN_IF_ERROR(exec(db, "BEGIN IMMEDIATE"));
  Status status = migrate_in_transaction(db, path, schemas);
  if (!status.is_ok()) {
    exec(db, "ROLLBACK");
    return status;
  }
  return exec(db, "COMMIT");
}

}  // namespace topicdb::storage
