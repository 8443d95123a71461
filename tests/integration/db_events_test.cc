// Change feeds and persistence across restarts: every committed change publishes one event on
// $DB/{entity}/events/{id} in commit order; the sequence keeps rising after a restart;
// records survive it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/db_client.h"

namespace topicdb::itest::db {
namespace {

class DbEventsTest : public DbTest {};

// Collects n events from a Paho v5 watcher.
std::vector<Json> collect_events(v5::PahoV5& watcher, size_t n) {
  std::vector<Json> events;
  while (events.size() < n) {
    auto msg = watcher.receive(milliseconds(5000));
    if (!msg) {
      ADD_FAILURE() << "got " << events.size() << " of " << n << " events";
      break;
    }
    Json e = parse_envelope(msg->get_payload_str());
    e["_topic"] = msg->get_topic();
    e["_qos"] = msg->get_qos();
    events.push_back(std::move(e));
  }
  return events;
}

TEST_F(DbEventsTest, EventsArriveInCommitOrderWithRisingSequence) {
  v5::PahoV5 watcher(port(), "watcher");
  ASSERT_TRUE(watcher.connect());
  ASSERT_TRUE(watcher.subscribe("$DB/users/events/#", 1));
  DbClient c(port(), "writer");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/users/create", R"({"id":"u1","n":1})")));
  ASSERT_TRUE(is_ok(c.request("$DB/users/create", R"({"id":"u2","n":2})")));
  ASSERT_TRUE(is_ok(c.request("$DB/users/u1/update", R"({"n":10})")));
  ASSERT_TRUE(is_ok(c.request("$DB/users/u2/delete", "{}")));
  std::vector<Json> events = collect_events(watcher, 4);
  ASSERT_EQ(events.size(), 4u);
  const char* ops[] = {"Create", "Create", "Update", "Delete"};
  const char* ids[] = {"u1", "u2", "u1", "u2"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(events[i]["operation"], ops[i]) << events[i].dump();
    EXPECT_EQ(events[i]["id"], ids[i]);
    EXPECT_EQ(events[i]["entity"], "users");
    EXPECT_EQ(events[i]["client_id"], "writer");
    EXPECT_EQ(events[i]["_topic"], std::string("$DB/users/events/") + ids[i]);
    EXPECT_EQ(events[i]["_qos"], 1);
    if (i > 0) {
      EXPECT_GT(events[i]["sequence"], events[i - 1]["sequence"]);
    }
  }
  EXPECT_EQ(events[2]["data"]["n"], 10);
  EXPECT_EQ(events[3]["data"]["id"], "u2") << "a delete carries the last state";
  EXPECT_TRUE(watcher.receive(milliseconds(300)) == nullptr) << "one event per change";
}

TEST_F(DbEventsTest, OrdinarySubscribersNeverSeeDbTraffic) {
  v5::PahoV5 everything(port(), "hash");
  ASSERT_TRUE(everything.connect());
  ASSERT_TRUE(everything.subscribe("#", 1));
  DbClient c(port(), "writer");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/users/create", R"({"id":"u1"})")));
  // '#' matches no topic starting with '$' (MQTT-4.7.2-1): not the request, not the event.
  // The answer went to "dbreply/writer", which '#' does match.
  auto msg = everything.receive(milliseconds(500));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get_topic(), "dbreply/writer");
  EXPECT_TRUE(everything.receive(milliseconds(300)) == nullptr);
}

TEST_F(DbEventsTest, SequenceRisesAcrossARestartAndRecordsPersist) {
  uint64_t last_before = 0;
  {
    v5::PahoV5 watcher(port(), "w1");
    ASSERT_TRUE(watcher.connect());
    ASSERT_TRUE(watcher.subscribe("$DB/+/events/#", 1));
    DbClient c(port(), "writer");
    ASSERT_TRUE(c.connect());
    ASSERT_TRUE(is_ok(c.request("$DB/_admin/schema/items/set", R"({"n":{"type":"integer"}})")));
    ASSERT_TRUE(is_ok(c.request("$DB/_admin/index/items/add", R"({"fields":["n"]})")));
    ASSERT_TRUE(is_ok(c.request("$DB/items/create", R"({"id":"i1","n":1})")));
    ASSERT_TRUE(is_ok(c.request("$DB/items/i1/update", R"({"n":2})")));
    std::vector<Json> events = collect_events(watcher, 2);
    ASSERT_EQ(events.size(), 2u);
    last_before = events[1]["sequence"];
  }
  ASSERT_TRUE(broker_.restart());

  v5::PahoV5 watcher(port(), "w2");
  ASSERT_TRUE(watcher.connect());
  ASSERT_TRUE(watcher.subscribe("$DB/+/events/#", 1));
  DbClient c(port(), "writer");
  ASSERT_TRUE(c.connect());
  Json read = c.request("$DB/items/i1", "{}");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["data"]["n"], 2);
  EXPECT_EQ(read["data"]["_version"], 2);
  Json schema = c.request("$DB/_admin/schema/items/get", "{}");
  ASSERT_TRUE(is_ok(schema));
  EXPECT_NE(schema["data"].dump().find("integer"), std::string::npos) << schema.dump();
  EXPECT_TRUE(is_error(c.request("$DB/items/create", R"({"n":"not a number"})"), 400));
  Json indexes = c.request("$DB/_admin/index/items/list", "{}");
  ASSERT_TRUE(is_ok(indexes));
  EXPECT_NE(indexes["data"].dump().find('n'), std::string::npos);

