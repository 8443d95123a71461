#include "db/document_store.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "db/partition.h"
#include "tests/db/db_test_util.h"

namespace topicdb::db {
namespace {

using DbDocumentStoreTest = testing::DocumentStoreTest;

TEST_F(DbDocumentStoreTest, CreateAssignsTimeOrderedIdAndVersionOne) {
  Answer first = create("users", {{"name", "alice"}, {"age", 30}});
  ASSERT_EQ(first.code, 200) << first.message;
  std::string id = first.data["id"].get<std::string>();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7') << "UUIDv7";
  EXPECT_EQ(first.data["_version"], 1);
  EXPECT_EQ(first.data["name"], "alice");
  EXPECT_EQ(first.data["age"], 30);
  clock_.advance_ms(5);
  Answer second = create("users", {{"name", "bob"}});
  ASSERT_EQ(second.code, 200);
  EXPECT_LT(id, second.data["id"].get<std::string>()) << "ids sort by creation time";

  EXPECT_EQ(query("SELECT count(*) FROM db_records WHERE entity='users'"), 2);
  EXPECT_EQ(query("SELECT version FROM db_records WHERE id='" + id + "'"), 1);
  EXPECT_EQ(query("SELECT partition FROM db_records WHERE id='" + id + "'"),
            partition_of("users", id));
  EXPECT_EQ(query("SELECT count(*) FROM db_changes WHERE op='Create'"), 2);
  ASSERT_TRUE(wait_events(2));
  EXPECT_EQ(sink_.events[0].sequence, 1u);
  EXPECT_EQ(sink_.events[0].operation, "Create");
  EXPECT_EQ(sink_.events[0].entity, "users");
  EXPECT_EQ(sink_.events[0].id, id);
  EXPECT_EQ(sink_.events[0].client_id, "client-1");
  EXPECT_EQ(Json::parse(sink_.events[0].data_json), first.data);
}

// The create's answer is the text the store wrote (its event carries it): no second dump,
// and a plain read of the record answers with the same text.
TEST_F(DbDocumentStoreTest, CreateAnswersWithTheStoredText) {
  std::optional<Answer> created;
  docs_->execute(make(Operation::kCreate, "users", "", {{"id", "u1"}, {"n", 1.25}}),
                 [&](Answer a) { created = std::move(a); });
  ASSERT_TRUE(run_loop_until([&] { return created.has_value(); }));
  ASSERT_EQ(created->code, 200) << created->message;
  EXPECT_TRUE(created->data.is_null());
  EXPECT_EQ(Json::parse(created->data_text), Json::parse(R"({"id":"u1","n":1.25,"_version":1})"));
  std::optional<Answer> read_back;
  docs_->execute(make(Operation::kRead, "users", "u1", Json::object()),
                 [&](Answer a) { read_back = std::move(a); });
  ASSERT_TRUE(run_loop_until([&] { return read_back.has_value(); }));
  EXPECT_EQ(read_back->data_text, created->data_text);
  ASSERT_TRUE(wait_events(1));
  EXPECT_EQ(sink_.events[0].data_json, created->data_text);
  // An error answer keeps its own form.
  EXPECT_EQ(create("users", {{"id", "u1"}}).code, 409);
}

TEST_F(DbDocumentStoreTest, CreateWithExistingIdIsConflict) {
  ASSERT_EQ(create("users", {{"id", "u1"}, {"n", 1}}).code, 200);
  Answer again = create("users", {{"id", "u1"}, {"n", 2}});
  EXPECT_EQ(again.code, 409);
  EXPECT_NE(again.message.find("u1"), std::string::npos);
  EXPECT_EQ(read("users", "u1").data["n"], 1) << "no silent overwrite";
  EXPECT_EQ(create("other", {{"id", "u1"}}).code, 200) << "ids are per entity";
  EXPECT_EQ(query("SELECT count(*) FROM db_changes"), 2);
}

TEST_F(DbDocumentStoreTest, CreateRefusesBadInputAndWritesNothing) {
  EXPECT_EQ(create("users", {{"_secret", 1}}).code, 400);
  EXPECT_EQ(create("users", {{"_version", 3}}).code, 400);
  EXPECT_EQ(create("users", {{"id", "a/b"}}).code, 400);
  EXPECT_EQ(create("users", {{"id", "create"}}).code, 400);
  EXPECT_EQ(create("users", {{"id", "_x"}}).code, 400);
  EXPECT_EQ(create("users", {{"id", 5}}).code, 400);
  EXPECT_EQ(create("users", {{"ttl_secs", 0}}).code, 400);
  EXPECT_EQ(create("users", {{"ttl_secs", -3}}).code, 400);
  EXPECT_EQ(create("users", {{"ttl_secs", "10"}}).code, 400);
  EXPECT_EQ(create("users", {{"ttl_secs", 1.5}}).code, 400);
  EXPECT_EQ(create("_admin", {{"a", 1}}).code, 400);
  EXPECT_EQ(run(make(Operation::kCreate, "users", "", Json::array())).code, 400);
  EXPECT_EQ(query("SELECT count(*) FROM db_records"), 0);
  EXPECT_EQ(query("SELECT count(*) FROM db_changes"), 0);
}

TEST_F(DbDocumentStoreTest, UpdateMergesTopLevelFieldsAndBumpsVersion) {
  ASSERT_EQ(create("users", {{"id", "u1"}, {"name", "a"}, {"age", 1}, {"tags", {1, 2}}}).code, 200);
  Answer updated = update("users", "u1", {{"age", 2}, {"name", nullptr}, {"city", "x"}});
  ASSERT_EQ(updated.code, 200) << updated.message;
  EXPECT_EQ(updated.data["_version"], 2);
  EXPECT_EQ(updated.data["age"], 2);
  EXPECT_TRUE(updated.data["name"].is_null()) << "null sets null";
  EXPECT_TRUE(updated.data.contains("name")) << "updates do not remove fields";
  EXPECT_EQ(updated.data["tags"], Json({1, 2}));
  EXPECT_EQ(updated.data["city"], "x");
  EXPECT_EQ(updated.data["id"], "u1");
  EXPECT_EQ(query("SELECT version FROM db_records WHERE id='u1'"), 2);
  ASSERT_TRUE(wait_events(2));
  EXPECT_EQ(sink_.events[1].operation, "Update");
  EXPECT_EQ(Json::parse(sink_.events[1].data_json), updated.data);
  EXPECT_EQ(update("users", "u1", {{"id", "u1"}, {"age", 3}}).data["_version"], 3)
      << "an equal id is accepted";
}

TEST_F(DbDocumentStoreTest, UpdateWithVersionIsConditional) {
  ASSERT_EQ(create("users", {{"id", "u1"}, {"n", 0}}).code, 200);
  Answer stale = update("users", "u1", {{"_version", 5}, {"n", 1}});
  EXPECT_EQ(stale.code, 409);
  EXPECT_NE(stale.message.find("current version is 1"), std::string::npos) << stale.message;
  EXPECT_EQ(stale.data, Json({{"current_version", 1}}));
  Answer ok = update("users", "u1", {{"_version", 1}, {"n", 1}});
  ASSERT_EQ(ok.code, 200);
  EXPECT_EQ(ok.data["_version"], 2);
  EXPECT_EQ(update("users", "u1", {{"_version", 1}, {"n", 9}}).code, 409);
  EXPECT_EQ(read("users", "u1").data["n"], 1);
  EXPECT_EQ(query("SELECT count(*) FROM db_changes"), 2) << "refused updates log nothing";
}

TEST_F(DbDocumentStoreTest, UpdateRefusesBadInput) {
  ASSERT_EQ(create("users", {{"id", "u1"}}).code, 200);
  EXPECT_EQ(update("users", "u1", {{"id", "u2"}}).code, 400);
  EXPECT_EQ(update("users", "u1", {{"_expires_at", 1}}).code, 400);
  EXPECT_EQ(update("users", "u1", {{"_version", "1"}}).code, 400);
  EXPECT_EQ(update("users", "missing", {{"a", 1}}).code, 404);
  EXPECT_EQ(update("users", "a+b", {{"a", 1}}).code, 400);
  EXPECT_EQ(query("SELECT version FROM db_records WHERE id='u1'"), 1);
}

TEST_F(DbDocumentStoreTest, DeleteAnswersAndEmitsTheLastState) {
  ASSERT_EQ(create("users", {{"id", "u1"}, {"n", 1}}).code, 200);
  ASSERT_EQ(update("users", "u1", {{"n", 2}}).code, 200);
  Answer deleted = remove("users", "u1");
  ASSERT_EQ(deleted.code, 200);
  EXPECT_EQ(deleted.data, Json({{"id", "u1"}, {"deleted", true}}));
  EXPECT_EQ(remove("users", "u1").code, 404);
  EXPECT_EQ(read("users", "u1").code, 404);
  EXPECT_EQ(update("users", "u1", {{"n", 3}}).code, 404);
  ASSERT_TRUE(wait_events(3));
  EXPECT_EQ(sink_.events[2].operation, "Delete");
  Json last = Json::parse(sink_.events[2].data_json);
  EXPECT_EQ(last["n"], 2);
  EXPECT_EQ(last["_version"], 2);
  EXPECT_EQ(query("SELECT count(*) FROM db_records"), 0);
  ASSERT_EQ(create("users", {{"id", "u1"}}).code, 200) << "the id is free again";
}

TEST_F(DbDocumentStoreTest, EventsLeaveInSequenceOrderAndTheOutboxSurvivesRestart) {
  constexpr int kWrites = 50;
  int answered = 0;
  for (int i = 0; i < kWrites; ++i) {
    docs_->execute(make(Operation::kCreate, "users", "", {{"i", i}}), [&](Answer a) {
      EXPECT_EQ(a.code, 200);
      ++answered;
    });
  }
  EXPECT_EQ(docs_->in_flight(), static_cast<size_t>(kWrites));
  ASSERT_TRUE(run_loop_until([&] { return answered == kWrites; }));
  ASSERT_TRUE(wait_events(kWrites));
  for (int i = 0; i < kWrites; ++i) {
    EXPECT_EQ(sink_.events[i].sequence, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(Json::parse(sink_.events[i].data_json)["i"], i);
  }
  EXPECT_EQ(docs_->in_flight(), 0u);
  close_store();
  EXPECT_EQ(query("SELECT value FROM db_state WHERE key='routed_seq'"), kWrites)
      << "the routed cursor is persisted";

  // A crash after commit but before routing: the cursor lags behind the log.
  ASSERT_TRUE(exec("UPDATE db_state SET value=45 WHERE key='routed_seq'"));
  sink_.events.clear();
  open_store();
  ASSERT_TRUE(wait_events(5));
  ASSERT_EQ(sink_.events.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sink_.events[i].sequence, 46u + i);
  ASSERT_EQ(create("users", {{"after", true}}).code, 200);
  ASSERT_TRUE(wait_events(6));
  EXPECT_EQ(sink_.events[5].sequence, 51u) << "the sequence keeps rising after a restart";

  // Even when the newest rows were pruned, AUTOINCREMENT never hands a number out again.
  close_store();
  ASSERT_TRUE(exec("DELETE FROM db_changes"));
  sink_.events.clear();
  open_store();
  ASSERT_EQ(create("users", {{"x", 1}}).code, 200);
  ASSERT_TRUE(wait_events(1));
  EXPECT_EQ(sink_.events[0].sequence, 52u);
}

TEST_F(DbDocumentStoreTest, ChangeLogRowsMatchEvents) {
  ASSERT_EQ(create("users", {{"id", "u1"}}, "alice").code, 200);
  ASSERT_EQ(update("users", "u1", {{"a", 1}}).code, 200);
  ASSERT_EQ(remove("users", "u1").code, 200);
  EXPECT_EQ(query("SELECT count(*) FROM db_changes WHERE seq=1 AND op='Create' AND "
                  "client_id='alice' AND id='u1' AND entity='users'"),
            1);
  EXPECT_EQ(query("SELECT count(*) FROM db_changes WHERE seq=2 AND op='Update'"), 1);
  EXPECT_EQ(query("SELECT count(*) FROM db_changes WHERE seq=3 AND op='Delete' AND "
                  "json_extract(data,'$.a')=1"),
            1);
  EXPECT_EQ(query("SELECT partition FROM db_changes WHERE seq=1"), partition_of("users", "u1"));
}

TEST_F(DbDocumentStoreTest, TtlExpiresRecordWithDeleteEvent) {
  Answer created = create("sessions", {{"id", "s1"}, {"ttl_secs", 2}});
  ASSERT_EQ(created.code, 200);
  EXPECT_FALSE(created.data.contains("ttl_secs")) << "ttl_secs is not stored as a field";
  EXPECT_EQ(created.data["_expires_at"], clock_.wall_ms() + 2000);
  ASSERT_EQ(create("sessions", {{"id", "keep"}}).code, 200);
  EXPECT_EQ(query("SELECT expires_at_ms FROM db_records WHERE id='s1'"), clock_.wall_ms() + 2000);
  ASSERT_TRUE(wait_events(2));
  clock_.advance_ms(1000);
  EXPECT_EQ(read("sessions", "s1").code, 200);
  clock_.advance_ms(1000);  // the deadline; the sweep runs every 250 ms
  EXPECT_EQ(read("sessions", "s1").code, 404) << "reads never see an expired record";
  ASSERT_TRUE(wait_events(3));
  EXPECT_EQ(sink_.events[2].operation, "Delete");
  EXPECT_EQ(sink_.events[2].id, "s1");
  EXPECT_EQ(sink_.events[2].client_id, "");
  EXPECT_EQ(query("SELECT count(*) FROM db_records WHERE id='s1'"), 0);
  EXPECT_EQ(query("SELECT count(*) FROM db_records WHERE id='keep'"), 1);
  EXPECT_EQ(create("sessions", {{"id", "s1"}}).code, 200);
}

TEST_F(DbDocumentStoreTest, ExpiredRecordIsMissingBeforeTheSweep) {
  reopen({.ttl_sweep_interval_ms = 1'000'000});
  ASSERT_EQ(create("sessions", {{"id", "s1"}, {"ttl_secs", 1}, {"v", 1}}).code, 200);
  clock_.advance_ms(1000);
  EXPECT_EQ(update("sessions", "s1", {{"v", 2}}).code, 404);
  EXPECT_EQ(remove("sessions", "s1").code, 404);
  Answer again = create("sessions", {{"id", "s1"}, {"v", 3}});
  ASSERT_EQ(again.code, 200) << "an expired record does not hold its id";
  ASSERT_TRUE(wait_events(3));
  EXPECT_EQ(sink_.events[1].operation, "Delete");
  EXPECT_EQ(sink_.events[1].client_id, "");
  EXPECT_EQ(sink_.events[2].operation, "Create");
}

TEST_F(DbDocumentStoreTest, SqlErrorIsUnavailableAndChangesNothing) {
  ASSERT_EQ(create("users", {{"id", "u1"}}).code, 200);
  store_->flush();
  ASSERT_TRUE(exec("DROP TABLE db_changes"));
  Answer failed = create("users", {{"id", "u2"}});
  EXPECT_EQ(failed.code, 503);
  EXPECT_EQ(query("SELECT count(*) FROM db_records"), 1) << "the record rolled back with its log";
  EXPECT_TRUE(store_->health().is_ok()) << "one failed submission does not stop the store";
}

TEST_F(DbDocumentStoreTest, WritesBeforeStartLeaveOnceAtStart) {
  close_store();
  auto store = storage::StoreThread::open(
      &loop_, path_, {db_schema()},
      {.durability = storage::Durability::kNone, .durability_interval_ms = 1});
  ASSERT_TRUE(store.is_ok());
  store_ = std::move(store).value();
  docs_ = std::move(DocumentStore::open(&loop_, &clock_, store_.get()).value());
  ASSERT_EQ(create("users", {{"id", "early"}}).code, 200);
  EXPECT_TRUE(sink_.events.empty()) << "no sink yet";
  ASSERT_TRUE(docs_->start(&sink_).is_ok());
  ASSERT_TRUE(wait_events(1));
  ASSERT_EQ(create("users", {{"id", "late"}}).code, 200);
  ASSERT_TRUE(wait_events(2));
  ASSERT_EQ(sink_.events.size(), 2u) << "the early event left once, not twice";
  EXPECT_EQ(sink_.events[0].id, "early");
  EXPECT_EQ(sink_.events[1].sequence, 2u);
}

TEST_F(DbDocumentStoreTest, ClosedStoreAnswersUnavailable) {
  ASSERT_TRUE(docs_->close().is_ok());
  EXPECT_EQ(create("users", {{"a", 1}}).code, 503);
  EXPECT_EQ(read("users", "x").code, 503);
}

TEST_F(DbDocumentStoreTest, EventsWaitUntilTheChangeIsDurable) {
  // periodic: a commit is answered at once, its sync comes within the interval (here long).
  close_store();
  auto store = storage::StoreThread::open(
      &loop_, path_, {db_schema()},
      {.durability = storage::Durability::kPeriodic, .durability_interval_ms = 60'000});
  ASSERT_TRUE(store.is_ok());
  store_ = std::move(store).value();
  docs_ = std::move(DocumentStore::open(&loop_, &clock_, store_.get()).value());
  ASSERT_TRUE(docs_->start(&sink_).is_ok());
  store_->flush();  // the outbox load, synced: the next sync is an interval away

  ASSERT_EQ(create("users", {{"id", "u1"}}).code, 200) << "answered once committed";
  uint64_t until = uv_now(&loop_) + 100;
  run_loop_until([&] { return uv_now(&loop_) >= until; });
  EXPECT_LT(store_->durable_ticket(), store_->committed_ticket());
  EXPECT_TRUE(sink_.events.empty()) << "no event before its change is durable";
  EXPECT_EQ(replay({{"entity", "users"}}).data, Json::array()) << "nor in replay";

  store_->flush();  // syncs now
  ASSERT_EQ(sink_.events.size(), 1u);
  EXPECT_EQ(sink_.events[0].id, "u1");
  EXPECT_EQ(replay({{"entity", "users"}}).data.size(), 1u);
}

TEST_F(DbDocumentStoreTest, RoutedCursorIsPersistedOncePerSweepInterval) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(create("users", {{"i", i}}).code, 200);
  ASSERT_TRUE(wait_events(3));
  store_->flush();
  EXPECT_EQ(query("SELECT count(*) FROM db_state WHERE key='routed_seq'"), 0)
      << "not a write of its own after every group";
  clock_.advance_ms(250);
  ASSERT_TRUE(run_loop_until(
      [&] { return query("SELECT value FROM db_state WHERE key='routed_seq'") == 3; }));
}

TEST_F(DbDocumentStoreTest, OutboxDrainsInBatchesInOrder) {
  for (int i = 0; i < 10; ++i) ASSERT_EQ(create("users", {{"i", i}}).code, 200);
  ASSERT_TRUE(wait_events(10));
  close_store();
  ASSERT_TRUE(exec("UPDATE db_state SET value=3 WHERE key='routed_seq'"));
  sink_.events.clear();
  open_store({.outbox_batch = 2});
  ASSERT_EQ(create("users", {{"i", 10}}).code, 200);
  ASSERT_TRUE(wait_events(8));
  ASSERT_EQ(sink_.events.size(), 8u);
  for (size_t i = 0; i < sink_.events.size(); ++i) {
    EXPECT_EQ(sink_.events[i].sequence, 4u + i) << "old events first, then the new one";
  }
}

}  // namespace
}  // namespace topicdb::db
