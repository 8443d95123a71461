#include "broker/persist/sqlite_state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <uv.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "broker/persist/state_schema.h"
#include "storage/store_thread.h"
#include "tests/storage/store_test_util.h"

namespace topicdb::broker {
namespace {

using namespace std::string_literals;

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/topicdb_sqlite_store_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state.db";
    ASSERT_EQ(uv_loop_init(&loop_), 0);
  }

  void TearDown() override {
    store_.reset();
    database_.reset();
    // Releases the async handle that close() handed to uv_close (the documented contract).
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The node's database with the broker component, as app/server.cc opens it.
  Result<std::unique_ptr<storage::StoreThread>> open_database(
      uv_loop_t* loop, storage::StoreThread::Options options = {}) {
    return storage::StoreThread::open(loop, path_, {state_schema()}, options);
  }

  void open(storage::StoreThread::Options options = {}) {
    auto database = open_database(&loop_, options);
    ASSERT_TRUE(database.is_ok()) << database.status().to_string();
    database_ = std::move(database).value();
    auto result = SqliteStateStore::open(database_.get());
    ASSERT_TRUE(result.is_ok()) << result.status().to_string();
    store_ = std::move(result).value();
  }

  // The state store, then its store thread (the order app/server.cc closes them in).
  void close_all() {
    store_.reset();
    database_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  // close() + reopen: what a broker restart sees.
  LoadedState reopen_and_load() {
    EXPECT_TRUE(store_->close().is_ok());
    close_all();
    open();
    Result<LoadedState> state = store_->load();
    EXPECT_TRUE(state.is_ok()) << state.status().to_string();
    return state.is_ok() ? std::move(state).value() : LoadedState{};
  }

  // Runs the loop until `done` holds, bounded by a 5 s timeout; returns done().
  bool run_loop_until(const std::function<bool()>& done) {
    return storage::testing::run_loop_until(&loop_, done);
  }

  static StoredSession make_session(const std::string& id) {
    StoredSession s;
    s.client_id = id;
    s.protocol_version = 5;
    s.expiry_interval_s = 3600;
    s.disconnected_at_ms = 1'700'000'000'123;
    return s;
  }

  static StoredMessage make_message(uint64_t seq, const std::string& payload) {
    StoredMessage m;
    m.seq = seq;
    m.topic = "a/b/" + std::to_string(seq);
    m.payload = payload;
    m.qos = 2;
    m.retain = true;
    m.packet_id = static_cast<uint16_t>(seq + 100);
    m.state = StoredMessage::State::kPublishSent;
    m.properties = "\x01\x00\x02"s;
    m.expiry_at_ms = 1'800'000'000'000;
    m.subscription_id = 42;
    return m;
  }

  uv_loop_t loop_;
  std::string dir_;
  std::string path_;
  std::unique_ptr<storage::StoreThread> database_;
  std::unique_ptr<SqliteStateStore> store_;
};

TEST_F(SqliteStateStoreTest, FreshFileLoadsEmptyAndHasSchemaVersion) {
  open();
  Result<LoadedState> state = store_->load();
  ASSERT_TRUE(state.is_ok()) << state.status().to_string();
  EXPECT_TRUE(state->sessions.empty());
  EXPECT_TRUE(state->retained.empty());
  EXPECT_EQ(store_->last_ticket(), 0u);
  EXPECT_EQ(store_->durable_ticket(), 0u);
  EXPECT_TRUE(store_->close().is_ok());
  close_all();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT version FROM schema_versions WHERE component = 'broker'",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), kStateSchemaVersion);
  EXPECT_EQ(static_cast<int64_t>(state_schema().migrations.size()), kStateSchemaVersion);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(SqliteStateStoreTest, EveryWriteKindRoundTripsAcrossReopen) {
  open();
  store_->put_session(make_session("c1"));
  store_->put_subscription("c1", {"a/+", 0x2D, 7});
  store_->put_subscription("c1", {"b/#", 1, 0});
  store_->put_subscription("c1", {"gone", 1, 0});
  store_->delete_subscription("c1", "gone");
  store_->put_message("c1", make_message(1, "one"));
  store_->put_message("c1", make_message(2, "two"));
  store_->delete_message("c1", 1);
  store_->put_inbound_qos2("c1", 9);
  store_->put_inbound_qos2("c1", 10);
  store_->delete_inbound_qos2("c1", 9);
  store_->put_retained({"r/1", "hello", 1, "\x26\x00"s, 123});

  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.sessions.size(), 1u);
  const StoredSession& s = state.sessions[0];
  EXPECT_EQ(s.client_id, "c1");
  EXPECT_EQ(s.protocol_version, 5);
  EXPECT_EQ(s.expiry_interval_s, 3600u);
  EXPECT_EQ(s.disconnected_at_ms, 1'700'000'000'123);
  ASSERT_EQ(s.subscriptions.size(), 2u);
  EXPECT_EQ(s.subscriptions[0].filter, "a/+");
  EXPECT_EQ(s.subscriptions[0].options, 0x2D);
  EXPECT_EQ(s.subscriptions[0].subscription_id, 7u);
  EXPECT_EQ(s.subscriptions[1].filter, "b/#");
  ASSERT_EQ(s.messages.size(), 1u);
  const StoredMessage& m = s.messages[0];
  StoredMessage want = make_message(2, "two");
  EXPECT_EQ(m.seq, want.seq);
  EXPECT_EQ(m.topic, want.topic);
  EXPECT_EQ(m.payload, want.payload);
  EXPECT_EQ(m.qos, want.qos);
  EXPECT_EQ(m.retain, want.retain);
  EXPECT_EQ(m.packet_id, want.packet_id);
  EXPECT_EQ(m.state, want.state);
  EXPECT_EQ(m.properties, want.properties);
  EXPECT_EQ(m.expiry_at_ms, want.expiry_at_ms);
  EXPECT_EQ(m.subscription_id, want.subscription_id);
  EXPECT_EQ(s.inbound_qos2, std::vector<uint16_t>{10});
  ASSERT_EQ(state.retained.size(), 1u);
  EXPECT_EQ(state.retained[0].topic, "r/1");
  EXPECT_EQ(state.retained[0].payload, "hello");
  EXPECT_EQ(state.retained[0].qos, 1);
  EXPECT_EQ(state.retained[0].properties, "\x26\x00"s);
  EXPECT_EQ(state.retained[0].expiry_at_ms, 123);
}

TEST_F(SqliteStateStoreTest, PutSessionReplacesMetadataAndKeepsChildren) {
  open();
  store_->put_session(make_session("c1"));
  store_->put_subscription("c1", {"x", 1, 0});
  StoredSession updated = make_session("c1");
  updated.disconnected_at_ms = 0;
  updated.protocol_version = 4;
  store_->put_session(updated);
  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.sessions.size(), 1u);
  EXPECT_EQ(state.sessions[0].disconnected_at_ms, 0);
  EXPECT_EQ(state.sessions[0].protocol_version, 4);
  EXPECT_EQ(state.sessions[0].subscriptions.size(), 1u);
}

TEST_F(SqliteStateStoreTest, BinaryPayloadsWithNulBytesSurvive) {
  open();
  std::string payload = "\0\x01\xff\0tail\0"s;
  std::string big(100'000, '\0');
  big[50'000] = 'x';
  store_->put_session(make_session("c"));
  store_->put_message("c", make_message(1, payload));
  store_->put_message("c", make_message(2, big));
  store_->put_message("c", make_message(3, ""));
  store_->put_retained({"r", payload, 0, "", 0});
  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.sessions.size(), 1u);
  ASSERT_EQ(state.sessions[0].messages.size(), 3u);
  EXPECT_EQ(state.sessions[0].messages[0].payload, payload);
  EXPECT_EQ(state.sessions[0].messages[1].payload, big);
  EXPECT_EQ(state.sessions[0].messages[2].payload, "");
  ASSERT_EQ(state.retained.size(), 1u);
  EXPECT_EQ(state.retained[0].payload, payload);
  EXPECT_EQ(state.retained[0].properties, "");
}

TEST_F(SqliteStateStoreTest, MessagesLoadOrderedBySeq) {
  open();
  store_->put_session(make_session("c"));
  for (uint64_t seq : {5, 1, 300, 2, 40}) store_->put_message("c", make_message(seq, "p"));
  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.sessions.size(), 1u);
  std::vector<uint64_t> seqs;
  for (const StoredMessage& m : state.sessions[0].messages) seqs.push_back(m.seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 5, 40, 300}));
}

