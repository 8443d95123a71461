#include "db/reads.h"

#include <gtest/gtest.h>

#include <memory>

#include "db/ownership.h"
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

// A plain read or list answers with the stored text as it is (no parse, no dump); anything
// that reshapes the record, or an owner check, still goes through the parsed value.
TEST_F(ReadTest, PlainReadsAndListsSpliceTheStoredText) {
  put("users", "u1", {{"name", "ann"}, {"n", 1.5}});
  put("users", "u2", {{"name", "bob"}});
  std::string stored;
  {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(reader_, "SELECT body FROM db_records WHERE id='u1'", -1, &stmt,
                                 nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    stored = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
  }
  Request request;
  request.op = Operation::kRead;
  request.entity = "users";
  request.id = "u1";
  Answer plain = run_read(reader_, request, testing::kNow);
  ASSERT_EQ(plain.code, 200) << plain.message;
  EXPECT_EQ(plain.data_text, stored);
  EXPECT_TRUE(plain.data.is_null());
  EXPECT_EQ(plain.to_envelope("r"), R"({"status":"ok","data":)" + stored + R"(,"request_id":"r"})");

  request.body = {{"projection", {"name"}}};
  Answer projected = run_read(reader_, request, testing::kNow);
  EXPECT_TRUE(projected.data_text.empty());
  EXPECT_EQ(projected.data, Json::parse(R"({"id":"u1","name":"ann"})"));

  // An owned entity: the owner check reads the record's field, so the record is parsed.
  request.body = Json::object();
  auto scope = std::make_shared<OwnerScope>();
  scope->user = "ann";
  scope->fields["users"] = "name";
  request.owner = scope;
  Answer owned = run_read(reader_, request, testing::kNow);
  EXPECT_TRUE(owned.data_text.empty());
  EXPECT_EQ(owned.data["name"], "ann");
  request.id = "u2";
  EXPECT_EQ(run_read(reader_, request, testing::kNow).code, 404) << "another user's record";

  Request list_request;
  list_request.op = Operation::kList;
  list_request.entity = "users";
  list_request.body = {{"sort", {{{"field", "name"}, {"direction", "asc"}}}}};
  Answer listed = run_list(reader_, list_request, {}, testing::kNow);
  ASSERT_EQ(listed.code, 200) << listed.message;
  EXPECT_EQ(listed.data_text.substr(0, stored.size() + 1), "[" + stored);
  ASSERT_TRUE(listed.parse_data_text());
  EXPECT_EQ(listed.data.size(), 2u);
  EXPECT_EQ(listed.data[1]["name"], "bob");
  list_request.body = Json::object();
  list_request.body["filters"] = {{{"field", "name"}, {"op", "eq"}, {"value", "nobody"}}};
  Answer empty = run_list(reader_, list_request, {}, testing::kNow);
  EXPECT_EQ(empty.data_text, "[]");
}

}  // namespace
}  // namespace topicdb::db
