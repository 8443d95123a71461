// The broker's component in the node's database: refusal of newer files, and migration
// of data directories written before per-component schema versions.
#include "broker/persist/state_schema.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/persist/sqlite_state_store.h"
#include "storage/store_thread.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::broker {
namespace {

using namespace std::string_literals;

class StateSchemaTest : public storage::testing::StoreTest {
 protected:
  void before_loop_close() override { close_all(); }

  void open() {
    auto database = storage::StoreThread::open(&loop_, path_, {state_schema()});
    ASSERT_TRUE(database.is_ok()) << database.status().to_string();
    database_ = std::move(database).value();
    auto store = SqliteStateStore::open(database_.get());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  void close_all() {
    store_.reset();
    database_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  LoadedState reopen_and_load() {
    close_all();
    open();
    Result<LoadedState> state = store_->load();
    EXPECT_TRUE(state.is_ok()) << state.status().to_string();
    return state.is_ok() ? std::move(state).value() : LoadedState{};
  }

  std::unique_ptr<storage::StoreThread> database_;
  std::unique_ptr<SqliteStateStore> store_;
};

TEST_F(StateSchemaTest, NewerSchemaVersionIsRefused) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  std::string before = file_bytes();
  auto result = storage::StoreThread::open(&loop_, path_, {state_schema()});
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(result.status().message().find("'broker' has schema version 99"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(file_bytes(), before) << "a refused file is left untouched";
}

// A data directory written before per-component versions: the DDL exactly as
// state_schema.cc ran it then, and PRAGMA user_version = 1.
TEST_F(StateSchemaTest, LegacyUserVersionFileMigratesKeepingEveryRow) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const char* legacy = R"sql(
PRAGMA journal_mode = WAL;
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS broker_sessions(client_id TEXT NOT NULL PRIMARY KEY,
  protocol_version INTEGER NOT NULL, expiry_interval_s INTEGER NOT NULL,
  disconnected_at_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS broker_subscriptions(client_id TEXT NOT NULL, filter TEXT NOT NULL,
  options INTEGER NOT NULL, subscription_id INTEGER NOT NULL,
  PRIMARY KEY(client_id, filter)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS broker_messages(client_id TEXT NOT NULL, seq INTEGER NOT NULL,
  topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
  packet_id INTEGER NOT NULL, state INTEGER NOT NULL, properties BLOB NOT NULL,
  expiry_at_ms INTEGER NOT NULL, subscription_id INTEGER NOT NULL,
  PRIMARY KEY(client_id, seq));
CREATE TABLE IF NOT EXISTS broker_inbound_qos2(client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL, PRIMARY KEY(client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS broker_retained(topic TEXT NOT NULL PRIMARY KEY,
  payload BLOB NOT NULL, qos INTEGER NOT NULL, properties BLOB NOT NULL,
  expiry_at_ms INTEGER NOT NULL);
PRAGMA user_version = 1;
COMMIT;
INSERT INTO broker_sessions VALUES('old', 4, 4294967295, 1700000000000);
INSERT INTO broker_subscriptions VALUES('old', 'a/#', 1, 0);
INSERT INTO broker_messages VALUES('old', 3, 'a/b', x'00ff', 2, 0, 17, 2, x'', 0, 0);
INSERT INTO broker_inbound_qos2 VALUES('old', 5);
INSERT INTO broker_retained VALUES('r', 'kept', 1, x'', 0);
)sql";
  ASSERT_EQ(sqlite3_exec(db, legacy, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  open();
  Result<LoadedState> state = store_->load();
  ASSERT_TRUE(state.is_ok()) << state.status().to_string();
  ASSERT_EQ(state->sessions.size(), 1u);
  const StoredSession& s = state->sessions[0];
  EXPECT_EQ(s.client_id, "old");
  EXPECT_EQ(s.protocol_version, 4);
  EXPECT_EQ(s.disconnected_at_ms, 1'700'000'000'000);
  ASSERT_EQ(s.subscriptions.size(), 1u);
  EXPECT_EQ(s.subscriptions[0].filter, "a/#");
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_EQ(s.messages[0].seq, 3u);
  EXPECT_EQ(s.messages[0].payload, "\x00\xff"s);
  EXPECT_EQ(s.messages[0].packet_id, 17);
  EXPECT_EQ(s.messages[0].state, StoredMessage::State::kPubrelSent);
  EXPECT_EQ(s.inbound_qos2, std::vector<uint16_t>{5});
  ASSERT_EQ(state->retained.size(), 1u);
  EXPECT_EQ(state->retained[0].payload, "kept");

  // The file now records the broker's version in the versions table, and keeps working.
  Result<int64_t> version = Status::internal("not read");
  ASSERT_TRUE(database_
                  ->run_sync([&](sqlite3* conn) {
                    version = storage::stored_schema_version(conn, "broker");
                    return Status::ok();
                  })
                  .is_ok());
  ASSERT_TRUE(version.is_ok());
  EXPECT_EQ(*version, 1);
  store_->put_retained({"new", "p", 0, "", 0});
  LoadedState reopened = reopen_and_load();
  EXPECT_EQ(reopened.sessions.size(), 1u);
  EXPECT_EQ(reopened.retained.size(), 2u);
}

}  // namespace
}  // namespace topicdb::broker
