// Small helpers over SQLite's C API: owned statement parameters,
// one-step writes, column reads and Status conversion.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace topicdb::storage::sqlite {

// One bound parameter of a queued write, owning its bytes: the caller's strings may be gone
// by the time the store thread runs the statement.
struct Param {
  enum class Type : uint8_t { kInteger, kText, kBlob };
  Type type = Type::kInteger;
  int64_t integer = 0;
  std::string bytes;
};

// Unsigned values (seq) are stored as their two's-complement bit pattern and read back exact.
inline Param integer(int64_t v) { return {Param::Type::kInteger, v, {}}; }
inline Param text(const std::string& v) { return {Param::Type::kText, 0, v}; }
inline Param blob(const std::string& v) { return {Param::Type::kBlob, 0, v}; }  // NULs kept

struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// A statement prepared once and reused for the connection's lifetime (SQLITE_PREPARE_PERSISTENT).
Result<StatementPtr> prepare_persistent(sqlite3* db, const char* sql);
// A statement for one use (rare work: metadata, start-up, exports).
Result<StatementPtr> prepare(sqlite3* db, const char* sql);
// Binds `value` as UTF-8 TEXT, copied (the statement may run after the string is gone).
void bind_text(sqlite3_stmt* stmt, int index, std::string_view value);

// Binds `params` to ?1, ?2, ... and steps the write once. Returns SQLITE_DONE on success, else
// the first error code. The statement is reset either way, ready for its next use.
int step_write(sqlite3_stmt* stmt, const std::vector<Param>& params = {});
// A TEXT or BLOB column as bytes (empty for NULL or an empty value).
std::string column_bytes(sqlite3_stmt* stmt, int column);
// The connection's last error as an io_error Status naming `what`.
Status sqlite_status(sqlite3* db, std::string_view what);
// Runs SQL without results (several statements allowed).
Status exec(sqlite3* db, const char* sql);
// The first column of the first row of `sql`.
Result<int64_t> query_int(sqlite3* db, const char* sql);

}  // namespace topicdb::storage::sqlite
