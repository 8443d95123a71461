#include "db/reads.h"

#include <gtest/gtest.h>

#include "tests/db/query_test_util.h"

namespace topicdb::db {
namespace {

class ReadTest : public testing::QueryTest {};

TEST_F(ReadTest, ReturnsTheWholeRecord) {
  put("users", "u1", {{"name", "ann"}, {"address", {{"city", "Oslo"}}}});
  Answer answer = read("users", "u1");
  ASSERT_EQ(answer.code, 200) << answer.message;
  EXPECT_EQ(answer.data, Json::parse(R"({"id":"u1","_version":1,"name":"ann",
                                         "address":{"city":"Oslo"}})"));
}

TEST_F(ReadTest, MissingRecordOrOtherEntityIs404) {
  put("users", "u1", {{"name", "ann"}});
  Answer missing = read("users", "u2");
  EXPECT_EQ(missing.code, 404);
  EXPECT_EQ(missing.message, "entity not found: users id=u2");
  EXPECT_EQ(read("posts", "u1").code, 404);
}

TEST_F(ReadTest, ExpiredRecordIs404FromItsDeadlineOn) {
  put("users", "soon", {{"name", "a"}}, testing::kNow + 1);
  put("users", "now", {{"name", "b"}}, testing::kNow);
  put("users", "past", {{"name", "c"}}, testing::kNow - 1);
  EXPECT_EQ(read("users", "soon").code, 200);
  EXPECT_EQ(read("users", "now").code, 404);
  EXPECT_EQ(read("users", "past").code, 404);
  EXPECT_EQ(read("users", "soon", Json::object(), testing::kNow + 1).code, 404);
}

TEST_F(ReadTest, ProjectionKeepsIdAndTheFieldsAskedFor) {
  put("users", "u1",
      {{"name", "ann"}, {"age", 30}, {"address", {{"city", "Oslo"}, {"zip", "0150"}}}});
  Answer answer = read("users", "u1", {{"projection", {"name", "address.city", "nope"}}});
  ASSERT_EQ(answer.code, 200) << answer.message;
  EXPECT_EQ(answer.data, Json::parse(R"({"id":"u1","name":"ann","address":{"city":"Oslo"}})"));

  // _version only when asked for; "id" asked for changes nothing.
  answer = read("users", "u1", {{"projection", {"_version", "id"}}});
  EXPECT_EQ(answer.data, Json::parse(R"({"id":"u1","_version":1})"));
  answer = read("users", "u1", {{"projection", Json::array()}});
  EXPECT_EQ(answer.data, Json::parse(R"({"id":"u1"})"));
  // A whole object and a path inside it: the whole object.
  answer = read("users", "u1", {{"projection", {"address.zip", "address"}}});
  EXPECT_EQ(answer.data["address"], Json::parse(R"({"city":"Oslo","zip":"0150"})"));
  // A path through a non-object keeps nothing.
  answer = read("users", "u1", {{"projection", {"name.first"}}});
  EXPECT_EQ(answer.data, Json::parse(R"({"id":"u1"})"));
}

TEST_F(ReadTest, BadOptionsAre400NamingThem) {
  put("users", "u1", {{"name", "ann"}});
  struct Case {
    const char* body;
    const char* names;
  } cases[] = {
      {R"({"projections":["a"]})", "projections"},
      {R"({"projection":"name"})", "projection must be an array"},
      {R"({"projection":[1]})", "projection[0]"},
      {R"({"projection":["a..b"]})", "projection[0]"},
      {R"({"projection":["a b"]})", "projection[0]"},
      {R"({"includes":"author"})", "includes must be an array"},
      {R"({"include":[true]})", "include[0]"},
      {R"({"includes":["a.b.c.d"]})", "deeper than 3"},
      {R"({"includes":["a"],"include":["b"]})", "either includes or include"},
  };
  for (const Case& c : cases) {
    Answer answer = read("users", "u1", Json::parse(c.body));
    EXPECT_EQ(answer.code, 400) << c.body;
    EXPECT_NE(answer.message.find(c.names), std::string::npos)
        << c.body << " -> " << answer.message;
  }
}

}  // namespace
}  // namespace topicdb::db
