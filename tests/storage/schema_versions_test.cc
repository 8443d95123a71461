#include "storage/schema_versions.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>

#include "storage/sqlite_helpers.h"
#include "storage/store_thread.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::storage {
namespace {

class SchemaVersionsTest : public testing::StoreTest {
 protected:
  // A component whose version-`v` migration creates table `<name>_v<v>` and counts its runs.
  ComponentSchema component(const std::string& name, int version) {
    ComponentSchema schema;
    schema.component = name;
    for (int v = 1; v <= version; ++v) {
      schema.migrations.push_back([this, name, v](sqlite3* db) {
        ++runs_[name + "_v" + std::to_string(v)];
        return sqlite::exec(db, fmt::format("CREATE TABLE {}_v{}(x)", name, v).c_str());
      });
    }
    return schema;
  }

  Status open_and_close(const std::vector<ComponentSchema>& schemas) {
    auto store = StoreThread::open(&loop_, path_, schemas);
    if (!store.is_ok()) return store.status();
    Status closed = (*store)->close();
    store->reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    return closed;
  }

  int64_t version_of(const std::string& component) {
    return query("SELECT version FROM schema_versions WHERE component = '" + component + "'");
  }
  bool has_table(const std::string& table) {
    return query("SELECT count(*) FROM sqlite_master WHERE name = '" + table + "'") == 1;
  }

  std::map<std::string, int> runs_;  // migration -> times it ran
};

TEST_F(SchemaVersionsTest, TwoComponentsKeepTheirOwnVersionsInOneFile) {
  ASSERT_TRUE(open_and_close({component("broker", 1), component("db", 2)}).is_ok());
  EXPECT_EQ(version_of("broker"), 1);
  EXPECT_EQ(version_of("db"), 2);
  EXPECT_TRUE(has_table("broker_v1"));
  EXPECT_TRUE(has_table("db_v2"));
  EXPECT_EQ(query("PRAGMA user_version"), kFileFormatVersion);

  // A newer build migrates only the component that changed, only by its new step.
  runs_.clear();
  ASSERT_TRUE(open_and_close({component("broker", 2), component("db", 2)}).is_ok());
  EXPECT_EQ(version_of("broker"), 2);
  EXPECT_EQ(version_of("db"), 2);
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"broker_v2", 1}}));

  // Reopening with nothing new runs nothing.
  runs_.clear();
  ASSERT_TRUE(open_and_close({component("broker", 2), component("db", 2)}).is_ok());
  EXPECT_TRUE(runs_.empty());
}

TEST_F(SchemaVersionsTest, ComponentAddedLaterStartsFromZero) {
  ASSERT_TRUE(open_and_close({component("broker", 1)}).is_ok());
  EXPECT_EQ(version_of("db"), -1) << "no row yet";
  runs_.clear();
  ASSERT_TRUE(open_and_close({component("broker", 1), component("db", 1)}).is_ok());
  EXPECT_EQ(version_of("db"), 1);
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"db_v1", 1}}));
}

TEST_F(SchemaVersionsTest, NewerComponentIsRefusedAndTheFileLeftUntouched) {
  ASSERT_TRUE(open_and_close({component("broker", 1), component("db", 3)}).is_ok());
  std::string before = file_bytes();
  ASSERT_FALSE(before.empty());

  runs_.clear();
  Status refused = open_and_close({component("broker", 2), component("db", 2)});
  EXPECT_EQ(refused.code(), Status::Code::kUnsupported) << refused.to_string();
  EXPECT_NE(refused.message().find("'db' has schema version 3, newer than version 2"),
            std::string::npos)
      << refused.message();
  EXPECT_TRUE(runs_.empty()) << "not even the older component migrated";
  EXPECT_EQ(file_bytes(), before);
  EXPECT_EQ(version_of("broker"), 1);
  EXPECT_EQ(version_of("db"), 3);
}

TEST_F(SchemaVersionsTest, NewerFileFormatIsRefused) {
  ASSERT_TRUE(open_and_close({component("broker", 1)}).is_ok());
  ASSERT_TRUE(exec("PRAGMA user_version = 7"));
  std::string before = file_bytes();
  Status refused = open_and_close({component("broker", 1)});
  EXPECT_EQ(refused.code(), Status::Code::kUnsupported) << refused.to_string();
  EXPECT_EQ(file_bytes(), before);
}

TEST_F(SchemaVersionsTest, FailedMigrationLeavesEveryVersionAsItWas) {
  ASSERT_TRUE(open_and_close({component("broker", 1), component("db", 1)}).is_ok());
  ComponentSchema broken = component("db", 2);
  broken.migrations.push_back([](sqlite3* db) { return sqlite::exec(db, "NOT SQL"); });
  Status failed = open_and_close({component("broker", 2), broken});
  EXPECT_FALSE(failed.is_ok());
  // One transaction: broker's step 2 and db's step 2 both rolled back with the failure.
  EXPECT_EQ(version_of("broker"), 1);
  EXPECT_EQ(version_of("db"), 1);
  EXPECT_FALSE(has_table("broker_v2"));
  EXPECT_FALSE(has_table("db_v2"));
}

TEST_F(SchemaVersionsTest, LegacyHookGivesTheVersionOfAFileWithoutVersionsTable) {
  // A file from before the versions table: the component kept its version elsewhere.
  ASSERT_TRUE(
      exec("CREATE TABLE broker_v1(x); INSERT INTO broker_v1 VALUES(7); "
           "PRAGMA user_version = 1"));
  ComponentSchema broker = component("broker", 2);
  broker.legacy_version = [](sqlite3* db) { return sqlite::query_int(db, "PRAGMA user_version"); };
  ASSERT_TRUE(open_and_close({broker, component("db", 1)}).is_ok());
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"broker_v2", 1}, {"db_v1", 1}}));
  EXPECT_EQ(version_of("broker"), 2);
  EXPECT_EQ(query("SELECT x FROM broker_v1"), 7);
  EXPECT_EQ(query("PRAGMA user_version"), kFileFormatVersion);
}

TEST_F(SchemaVersionsTest, GarbageFileIsCorruption) {
  std::ofstream(path_) << std::string(8192, 'g');
  Status refused = open_and_close({component("broker", 1)});
  EXPECT_EQ(refused.code(), Status::Code::kCorruption) << refused.to_string();
}

}  // namespace
}  // namespace topicdb::storage