TEST_F(SqliteStateStoreTest, UpdateMessageStateChangesOnlyStateAndPacketId) {
  open();
  store_->put_session(make_session("c"));
  StoredMessage m = make_message(1, "p");
  m.state = StoredMessage::State::kQueued;
  m.packet_id = 0;
  store_->put_message("c", m);
  store_->update_message_state("c", 1, 77, StoredMessage::State::kPubrelSent);
  store_->update_message_state("c", 99, 1, StoredMessage::State::kPublishSent);  // no such row
  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.sessions.size(), 1u);
  ASSERT_EQ(state.sessions[0].messages.size(), 1u);
  EXPECT_EQ(state.sessions[0].messages[0].packet_id, 77);
  EXPECT_EQ(state.sessions[0].messages[0].state, StoredMessage::State::kPubrelSent);
  EXPECT_EQ(state.sessions[0].messages[0].payload, "p");
  EXPECT_TRUE(store_->health().is_ok());
}

TEST_F(SqliteStateStoreTest, DeleteSessionRemovesEverythingItOwns) {
  open();
  for (const char* id : {"gone", "kept"}) {
    store_->put_session(make_session(id));
    store_->put_subscription(id, {"t", 1, 0});
    store_->put_message(id, make_message(1, "p"));
    store_->put_inbound_qos2(id, 3);
  }
  store_->delete_session("gone");
  // A session with the same id later starts empty.
  store_->put_session(make_session("gone"));
  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.sessions.size(), 2u);
  EXPECT_EQ(state.sessions[0].client_id, "gone");
  EXPECT_TRUE(state.sessions[0].subscriptions.empty());
  EXPECT_TRUE(state.sessions[0].messages.empty());
  EXPECT_TRUE(state.sessions[0].inbound_qos2.empty());
  EXPECT_EQ(state.sessions[1].client_id, "kept");
  EXPECT_EQ(state.sessions[1].subscriptions.size(), 1u);
  EXPECT_EQ(state.sessions[1].messages.size(), 1u);
  EXPECT_EQ(state.sessions[1].inbound_qos2.size(), 1u);
}

