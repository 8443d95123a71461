// Every kind of bad $DB input of the issue gets an error answer with a code and a message,
// changes nothing, and leaves the broker running; clients cannot publish events or subscribe
// to request topics.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/db_client.h"
#include "tests/integration/v5_client.h"

namespace topicdb::itest::db {
namespace {

class DbBadInputTest : public DbTest {
 protected:
  std::vector<std::string> db_flags() const override { return {"--db-max-payload", "4096"}; }
};

size_t count_records(DbClient& c, const std::string& entity) {
  Json list = c.request("$DB/" + entity + "/list", "{}");
  EXPECT_TRUE(is_ok(list));
  return list["data"].is_array() ? list["data"].size() : 0;
}

TEST_F(DbBadInputTest, EachBadRequestGetsAnErrorAnswerAndChangesNothing) {
  DbClient c(port(), "bad");
  ASSERT_TRUE(c.connect());
  ASSERT_TRUE(is_ok(c.request("$DB/_admin/schema/typed/set", R"({"n":{"type":"integer"}})")));
  ASSERT_TRUE(is_ok(c.request("$DB/typed/create", R"({"id":"t1","n":1})")));
  ASSERT_TRUE(is_ok(c.request("$DB/users/create", R"({"id":"u1","name":"a"})")));
  struct Case {
    std::string topic;
    std::string payload;
    int code;
    const char* what;
  } cases[] = {
      {"$DB/users/create", "{\"name\":", 400, "invalid JSON"},
      {"$DB/users/create", "not json at all", 400, "invalid JSON"},
      {"$DB/users/create", "[1,2,3]", 400, "non-object record"},
      {"$DB/users/create", "\"text\"", 400, "non-object record"},
      {"$DB/users/u1/update", "[]", 400, "non-object update"},
      {"$DB/typed/create", R"({"n":"seven"})", 400, "wrong type"},
      {"$DB/typed/t1/update", R"({"n":1.5})", 400, "wrong type on update"},
      {"$DB/users/u1/frobnicate", "{}", 400, "unknown operation"},
      {"$DB/users", "{}", 400, "no operation"},
      {"$DB/_admin/schema/users/drop", "{}", 400, "unknown admin operation"},
      {"$DB/users/list", R"({"bogus":1})", 400, "unknown list option"},
      {"$DB/users/list", R"({"filters":[{"field":"a","op":"approx","value":1}]})", 400,
       "unknown operator"},
      {"$DB/users/list", R"({"limit":"ten"})", 400, "wrongly typed option"},
      {"$DB/users/u1", R"({"projection":"name"})", 400, "wrongly typed read option"},
      {"$DB/users/create", R"({"_secret":1})", 400, "server field on create"},
      {"$DB/users/create", "{\"s\":\"" + std::string(5000, 'x') + "\"}", 413, "over the limit"},
      {"$DB/us.ers/create", "{}", 400, "entity with '.'"},
      {"$DB/_private/create", "{}", 400, "entity starting with '_'"},
      {"$DB/" + std::string(129, 'e') + "/create", "{}", 400, "entity over 128"},
      {"$DB/users/a/b", "{}", 400, "id with '/'"},
      {"$DB/users/create", R"({"id":"a/b"})", 400, "created id with '/'"},
      {"$DB/users/create", R"({"id":"a+b"})", 400, "created id with '+'"},
      {"$DB/users/create", R"({"id":"a#b"})", 400, "created id with '#'"},
      {"$DB/users/" + std::string(513, 'i'), "{}", 400, "id over 512"},
      {"$DB/users/create", R"({"id":")" + std::string(513, 'i') + "\"}", 400,
       "created id over 512"},
      {"$DB/users/create", R"({"id":"list"})", 400, "reserved id"},
  };
  for (const Case& k : cases) {
    Json answer = c.request(k.topic, k.payload);
    EXPECT_TRUE(is_error(answer, k.code)) << k.what << " (" << k.topic.substr(0, 60) << ")";
  }
  // Nothing changed.
  EXPECT_EQ(count_records(c, "users"), 1u);
  EXPECT_EQ(count_records(c, "typed"), 1u);
  Json t1 = c.request("$DB/typed/t1", "{}");
  ASSERT_TRUE(is_ok(t1));
  EXPECT_EQ(t1["data"]["n"], 1);
  EXPECT_EQ(t1["data"]["_version"], 1);
  EXPECT_TRUE(broker_.running());
}

TEST_F(DbBadInputTest, PublishingToEventTopicsIsNotAuthorized) {
  v5::V5Client raw(port());
  ASSERT_TRUE(raw.connect("forger"));
  v5::V5Client watcher(port());
  ASSERT_TRUE(watcher.connect("watcher"));
  ASSERT_TRUE(watcher.subscribe("$DB/users/events/#", 1));
  uint8_t reason = 0;
  ASSERT_TRUE(
      raw.publish("$DB/users/events/u1", R"({"operation":"Delete"})", 1, {}, false, &reason));
  EXPECT_EQ(reason, v5::m::reason::kNotAuthorized);
  ASSERT_TRUE(raw.publish("$DB/_reply/users/create", "{}", 1, {}, false, &reason));
  EXPECT_EQ(reason, v5::m::reason::kNotAuthorized);
  EXPECT_TRUE(watcher.expect_no_publish(milliseconds(300)));
}

TEST_F(DbBadInputTest, RequestTopicsCannotBeSubscribed) {
  v5::V5Client c(port());
  ASSERT_TRUE(c.connect("subs"));
  std::vector<uint8_t> codes;
  ASSERT_TRUE(
      c.subscribe({v5::sub("$DB/users/create", 1), v5::sub("$DB/users/+", 1),
                   v5::sub("$DB/+/events/#", 1), v5::sub("$DB/_reply/#", 1), v5::sub("$DB/#", 1)},
                  0, {}, &codes));
  std::vector<uint8_t> expected = {v5::m::reason::kNotAuthorized, v5::m::reason::kNotAuthorized, 1,
                                   1, 1};
  EXPECT_EQ(codes, expected);
}

TEST_F(DbBadInputTest, AMalformedRequestDoesNotStopOthers) {
  DbClient c(port(), "mixed");
  ASSERT_TRUE(c.connect());
  for (int i = 1; i <= 20; ++i) {
    EXPECT_TRUE(is_error(c.request("$DB/x/create", std::string(i, '{')), 400));
  }
  EXPECT_TRUE(is_ok(c.request("$DB/x/create", R"({"ok":true})")));
  EXPECT_TRUE(broker_.running());
}

}  // namespace
}  // namespace topicdb::itest::db
