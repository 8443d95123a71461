// topicdb_sqlite_ceiling: what raw SQLite does with the $DB store's own tables on this
// machine, the ceiling the $DB scenarios of topicdb_load are compared with. Inserts each
// record with its change-log row, as the store does, in groups (one transaction per group,
// like the store thread's group commit) at the chosen synchronous level; then point reads by
// (entity, id) on one connection. Prints one key=value line per measurement.
//
//   topicdb_sqlite_ceiling [--records N] [--group N] [--synchronous full|normal|off]
//                          [--dir DIR]
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "db/db_schema.h"
#include "storage/schema_versions.h"
#include "storage/sqlite_helpers.h"

namespace {

using topicdb::storage::sqlite::prepare_persistent;
using topicdb::storage::sqlite::StatementPtr;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The same ~200-byte record shape as topicdb_load's $DB scenarios.
std::string make_record(uint64_t k) {
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf),
                        "{\"id\":\"r%" PRIu64 "\",\"_version\":1,\"name\":\"user-%06" PRIu64
                        "\",\"email\":\"user%06" PRIu64
                        "@example.com\",\"site\":\"site-%02d\",\"score\":%d,\"active\":true,"
                        "\"bio\":\"",
                        k, k, k, static_cast<int>(k % 100), static_cast<int>(k % 1000));
  std::string record(buf, static_cast<size_t>(n > 0 ? n : 0));
  if (record.size() + 2 < 200) record.append(200 - record.size() - 2, 'x');
  record += "\"}";
  return record;
}

int fail(sqlite3* db, const char* what) {
  std::fprintf(stderr, "topicdb_sqlite_ceiling: %s: %s\n", what, sqlite3_errmsg(db));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 200'000;
  uint64_t group = 1024;
  std::string synchronous = "full";
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    std::string value = argv[i + 1];
    if (key == "--records") {
      records = std::strtoull(value.c_str(), nullptr, 10);
    } else if (key == "--group") {
      group = std::strtoull(value.c_str(), nullptr, 10);
    } else if (key == "--synchronous") {
      synchronous = value;
    } else if (key == "--dir") {
      dir = value;
    } else {
      std::fprintf(stderr, "topicdb_sqlite_ceiling: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (records == 0 || group == 0 ||
      (synchronous != "full" && synchronous != "normal" && synchronous != "off")) {
    std::fprintf(stderr, "topicdb_sqlite_ceiling: bad --records, --group or --synchronous\n");
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/topicdb-ceiling-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  std::string path = dir + "/ceiling.sqlite3";
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return fail(db, "open");
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous + ";";
  if (sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail(db, "pragmas");
  }
  if (!topicdb::storage::migrate_schemas(db, path, {topicdb::db::db_schema()}).is_ok()) {
    return fail(db, "tables");
  }
  auto insert_record =
      prepare_persistent(db,
                         "INSERT INTO db_records(entity,id,partition,version,expires_at_ms,body) "
                         "VALUES('bench',?1,?2,1,NULL,?3)");
  auto insert_change =
      prepare_persistent(db,
                         "INSERT INTO db_changes(entity,id,partition,op,data,client_id,at_ms) "
                         "VALUES('bench',?1,?2,'Create',?3,'ceiling',?4)");
  auto read = prepare_persistent(db, "SELECT body FROM db_records WHERE entity='bench' AND id=?1");
  if (!insert_record.is_ok() || !insert_change.is_ok() || !read.is_ok()) {
    return fail(db, "prepare");
  }

  auto start = std::chrono::steady_clock::now();
  for (uint64_t k = 0; k < records; k += group) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (uint64_t j = k; j < std::min(records, k + group); ++j) {
      std::string id = "r" + std::to_string(j);
      std::string body = make_record(j);
      auto partition = static_cast<int64_t>(j % 256);
      sqlite3_stmt* r = insert_record->get();
      sqlite3_bind_text(r, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(r, 2, partition);
      sqlite3_bind_text(r, 3, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      if (sqlite3_step(r) != SQLITE_DONE) return fail(db, "insert record");
      sqlite3_reset(r);
      sqlite3_stmt* c = insert_change->get();
      sqlite3_bind_text(c, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(c, 2, partition);
      sqlite3_bind_text(c, 3, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      sqlite3_bind_int64(c, 4, static_cast<int64_t>(j));
      if (sqlite3_step(c) != SQLITE_DONE) return fail(db, "insert change");
      sqlite3_reset(c);
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return fail(db, "commit");
    }
  }
  double insert_s = seconds_since(start);
  std::printf("scenario=sqlite_insert status=ok records=%" PRIu64 " group=%" PRIu64
              " synchronous=%s seconds=%.3f rate=%.0f\n",
              records, group, synchronous.c_str(), insert_s,
              static_cast<double>(records) / insert_s);
  std::fflush(stdout);

  std::mt19937_64 rng(42);
  const uint64_t reads = records * 2;
  uint64_t found = 0;
  start = std::chrono::steady_clock::now();
  sqlite3_stmt* r = read->get();
  for (uint64_t i = 0; i < reads; ++i) {
    std::string id = "r" + std::to_string(rng() % records);
    sqlite3_bind_text(r, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    if (sqlite3_step(r) == SQLITE_ROW && sqlite3_column_bytes(r, 0) > 0) ++found;
    sqlite3_reset(r);
  }
  double read_s = seconds_since(start);
  std::printf("scenario=sqlite_read status=%s reads=%" PRIu64 " seconds=%.3f rate=%.0f\n",
              found == reads ? "ok" : "missing", reads, read_s,
              static_cast<double>(reads) / read_s);

  insert_record->reset();
  insert_change->reset();
  read->reset();
  sqlite3_close(db);
  if (own_dir) std::filesystem::remove_all(dir);
  return found == reads ? 0 : 1;
}