TEST_F(SqliteStateStoreTest, RetainedPutReplaceDelete) {
  open();
  store_->put_retained({"a", "first", 0, "", 0});
  store_->put_retained({"b", "keep", 1, "", 0});
  store_->put_retained({"a", "second", 2, "p", 9});
  store_->put_retained({"c", "doomed", 0, "", 0});
  store_->delete_retained("c");
  store_->delete_retained("never-existed");
  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.retained.size(), 2u);
  EXPECT_EQ(state.retained[0].topic, "a");
  EXPECT_EQ(state.retained[0].payload, "second");
  EXPECT_EQ(state.retained[0].qos, 2);
  EXPECT_EQ(state.retained[0].properties, "p");
  EXPECT_EQ(state.retained[0].expiry_at_ms, 9);
  EXPECT_EQ(state.retained[1].topic, "b");
}

TEST_F(SqliteStateStoreTest, TicketsIncreaseAndCallbackGetsLastTicket) {
  open();
  std::vector<uint64_t> seen;
  store_->set_durable_callback([&](uint64_t ticket) { seen.push_back(ticket); });
  EXPECT_EQ(store_->put_session(make_session("c")), 1u);
  EXPECT_EQ(store_->put_message("c", make_message(1, "p")), 2u);
  EXPECT_EQ(store_->put_retained({"t", "p", 0, "", 0}), 3u);
  EXPECT_EQ(store_->last_ticket(), 3u);
  ASSERT_TRUE(run_loop_until([&] { return !seen.empty() && seen.back() == 3; }));
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
  EXPECT_EQ(store_->durable_ticket(), 3u);
  // Callbacks only report progress: closing with nothing new calls nothing.
  size_t calls = seen.size();
  EXPECT_TRUE(store_->close().is_ok());
  EXPECT_EQ(seen.size(), calls);
}

TEST_F(SqliteStateStoreTest, CloseWithoutLoopReportsFinalTicket) {
  open();
  std::vector<uint64_t> seen;
  store_->set_durable_callback([&](uint64_t ticket) { seen.push_back(ticket); });
  for (int i = 0; i < 50; ++i) store_->put_retained({"t" + std::to_string(i), "p", 0, "", 0});
  // The loop never runs before close(): close() must still drain and report.
  EXPECT_TRUE(store_->close().is_ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 50u);
  EXPECT_EQ(store_->durable_ticket(), 50u);
}

