#include "storage/sqlite_helpers.h"

#include <memory>

#include "base/log.h"

namespace topicdb::storage::sqlite {

namespace {

int bind(sqlite3_stmt* stmt, int index, const Param& p) {
  // SQLITE_STATIC: the operation, and so the bytes, outlive the step.
  switch (p.type) {
    case Param::Type::kInteger:
      return sqlite3_bind_int64(stmt, index, p.integer);
    case Param::Type::kText:
      return sqlite3_bind_text64(stmt, index, p.bytes.data(), p.bytes.size(), SQLITE_STATIC,
                                 SQLITE_UTF8);
    case Param::Type::kBlob:
      return sqlite3_bind_blob64(stmt, index, p.bytes.data(), p.bytes.size(), SQLITE_STATIC);
  }
  return SQLITE_MISUSE;
}

}  // namespace

int step_write(sqlite3_stmt* stmt, const std::vector<Param>& params) {
  int rc = SQLITE_OK;
  for (size_t i = 0; i < params.size() && rc == SQLITE_OK; ++i) {
    rc = bind(stmt, static_cast<int>(i + 1), params[i]);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) rc = SQLITE_DONE;  // none of the writes return rows
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return rc;
}

std::string column_bytes(sqlite3_stmt* stmt, int column) {
  // sqlite3_column_blob returns null for an empty value; the length comes after it.
  const void* data = sqlite3_column_blob(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

Status sqlite_status(sqlite3* db, std::string_view what) {
  return Status::io_error(
      fmt::format("database: {}: {} ({})", what, sqlite3_errmsg(db), sqlite3_errcode(db)));
}

Status exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return sqlite_status(db, sql);
  return Status::ok();
}

Result<StatementPtr> prepare_persistent(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return sqlite_status(db, sql);
  }
  return StatementPtr(stmt);
}

Result<StatementPtr> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return sqlite_status(db, sql);
  return StatementPtr(stmt);
}

void bind_text(sqlite3_stmt* stmt, int index, std::string_view value) {
  sqlite3_bind_text64(stmt, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

Result<int64_t> query_int(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return sqlite_status(db, sql);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
  if (sqlite3_step(raw) != SQLITE_ROW) return sqlite_status(db, sql);
  return static_cast<int64_t>(sqlite3_column_int64(raw, 0));
}

}  // namespace topicdb::storage::sqlite
