// Every row of the $DB API table end to end over MQTT 5 (Paho C++): create, read, update,
// delete, list, schema set/get, index add/list, replay (and its retention window); optimistic
// concurrency; a request without a Response Topic still runs.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/integration/db_client.h"

namespace topicdb::itest::db {
namespace {

class DbApiTest : public DbTest {};

// Events of a replay answer: its data is the list, or holds it under "events".
Json replay_events(const Json& envelope) {
  const Json& data = envelope["data"];
  if (data.is_array()) return data;
  if (data.is_object() && data.contains("events")) return data["events"];
  ADD_FAILURE() << "no events in " << envelope.dump();
  return Json::array();
}

TEST_F(DbApiTest, CreateReadUpdateDeleteList) {
  DbClient c(port(), "api");
  ASSERT_TRUE(c.connect());

  Json created = c.request("$DB/users/create", R"({"name":"Ada","age":36})");
  ASSERT_TRUE(is_ok(created));
  const std::string id = created["data"]["id"];
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(created["data"]["_version"], 1);
  EXPECT_EQ(created["data"]["name"], "Ada");

  Json read = c.request("$DB/users/" + id, "{}");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["data"]["id"], id);
  EXPECT_EQ(read["data"]["age"], 36);

  Json projected = c.request("$DB/users/" + id, R"({"projection":["name"]})");
  ASSERT_TRUE(is_ok(projected));
  EXPECT_EQ(projected["data"]["id"], id) << "a projection keeps the id";
  EXPECT_EQ(projected["data"]["name"], "Ada");
  EXPECT_FALSE(projected["data"].contains("age"));

  Json updated = c.request("$DB/users/" + id + "/update", R"({"age":37,"city":"London"})");
  ASSERT_TRUE(is_ok(updated));
  EXPECT_EQ(updated["data"]["_version"], 2);
  EXPECT_EQ(updated["data"]["age"], 37);
  EXPECT_EQ(updated["data"]["name"], "Ada") << "updates merge top-level fields";
  EXPECT_EQ(updated["data"]["city"], "London");

  ASSERT_TRUE(is_ok(c.request("$DB/users/create", R"({"id":"bob","name":"Bob","age":20})")));
  Json list = c.request("$DB/users/list",
                        R"({"filters":[{"field":"age","op":"gt","value":30}],
                            "sort":[{"field":"name","direction":"asc"}]})");
  ASSERT_TRUE(is_ok(list));
  ASSERT_TRUE(list["data"].is_array()) << list.dump();
  ASSERT_EQ(list["data"].size(), 1u) << list.dump();
  EXPECT_EQ(list["data"][0]["id"], id);

  Json deleted = c.request("$DB/users/" + id + "/delete", "{}");
  ASSERT_TRUE(is_ok(deleted));
  EXPECT_EQ(deleted["data"]["id"], id);
  EXPECT_EQ(deleted["data"]["deleted"], true);
  EXPECT_TRUE(is_error(c.request("$DB/users/" + id, "{}"), 404));
  EXPECT_TRUE(is_error(c.request("$DB/users/" + id + "/update", R"({"a":1})"), 404));
}

TEST_F(DbApiTest, ClientChosenIdThatExistsIs409) {
  DbClient c(port(), "dup-id");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/things/create", R"({"id":"t1","v":1})")));
  EXPECT_TRUE(is_error(c.request("$DB/things/create", R"({"id":"t1","v":2})"), 409));
  Json read = c.request("$DB/things/t1", "{}");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["data"]["v"], 1) << "no silent overwrite";
}

TEST_F(DbApiTest, VersionConflictNamesTheCurrentVersion) {
  DbClient c(port(), "occ");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/docs/create", R"({"id":"d1","n":0})")));
  ASSERT_TRUE(is_ok(c.request("$DB/docs/d1/update", R"({"n":1,"_version":1})")));
  Json stale = c.request("$DB/docs/d1/update", R"({"n":2,"_version":1})");
  ASSERT_TRUE(is_error(stale, 409));
  EXPECT_NE(stale["message"].get<std::string>().find('2'), std::string::npos) << stale.dump();
  EXPECT_EQ(stale["data"]["current_version"], 2) << stale.dump();
  Json read = c.request("$DB/docs/d1", "{}");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["data"]["n"], 1);
  EXPECT_EQ(read["data"]["_version"], 2);
}

TEST_F(DbApiTest, SchemaSetAndGet) {
  DbClient c(port(), "schema");
  ASSERT_TRUE(c.connect());
  const Json schema = Json::parse(
      R"({"title":{"type":"string","required":true},"views":{"type":"integer","default":0}})");
  ASSERT_TRUE(is_ok(c.request_json("$DB/_admin/schema/posts/set", schema)));
  Json got = c.request("$DB/_admin/schema/posts/get", "{}");
  ASSERT_TRUE(is_ok(got));
  EXPECT_NE(got["data"].dump().find("title"), std::string::npos) << got.dump();
  EXPECT_NE(got["data"].dump().find("views"), std::string::npos) << got.dump();
  // The schema applies: a missing required field is a 400 naming it, a default fills in.
  Json bad = c.request("$DB/posts/create", R"({"views":3})");
  ASSERT_TRUE(is_error(bad, 400));
  EXPECT_NE(bad["message"].get<std::string>().find("title"), std::string::npos) << bad.dump();
  Json created = c.request("$DB/posts/create", R"({"title":"hello"})");
  ASSERT_TRUE(is_ok(created));
  EXPECT_EQ(created["data"]["views"], 0);
}