TEST_F(SqliteStateStoreTest, GroupCommitBatchesBackToBackWrites) {
  open();
  uint64_t durable = 0;
  store_->set_durable_callback([&](uint64_t ticket) { durable = ticket; });
  store_->put_session(make_session("c"));
  for (uint64_t seq = 1; seq < 1000; ++seq) store_->put_message("c", make_message(seq, "p"));
  ASSERT_EQ(store_->last_ticket(), 1000u);
  ASSERT_TRUE(run_loop_until([&] { return durable == 1000; })) << "durable " << durable;
  EXPECT_GE(database_->commits(), 1u);
  EXPECT_LT(database_->commits(), 1000u);
  LoadedState state = reopen_and_load();
  ASSERT_EQ(state.sessions.size(), 1u);
  EXPECT_EQ(state.sessions[0].messages.size(), 999u);
}

TEST_F(SqliteStateStoreTest, LoadSeesWritesStillQueued) {
  open();
  store_->put_session(make_session("c"));
  store_->put_retained({"t", "p", 0, "", 0});
  Result<LoadedState> state = store_->load();
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->sessions.size(), 1u);
  EXPECT_EQ(state->retained.size(), 1u);
}

TEST_F(SqliteStateStoreTest, FailedWriteIsCountedAndTheStoreKeepsGoing) {
  open();
  uint64_t durable = 0;
  store_->set_durable_callback([&](uint64_t ticket) { durable = ticket; });
  store_->put_retained({"t", "p", 0, "", 0});
  ASSERT_TRUE(run_loop_until([&] { return durable == 1; }));

  // Another connection drops a table the store writes to.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  sqlite3_busy_timeout(other, 5000);
  ASSERT_EQ(sqlite3_exec(other, "DROP TABLE broker_messages", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);

  // The failing write is rolled back alone; the writes around it commit.
  store_->put_session(make_session("c"));
  uint64_t bad = store_->put_message("c", make_message(1, "p"));
  uint64_t later = store_->put_retained({"u", "p", 0, "", 0});
  EXPECT_GT(later, bad);
  ASSERT_TRUE(run_loop_until([&] { return durable == later; })) << "durable " << durable;
  EXPECT_EQ(store_->failed_writes(), 1u);
  EXPECT_TRUE(store_->health().is_ok()) << store_->health().to_string();
  EXPECT_TRUE(store_->close().is_ok());
  close_all();
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(other,
                               "SELECT (SELECT count(*) FROM broker_sessions), "
                               "(SELECT count(*) FROM broker_retained)",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  EXPECT_EQ(sqlite3_column_int(stmt, 1), 2);
  sqlite3_finalize(stmt);
  sqlite3_close(other);
}

TEST_F(SqliteStateStoreTest, FailedCommitTurnsHealthNonOkAndStopsTheDurableTicket) {
  open();
  uint64_t durable = 0;
  store_->set_durable_callback([&](uint64_t ticket) { durable = ticket; });
  store_->put_retained({"t", "p", 0, "", 0});
  ASSERT_TRUE(run_loop_until([&] { return durable == 1; }));

  // Another component's submission breaks a deferred foreign key: its savepoint releases,
  // but the COMMIT of the whole group fails (as an I/O error or a full disk would).
  ASSERT_TRUE(database_
                  ->run_sync([](sqlite3* db) {
                    return storage::sqlite::exec(
                        db,
                        "PRAGMA foreign_keys = ON; CREATE TABLE parent(id INTEGER PRIMARY KEY); "
                        "CREATE TABLE child(p INTEGER REFERENCES parent(id) "
                        "DEFERRABLE INITIALLY DEFERRED)");
                  })
                  .is_ok());
  // A gate keeps the store thread busy until both writes below are queued, so they form
  // one group whatever the scheduler does.
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  auto entered = std::make_shared<std::promise<void>>();
  std::future<void> running = entered->get_future();
  database_->submit([opened, entered](sqlite3*) {
    entered->set_value();
    opened.wait();
    return Status::ok();
  });
  running.wait();
  uint64_t bad = store_->put_retained({"lost", "p", 0, "", 0});
  database_->submit(
      [](sqlite3* db) { return storage::sqlite::exec(db, "INSERT INTO child VALUES(42)"); });
  gate.set_value();
  ASSERT_TRUE(run_loop_until([&] { return !store_->health().is_ok(); }));
  EXPECT_EQ(store_->health().code(), Status::Code::kIoError);
  EXPECT_NE(store_->health().message().find("COMMIT"), std::string::npos)
      << store_->health().message();
  // Nothing after the failure becomes durable, even writes that would have succeeded.
  uint64_t later = store_->put_retained({"u", "p", 0, "", 0});
  EXPECT_GT(later, bad);
  EXPECT_FALSE(store_->close().is_ok());
  EXPECT_EQ(store_->durable_ticket(), 1u);
  EXPECT_EQ(durable, 1u);
  EXPECT_EQ(store_->failed_writes(), 0u);
}

TEST_F(SqliteStateStoreTest, GarbageFileIsRefused) {
  std::ofstream(path_) << std::string(8192, 'g');
  auto result = open_database(&loop_);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), Status::Code::kCorruption) << result.status().to_string();
}