  ASSERT_TRUE(is_ok(c.request("$DB/items/create", R"({"id":"i2","n":3})")));
  std::vector<Json> events = collect_events(watcher, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["id"], "i2");
  EXPECT_GT(events[0]["sequence"].get<uint64_t>(), last_before);
  Json replay = c.request("$DB/_events/replay", R"({"entity":"items","since":0})");
  ASSERT_TRUE(is_ok(replay));
  EXPECT_NE(replay["data"].dump().find("i2"), std::string::npos) << "the change log survived";
}

TEST_F(DbEventsTest, PersistentQos1WatcherMissesNothingWhileOfflineAndAcrossARestart) {
  {
    v5::PahoV5 watcher(port(), "persistent-watcher");
    v5::PahoV5Options options;
    options.clean_start = true;
    options.session_expiry = 3600;
    ASSERT_TRUE(watcher.connect(options));
    ASSERT_TRUE(watcher.subscribe("$DB/devices/events/#", 1));
    ASSERT_TRUE(watcher.disconnect());
  }
  DbClient c(port(), "writer");
  ASSERT_TRUE(c.connect());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        is_ok(c.request("$DB/devices/create", Json{{"id", "d" + std::to_string(i)}}.dump())));
  }
  ASSERT_TRUE(broker_.restart());

  v5::PahoV5 watcher(port(), "persistent-watcher");
  v5::PahoV5Options options;
  options.clean_start = false;
  options.session_expiry = 3600;
  ASSERT_TRUE(watcher.connect(options));
  std::vector<Json> events = collect_events(watcher, 5);
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(events[i]["id"], "d" + std::to_string(i));
    if (i > 0) {
      EXPECT_GT(events[i]["sequence"], events[i - 1]["sequence"]);
    }
  }
}

TEST_F(DbEventsTest, TtlExpiryDeletesTheRecordAndEmitsADeleteEvent) {
  v5::PahoV5 watcher(port(), "ttl-watcher");
  ASSERT_TRUE(watcher.connect());
  ASSERT_TRUE(watcher.subscribe("$DB/sessions/events/#", 1));
  DbClient c(port(), "writer");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/sessions/create", R"({"id":"s1","ttl_secs":1})")));
  std::vector<Json> events = collect_events(watcher, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["operation"], "Create");
  EXPECT_EQ(events[1]["operation"], "Delete");
  EXPECT_EQ(events[1]["id"], "s1");
  EXPECT_TRUE(is_error(c.request("$DB/sessions/s1", "{}"), 404));
}

}  // namespace
}  // namespace topicdb::itest::db
