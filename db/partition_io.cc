#include "db/partition_io.h"

#include <fmt/format.h>

#include <memory>

#include "db/answer.h"
#include "db/json_text.h"
#include "db/partition.h"
#include "storage/sqlite_helpers.h"

namespace topicdb::db {

namespace {

using storage::sqlite::column_bytes;
using storage::sqlite::sqlite_status;

using Stmt = storage::sqlite::StatementPtr;
using storage::sqlite::bind_text;
using storage::sqlite::prepare;

uint64_t record_content_hash(const std::string& entity, const std::string& id, int64_t version,
                             const std::string& body) {
  static constexpr std::string_view kSep("\0", 1);
  uint64_t hash = fnv1a_64(kFnvOffsetBasis, entity);
  hash = fnv1a_64(hash, kSep);
  hash = fnv1a_64(hash, id);
  hash = fnv1a_64(hash, kSep);
  hash = fnv1a_64(hash, std::to_string(version));
  hash = fnv1a_64(hash, kSep);
  return fnv1a_64(hash, body);
}

// Reads a required member of an item, or fails.
bool get_string(const Json& item, const char* key, std::string* out) {
  auto it = item.find(key);
  if (it == item.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}
bool get_int(const Json& item, const char* key, int64_t* out) {
  auto it = item.find(key);
  if (it == item.end() || !it->is_number_integer()) return false;
  *out = it->get<int64_t>();
  return true;
}

Status import_items(sqlite3* db, int partition, const PartitionItemSource& source) {
  for (const char* sql :
       {"DELETE FROM db_records WHERE partition=?1", "DELETE FROM db_unique WHERE partition=?1",
        "DELETE FROM db_fk_refs WHERE partition=?1"}) {
    auto clear = prepare(db, sql);
    if (!clear.is_ok()) return clear.status();
    sqlite3_bind_int(clear->get(), 1, partition);
    if (sqlite3_step(clear->get()) != SQLITE_DONE) return sqlite_status(db, "clear partition");
  }
  auto unique = prepare(db,
                        "INSERT INTO db_unique(entity, constraint_name, key, record_id, "
                        "partition) VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!unique.is_ok()) return unique.status();
  auto ref = prepare(db,
                     "INSERT OR IGNORE INTO db_fk_refs(child_entity, fk_name, parent_id, "
                     "child_id, partition) VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!ref.is_ok()) return ref.status();
  auto record = prepare(db,
                        "INSERT INTO db_records(entity, id, partition, version, expires_at_ms, "
                        "body) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  if (!record.is_ok()) return record.status();
  auto change = prepare(db,
                        "INSERT OR IGNORE INTO db_changes(seq, entity, id, partition, op, data, "
                        "client_id, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!change.is_ok()) return change.status();

  std::string text;
  bool header = false;
  while (source(&text)) {
    Json item = Json::parse(text, nullptr, false);
    std::string kind;
    if (!item.is_object() || !get_string(item, "kind", &kind)) {
      return Status::corruption("partition import: an item is not a JSON object with a kind");
    }
    if (kind == "partition") {
      int64_t p = -1;
      int64_t format = 0;
      if (!get_int(item, "partition", &p) || p != partition || !get_int(item, "format", &format) ||
          format != 1) {
        return Status::corruption(
            fmt::format("partition import: header is not partition {} format 1", partition));
      }
      header = true;
      continue;
    }
    if (!header) return Status::corruption("partition import: no header item first");
    std::string entity, id, body;
    int64_t version = 0;
    if (kind == "record") {
      if (!get_string(item, "entity", &entity) || !get_string(item, "id", &id) ||
          !get_string(item, "body", &body) || !get_int(item, "version", &version)) {
        return Status::corruption("partition import: malformed record item");
      }
      if (partition_of(entity, id) != partition) {
        return Status::corruption(fmt::format(
            "partition import: record '{}' of '{}' is not in partition {}", id, entity, partition));
      }
      sqlite3_stmt* stmt = record->get();
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      bind_text(stmt, 1, entity);
      bind_text(stmt, 2, id);
      sqlite3_bind_int(stmt, 3, partition);
      sqlite3_bind_int64(stmt, 4, version);
      int64_t expires = 0;
      if (get_int(item, "expires_at_ms", &expires)) sqlite3_bind_int64(stmt, 5, expires);
      bind_text(stmt, 6, body);
      if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "import record");
    } else if (kind == "unique" || kind == "fk_ref") {
      bool is_unique = kind == "unique";
      std::string a, b, c, d;
      if (!get_string(item, is_unique ? "entity" : "child_entity", &a) ||
          !get_string(item, is_unique ? "constraint" : "fk_name", &b) ||
          !get_string(item, is_unique ? "key" : "parent_id", &c) ||
          !get_string(item, is_unique ? "record_id" : "child_id", &d)) {
        return Status::corruption(fmt::format("partition import: malformed {} item", kind));
      }
      if (partition_of(a, d) != partition) {
        return Status::corruption(
            fmt::format("partition import: {} row of record '{}' of '{}' is not in partition {}",
                        kind, d, a, partition));
      }
      sqlite3_stmt* stmt = is_unique ? unique->get() : ref->get();
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      bind_text(stmt, 1, a);
      bind_text(stmt, 2, b);
      bind_text(stmt, 3, c);
      bind_text(stmt, 4, d);
      sqlite3_bind_int(stmt, 5, partition);
      if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "import constraint row");
    } else if (kind == "change") {
      std::string op, data, client_id;
      int64_t seq = 0, at_ms = 0;
      if (!get_int(item, "seq", &seq) || !get_string(item, "entity", &entity) ||
          !get_string(item, "id", &id) || !get_string(item, "op", &op) ||
          !get_string(item, "data", &data) || !get_string(item, "client_id", &client_id) ||
          !get_int(item, "at_ms", &at_ms)) {
        return Status::corruption("partition import: malformed change item");
      }
      sqlite3_stmt* stmt = change->get();
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      sqlite3_bind_int64(stmt, 1, seq);
      bind_text(stmt, 2, entity);
      bind_text(stmt, 3, id);
      sqlite3_bind_int(stmt, 4, partition);
      bind_text(stmt, 5, op);
      bind_text(stmt, 6, data);
      bind_text(stmt, 7, client_id);
      sqlite3_bind_int64(stmt, 8, at_ms);
      if (sqlite3_step(stmt) != SQLITE_DONE) return sqlite_status(db, "import change");
    } else {
      return Status::corruption(fmt::format("partition import: unknown item kind '{}'", kind));
    }
  }
  if (!header) return Status::corruption("partition import: empty stream");
  return Status::ok();
}

}  // namespace

Status export_partition(sqlite3* db, int partition, int64_t since_seq,
                        const PartitionItemSink& sink) {
  TDB_RETURN_IF_ERROR(
      sink(dump_json(Json{{"kind", "partition"}, {"partition", partition}, {"format", 1}})));
  auto records = prepare(db,
                         "SELECT entity, id, version, expires_at_ms, body FROM db_records "
                         "WHERE partition=?1 ORDER BY entity, id");
  if (!records.is_ok()) return records.status();
  sqlite3_bind_int(records->get(), 1, partition);
  int rc;
  while ((rc = sqlite3_step(records->get())) == SQLITE_ROW) {
    sqlite3_stmt* stmt = records->get();
    Json item = {{"kind", "record"},
                 {"entity", column_bytes(stmt, 0)},
                 {"id", column_bytes(stmt, 1)},
                 {"version", sqlite3_column_int64(stmt, 2)},
                 {"expires_at_ms", sqlite3_column_type(stmt, 3) == SQLITE_NULL
                                       ? Json()
                                       : Json(sqlite3_column_int64(stmt, 3))},
                 {"body", column_bytes(stmt, 4)}};
    TDB_RETURN_IF_ERROR(sink(dump_json(item)));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "export records");
  // The store manager's rows travel with the records they belong to.
  auto uniques = prepare(db,
                         "SELECT entity, constraint_name, key, record_id FROM db_unique "
                         "WHERE partition=?1 ORDER BY entity, constraint_name, key");
  if (!uniques.is_ok()) return uniques.status();
  sqlite3_bind_int(uniques->get(), 1, partition);
  while ((rc = sqlite3_step(uniques->get())) == SQLITE_ROW) {
    sqlite3_stmt* stmt = uniques->get();
    TDB_RETURN_IF_ERROR(sink(dump_json(Json{{"kind", "unique"},
                                            {"entity", column_bytes(stmt, 0)},
                                            {"constraint", column_bytes(stmt, 1)},
                                            {"key", column_bytes(stmt, 2)},
                                            {"record_id", column_bytes(stmt, 3)}})));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "export unique rows");
  auto refs = prepare(db,
                      "SELECT child_entity, fk_name, parent_id, child_id FROM db_fk_refs "
                      "WHERE partition=?1 ORDER BY child_entity, fk_name, parent_id, child_id");
  if (!refs.is_ok()) return refs.status();
  sqlite3_bind_int(refs->get(), 1, partition);
  while ((rc = sqlite3_step(refs->get())) == SQLITE_ROW) {
    sqlite3_stmt* stmt = refs->get();
    TDB_RETURN_IF_ERROR(sink(dump_json(Json{{"kind", "fk_ref"},
                                            {"child_entity", column_bytes(stmt, 0)},
                                            {"fk_name", column_bytes(stmt, 1)},
                                            {"parent_id", column_bytes(stmt, 2)},
                                            {"child_id", column_bytes(stmt, 3)}})));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "export reference rows");
  auto changes = prepare(db,
                         "SELECT seq, entity, id, op, data, client_id, at_ms FROM db_changes "
                         "WHERE partition=?1 AND seq > ?2 ORDER BY seq");
  if (!changes.is_ok()) return changes.status();
  sqlite3_bind_int(changes->get(), 1, partition);
  sqlite3_bind_int64(changes->get(), 2, since_seq);
  while ((rc = sqlite3_step(changes->get())) == SQLITE_ROW) {
    sqlite3_stmt* stmt = changes->get();
    Json item = {{"kind", "change"},
                 {"seq", sqlite3_column_int64(stmt, 0)},
                 {"entity", column_bytes(stmt, 1)},
                 {"id", column_bytes(stmt, 2)},
                 {"op", column_bytes(stmt, 3)},
                 {"data", column_bytes(stmt, 4)},
                 {"client_id", column_bytes(stmt, 5)},
                 {"at_ms", sqlite3_column_int64(stmt, 6)}};
    TDB_RETURN_IF_ERROR(sink(dump_json(item)));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "export changes");
  return Status::ok();
}

Status import_partition(sqlite3* db, int partition, const PartitionItemSource& source) {
  if (partition < 0 || partition >= kPartitionCount) {
    return Status::invalid_argument(fmt::format("partition {} out of range", partition));
  }
  // A savepoint opens a transaction when none is open and nests inside the StoreThread's.
  TDB_RETURN_IF_ERROR(storage::sqlite::exec(db, "SAVEPOINT partition_import"));
  Status status;
  try {
    status = import_items(db, partition, source);
  } catch (const std::exception& e) {
    status = Status::corruption(fmt::format("partition import: {}", e.what()));
  }
  if (!status.is_ok()) {
    storage::sqlite::exec(db, "ROLLBACK TO partition_import");
    storage::sqlite::exec(db, "RELEASE partition_import");
    return status;
  }
  return storage::sqlite::exec(db, "RELEASE partition_import");
}

Result<PartitionStats> partition_stats(sqlite3* db, int partition) {
  auto stmt = prepare(db, "SELECT entity, id, version, body FROM db_records WHERE partition=?1");
  if (!stmt.is_ok()) return stmt.status();
  sqlite3_bind_int(stmt->get(), 1, partition);
  PartitionStats stats;
  stats.partition = partition;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    ++stats.records;
    stats.content_hash +=
        record_content_hash(column_bytes(stmt->get(), 0), column_bytes(stmt->get(), 1),
                            sqlite3_column_int64(stmt->get(), 2), column_bytes(stmt->get(), 3));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "partition stats");
  return stats;
}

Result<std::vector<PartitionStats>> all_partition_stats(sqlite3* db) {
  // One pass in storage order (there is no partition index to sort by, and the hash is a
  // sum, so order does not matter).
  auto stmt = prepare(db, "SELECT partition, entity, id, version, body FROM db_records");
  if (!stmt.is_ok()) return stmt.status();
  std::vector<PartitionStats> by_partition(kPartitionCount);
  for (int p = 0; p < kPartitionCount; ++p) by_partition[p].partition = p;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    int partition = sqlite3_column_int(stmt->get(), 0);
    if (partition < 0 || partition >= kPartitionCount) {
      return Status::corruption(fmt::format("record with partition {} out of range", partition));
    }
    PartitionStats& stats = by_partition[partition];
    ++stats.records;
    stats.content_hash +=
        record_content_hash(column_bytes(stmt->get(), 1), column_bytes(stmt->get(), 2),
                            sqlite3_column_int64(stmt->get(), 3), column_bytes(stmt->get(), 4));
  }
  if (rc != SQLITE_DONE) return sqlite_status(db, "partition stats");
  std::vector<PartitionStats> all;
  for (const PartitionStats& stats : by_partition) {
    if (stats.records > 0) all.push_back(stats);
  }
  return all;
}

}  // namespace topicdb::db