TEST_F(SqliteStateStoreTest, MissingDirectoryFailsCleanly) {
  auto result =
      storage::StoreThread::open(&loop_, dir_ + "/no/such/dir/state.db", {state_schema()});
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), Status::Code::kIoError);
}

TEST_F(SqliteStateStoreTest, CloseTwiceAndWritesAfterCloseAreRefused) {
  open();
  uint64_t t = store_->put_retained({"t", "p", 0, "", 0});
  EXPECT_TRUE(store_->close().is_ok());
  EXPECT_TRUE(store_->close().is_ok());
  EXPECT_EQ(store_->durable_ticket(), t);
  uint64_t refused = store_->put_retained({"u", "p", 0, "", 0});
  EXPECT_EQ(refused, t + 1);
  EXPECT_EQ(store_->durable_ticket(), t);
  EXPECT_FALSE(store_->load().is_ok());
}

// The broker acknowledges on commit in every mode; in periodic (and none) the node's
// durable ticket, which $DB change events wait for, follows at the next sync.
TEST_F(SqliteStateStoreTest, PeriodicDurabilityAcknowledgesOnCommitBeforeTheSync) {
  open({.durability = storage::Durability::kPeriodic, .durability_interval_ms = 60000});
  uint64_t acked = 0;
  store_->set_durable_callback([&](uint64_t ticket) { acked = ticket; });
  store_->put_retained({"a", "p", 0, "", 0});
  // The first commit after a quiet time is synced at once; the next waits for the interval.
  ASSERT_TRUE(run_loop_until([&] { return acked == 1 && database_->durable_ticket() == 1; }));
  store_->put_retained({"b", "p", 0, "", 0});
  ASSERT_TRUE(run_loop_until([&] { return acked == 2; }));
  EXPECT_EQ(store_->durable_ticket(), 2u);
  EXPECT_EQ(database_->committed_ticket(), 2u);
  EXPECT_EQ(database_->durable_ticket(), 1u) << "not synced yet, and the ack did not wait";
  // close() syncs: after it everything is durable.
  EXPECT_TRUE(store_->close().is_ok());
  EXPECT_EQ(database_->durable_ticket(), 2u);
}

TEST_F(SqliteStateStoreTest, PeriodicDurabilityAndNullLoopWork) {
  auto database = open_database(nullptr, {.durability = storage::Durability::kPeriodic});
  ASSERT_TRUE(database.is_ok()) << database.status().to_string();
  auto result = SqliteStateStore::open(database->get());
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  std::unique_ptr<SqliteStateStore> store = std::move(result).value();
  uint64_t last = 0;
  store->set_durable_callback([&](uint64_t ticket) { last = ticket; });
  store->put_retained({"t", "p", 0, "", 0});
  EXPECT_TRUE(store->close().is_ok());
  EXPECT_EQ(last, 1u);
  store.reset();
  database->reset();
  open();
  Result<LoadedState> state = store_->load();
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->retained.size(), 1u);
}

TEST_F(SqliteStateStoreTest, DestructorClosesAndKeepsWrites) {
  open();
  for (int i = 0; i < 10; ++i) store_->put_retained({"t" + std::to_string(i), "p", 0, "", 0});
  close_all();  // no explicit close()
  open();
  Result<LoadedState> state = store_->load();
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->retained.size(), 10u);
}

}  // namespace
}  // namespace topicdb::broker
