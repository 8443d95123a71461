#include "db/partition_io.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "db/partition.h"
#include "storage/sqlite_helpers.h"
#include "tests/db/db_test_util.h"

namespace topicdb::db {
namespace {

// Every row of `sql` as one string of its columns.
std::vector<std::string> rows(sqlite3* db, const char* sql) {
  std::vector<std::string> out;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sql;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      row += sqlite3_column_type(stmt, i) == SQLITE_NULL ? "NULL"
                                                         : storage::sqlite::column_bytes(stmt, i);
      row += '|';
    }
    out.push_back(row);
  }
  sqlite3_finalize(stmt);
  return out;
}

class DbPartitionIoTest : public testing::DocumentStoreTest {
 protected:
  void before_loop_close() override {
    if (copy_) copy_->close();
    copy_.reset();
    DocumentStoreTest::before_loop_close();
  }

  // A second, empty database (no loop: run_sync only).
  void open_copy() {
    auto copy = storage::StoreThread::open(
        nullptr, dir_ + "/copy.sqlite3", {db_schema()},
        {.durability = storage::Durability::kNone, .durability_interval_ms = 1});
    ASSERT_TRUE(copy.is_ok()) << copy.status().to_string();
    copy_ = std::move(copy).value();
  }

  template <typename T>
  T on(storage::StoreThread* store, const std::function<T(sqlite3*)>& fn) {
    T value{};
    EXPECT_TRUE(store
                    ->run_sync([&](sqlite3* db) {
                      value = fn(db);
                      return Status::ok();
                    })
                    .is_ok());
    return value;
  }

  std::vector<PartitionStats> stats(storage::StoreThread* store) {
    return on<std::vector<PartitionStats>>(store, [](sqlite3* db) {
      auto all = all_partition_stats(db);
      EXPECT_TRUE(all.is_ok());
      return all.is_ok() ? *all : std::vector<PartitionStats>{};
    });
  }

  std::vector<std::string> export_items(int partition) {
    std::vector<std::string> items;
    EXPECT_TRUE(store_
                    ->run_sync([&](sqlite3* db) {
                      return export_partition(db, partition, 0, [&](const std::string& item) {
                        items.push_back(item);
                        return Status::ok();
                      });
                    })
                    .is_ok());
    return items;
  }

  Status import_items(storage::StoreThread* store, int partition,
                      const std::vector<std::string>& items) {
    size_t next = 0;
    return store->run_sync([&](sqlite3* db) {
      return import_partition(db, partition, [&](std::string* item) {
        if (next == items.size()) return false;
        *item = items[next++];
        return true;
      });
    });
  }

  std::unique_ptr<storage::StoreThread> copy_;
};

TEST_F(DbPartitionIoTest, ExportImportRoundTripGivesEqualStatsAndRecords) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(create(i % 2 ? "users" : "posts", {{"id", "r" + std::to_string(i)}, {"n", i}}).code,
              200);
  }
  ASSERT_EQ(create("users", {{"ttl_secs", 100}, {"n", -1}}).code, 200);
  ASSERT_EQ(update("users", "r1", {{"n", "changed"}}).code, 200);
  ASSERT_EQ(remove("posts", "r0").code, 200);
  std::vector<PartitionStats> original = stats(store_.get());
  int64_t total = 0;
  for (const PartitionStats& s : original) total += s.records;
  EXPECT_EQ(total, 200);
  EXPECT_GT(original.size(), 100u) << "200 records spread over many of the 256 partitions";

  open_copy();
  size_t changes = 0;
  for (int p = 0; p < kPartitionCount; ++p) {
    std::vector<std::string> items = export_items(p);
    for (const std::string& item : items) changes += item.find("\"kind\":\"change\"") != item.npos;
    ASSERT_TRUE(import_items(copy_.get(), p, items).is_ok());
  }
  EXPECT_EQ(stats(copy_.get()), original);
  const char* kRecords =
      "SELECT entity, id, partition, version, expires_at_ms, body FROM db_records ORDER BY 1, 2";
  auto source_rows =
      on<std::vector<std::string>>(store_.get(), [&](sqlite3* db) { return rows(db, kRecords); });
  EXPECT_EQ(source_rows.size(), 200u);
  EXPECT_EQ(
      on<std::vector<std::string>>(copy_.get(), [&](sqlite3* db) { return rows(db, kRecords); }),
      source_rows);
  // The change-log tail travels too; the delete of r0 is in its partition's tail.
  const char* kChanges =
      "SELECT seq, entity, id, partition, op, data, client_id FROM db_changes "
      "ORDER BY seq";
  auto source_changes =
      on<std::vector<std::string>>(store_.get(), [&](sqlite3* db) { return rows(db, kChanges); });
  EXPECT_EQ(changes, source_changes.size());
  EXPECT_EQ(
      on<std::vector<std::string>>(copy_.get(), [&](sqlite3* db) { return rows(db, kChanges); }),
      source_changes);
}

TEST_F(DbPartitionIoTest, HashFollowsContentNotOrder) {
  ASSERT_EQ(create("users", {{"id", "alice"}, {"n", 1}}).code, 200);
  int p = partition_of("users", "alice");
  auto before =
      on<PartitionStats>(store_.get(), [&](sqlite3* db) { return *partition_stats(db, p); });
  EXPECT_EQ(before.records, 1);
  ASSERT_EQ(update("users", "alice", {{"n", 2}}).code, 200);
  auto after =
      on<PartitionStats>(store_.get(), [&](sqlite3* db) { return *partition_stats(db, p); });
  EXPECT_EQ(after.records, 1);
  EXPECT_NE(after.content_hash, before.content_hash);
  EXPECT_EQ(on<PartitionStats>(store_.get(),
                               [&](sqlite3* db) { return *partition_stats(db, (p + 1) % 256); })
                .records,
            0);
}