TEST_F(DbApiTest, IndexAddAndList) {
  DbClient c(port(), "index");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/index/readings/add", R"({"fields":["site","ts"]})")));
  Json list = c.request("$DB/_admin/index/readings/list", "{}");
  ASSERT_TRUE(is_ok(list));
  const std::string text = list["data"].dump();
  EXPECT_NE(text.find("site"), std::string::npos) << text;
  EXPECT_NE(text.find("ts"), std::string::npos) << text;
  // Lists on the indexed fields still answer correctly.
  ASSERT_TRUE(is_ok(c.request("$DB/readings/create", R"({"site":"a","ts":1})")));
  ASSERT_TRUE(is_ok(c.request("$DB/readings/create", R"({"site":"b","ts":2})")));
  Json found =
      c.request("$DB/readings/list", R"({"filters":[{"field":"site","op":"eq","value":"b"}]})");
  ASSERT_TRUE(is_ok(found));
  ASSERT_EQ(found["data"].size(), 1u);
  EXPECT_EQ(found["data"][0]["ts"], 2);
}

TEST_F(DbApiTest, ReplayReturnsTheEventsAfterASequence) {
  DbClient c(port(), "replay");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/logs/create", R"({"id":"l1"})")));
  ASSERT_TRUE(is_ok(c.request("$DB/logs/l1/update", R"({"x":1})")));
  ASSERT_TRUE(is_ok(c.request("$DB/logs/l1/delete", "{}")));
  Json all = c.request("$DB/_events/replay", R"({"entity":"logs","since":0,"limit":1000})");
  ASSERT_TRUE(is_ok(all));
  Json events = replay_events(all);
  ASSERT_EQ(events.size(), 3u) << all.dump();
  EXPECT_EQ(events[0]["operation"], "Create");
  EXPECT_EQ(events[1]["operation"], "Update");
  EXPECT_EQ(events[2]["operation"], "Delete");
  EXPECT_LT(events[0]["sequence"], events[1]["sequence"]);
  EXPECT_LT(events[1]["sequence"], events[2]["sequence"]);
  const uint64_t first = events[0]["sequence"];
  Json tail = c.request("$DB/_events/replay",
                        Json{{"entity", "logs"}, {"since", first}, {"limit", 1000}}.dump());
  ASSERT_TRUE(is_ok(tail));
  EXPECT_EQ(replay_events(tail).size(), 2u) << tail.dump();
}

// The change log keeps the newest 5 events: a replay from inside that window gets them, one
// from before it a 410 (the client must re-read instead).
class DbReplayWindowTest : public DbTest {
 protected:
  std::vector<std::string> db_flags() const override { return {"--db-event-retention-count", "5"}; }
};

TEST_F(DbReplayWindowTest, ReplayBeforeTheWindowIs410AndInsideItReturnsTheRest) {
  DbClient c(port(), "replay-window");
  ASSERT_TRUE(c.connect());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(is_ok(c.request("$DB/logs/create", Json{{"i", i}}.dump())));
  }
  // Pruning runs on the store's sweep (every 250 ms), which may have run before the last
  // creates: wait until the window is the newest 5 (events 6 to 10), bounded.
  Json gone;
  for (int attempt = 0; attempt < 100; ++attempt) {
    gone = c.request("$DB/_events/replay", R"({"entity":"logs","since":4})");
    if (is_error(gone, 410)) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(is_error(gone, 410));
  EXPECT_TRUE(is_error(c.request("$DB/_events/replay", R"({"entity":"logs","since":0})"), 410));
  Json inside = c.request("$DB/_events/replay", R"({"entity":"logs","since":5})");
  ASSERT_TRUE(is_ok(inside));
  Json events = replay_events(inside);
  ASSERT_EQ(events.size(), 5u) << inside.dump();
  EXPECT_EQ(events[0]["sequence"], 6);
  EXPECT_EQ(events[4]["data"]["i"], 9);
}

TEST_F(DbApiTest, WithoutResponseTopicTheRequestRunsAndNoAnswerComes) {
  DbClient c(port(), "quiet");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(c.paho().subscribe("$DB/#", 1));
  ASSERT_TRUE(
      c.paho().publish(::mqtt::make_message("$DB/notes/create", R"({"id":"n1"})", 1, false)));
  // The PUBACK came (publish() waited for it); the record exists; the only message is the
  // create's event (no answer anywhere).
  Json read = c.request("$DB/notes/n1", "{}");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["data"]["id"], "n1");
  for (const auto& m : c.others()) {
    EXPECT_NE(m->get_topic().rfind("$DB/notes/events/", 0), std::string::npos)
        << "unexpected message on " << m->get_topic() << ": " << m->get_payload_str();
  }
}

}  // namespace
}  // namespace topicdb::itest::db