TEST_F(DbPartitionIoTest, ImportIsAllOrNothingAndReplacesThePartition) {
  ASSERT_EQ(create("users", {{"id", "alice"}}).code, 200);
  int p = partition_of("users", "alice");
  std::vector<std::string> items = export_items(p);
  ASSERT_EQ(items.size(), 3u);  // header, record, change
  open_copy();
  // A stale record of the partition in the copy is replaced.
  ASSERT_TRUE(copy_
                  ->run_sync([&](sqlite3* db) {
                    return storage::sqlite::exec(
                        db, ("INSERT INTO db_records VALUES('users','alice'," + std::to_string(p) +
                             ",9,NULL,'{}')")
                                .c_str());
                  })
                  .is_ok());
  std::vector<std::string> broken = items;
  broken.push_back("{\"kind\":\"record\",\"entity\":\"users\"}");
  EXPECT_EQ(import_items(copy_.get(), p, broken).code(), Status::Code::kCorruption);
  EXPECT_EQ(stats(copy_.get())[0].records, 1);
  EXPECT_EQ(
      on<std::vector<std::string>>(
          copy_.get(), [](sqlite3* db) { return rows(db, "SELECT version FROM db_records"); }),
      std::vector<std::string>{"9|"})
      << "a failed import changes nothing";
  EXPECT_FALSE(import_items(copy_.get(), (p + 1) % 256, items).is_ok()) << "wrong partition";
  ASSERT_TRUE(import_items(copy_.get(), p, items).is_ok());
  EXPECT_EQ(stats(copy_.get()), stats(store_.get()));
}

}  // namespace
}  // namespace topicdb::db

namespace topicdb::db {
namespace {

TEST_F(DbPartitionIoTest, UniqueAndReverseIndexRowsTravelWithTheirPartition) {
  ASSERT_EQ(create("posts", {{"id", "p"}}).code, 200);
  ASSERT_EQ(run(make(Operation::kConstraintAdd, "comments", "",
                     Json::parse(R"({"type":"unique","name":"u","fields":["n"]})")))
                .code,
            200);
  ASSERT_EQ(run(make(Operation::kConstraintAdd, "comments", "",
                     Json::parse(R"({"type":"foreign_key","name":"fk","field":"post_id",
                                     "target_entity":"posts"})")))
                .code,
            200);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(
        create("comments", {{"id", "c" + std::to_string(i)}, {"n", i}, {"post_id", "p"}}).code,
        200);
  }
  open_copy();
  for (int p = 0; p < kPartitionCount; ++p) {
    ASSERT_TRUE(import_items(copy_.get(), p, export_items(p)).is_ok());
  }
  for (const char* sql :
       {"SELECT entity, constraint_name, key, record_id, partition FROM db_unique ORDER BY 1,2,3",
        "SELECT child_entity, fk_name, parent_id, child_id, partition FROM db_fk_refs "
        "ORDER BY 1,2,3,4"}) {
    auto source =
        on<std::vector<std::string>>(store_.get(), [&](sqlite3* db) { return rows(db, sql); });
    EXPECT_EQ(source.size(), 50u) << sql;
    EXPECT_EQ(on<std::vector<std::string>>(copy_.get(), [&](sqlite3* db) { return rows(db, sql); }),
              source)
        << sql;
  }
  // Importing a partition again replaces its rows rather than adding to them.
  int p = partition_of("comments", "c1");
  ASSERT_TRUE(import_items(copy_.get(), p, export_items(p)).is_ok());
  EXPECT_EQ(on<int64_t>(copy_.get(),
                        [](sqlite3* db) {
                          return *storage::sqlite::query_int(db, "SELECT count(*) FROM db_unique");
                        }),
            50);
}

// A store made before version 3 has the partition indexes; opening it with this build drops
// them (each cost every create a write at one of 256 places), and export and stats still
// answer the same by scanning.
TEST_F(DbPartitionIoTest, Version3DropsThePartitionIndexesOfAnOlderStore) {
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(create("users", {{"id", "u" + std::to_string(i)}}).code, 200);
  std::vector<PartitionStats> before = stats(store_.get());
  int p = partition_of("users", "u7");
  std::vector<std::string> exported = export_items(p);

  const std::string path = dir_ + "/old.sqlite3";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  storage::ComponentSchema old_schema = db_schema();
  old_schema.migrations.resize(2);
  ASSERT_TRUE(storage::migrate_schemas(db, path, {old_schema}).is_ok());
  ASSERT_TRUE(
      storage::sqlite::exec(db,
                            "CREATE INDEX db_records_partition ON db_records(partition);"
                            "CREATE INDEX db_changes_partition ON db_changes(partition, seq)")
          .is_ok());
  ASSERT_TRUE(storage::migrate_schemas(db, path, {db_schema()}).is_ok());
  EXPECT_EQ(*storage::sqlite::query_int(
                db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_partition'"),
            0);
  EXPECT_EQ(
      *storage::sqlite::query_int(db, "SELECT version FROM schema_versions WHERE component='db'"),
      3);
  sqlite3_close(db);

  // The same records in a fresh store give the same stats and export without the indexes.
  open_copy();
  ASSERT_TRUE(import_items(copy_.get(), p, exported).is_ok());
  std::vector<PartitionStats> copied = stats(copy_.get());
  ASSERT_EQ(copied.size(), 1u);
  for (const PartitionStats& s : before) {
    if (s.partition == p) {
      EXPECT_EQ(copied[0].records, s.records);
      EXPECT_EQ(copied[0].content_hash, s.content_hash);
    }
  }
}

}  // namespace
}  // namespace topicdb::db
