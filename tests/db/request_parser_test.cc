// The $DB request parser: topic paths to operations, payload rules, and the error answer
// (code and message) for each kind of bad input.
#include "db/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace topicdb::db {
namespace {

ParsedRequest parse(std::string_view path, std::string_view payload = "{}") {
  return parse_request(path, payload);
}

void expect_error(const ParsedRequest& p, int code, std::string_view message_part) {
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error.code, code);
  EXPECT_NE(p.error.message.find(message_part), std::string::npos) << p.error.message;
}

TEST(RequestParserTest, EveryOperationTopic) {
  struct Case {
    const char* path;
    Operation op;
    const char* entity;
    const char* id;
  } cases[] = {
      {"users/create", Operation::kCreate, "users", ""},
      {"users/list", Operation::kList, "users", ""},
      {"users/u-1", Operation::kRead, "users", "u-1"},
      {"users/u-1/update", Operation::kUpdate, "users", "u-1"},
      {"users/u-1/delete", Operation::kDelete, "users", "u-1"},
      {"_admin/schema/users/set", Operation::kSchemaSet, "users", ""},
      {"_admin/schema/users/get", Operation::kSchemaGet, "users", ""},
      {"_admin/index/users/add", Operation::kIndexAdd, "users", ""},
      {"_admin/index/users/list", Operation::kIndexList, "users", ""},
      {"_admin/constraint/users/add", Operation::kConstraintAdd, "users", ""},
      {"_admin/constraint/users/list", Operation::kConstraintList, "users", ""},
      {"_admin/constraint/users/remove", Operation::kConstraintRemove, "users", ""},
      {"_admin/verify", Operation::kVerify, "", ""},
  };
  for (const Case& c : cases) {
    ParsedRequest p = parse(c.path);
    ASSERT_TRUE(p.ok()) << c.path << ": " << p.error.message;
    EXPECT_EQ(p.request->op, c.op) << c.path;
    EXPECT_EQ(p.request->entity, c.entity) << c.path;
    EXPECT_EQ(p.request->id, c.id) << c.path;
  }
  ParsedRequest replay = parse("_events/replay", R"({"entity":"users","since":3})");
  ASSERT_TRUE(replay.ok()) << replay.error.message;
  EXPECT_EQ(replay.request->op, Operation::kReplay);
  EXPECT_EQ(replay.request->body["since"], 3);
}

TEST(RequestParserTest, UnknownOperationsAre400) {
  for (const char* path :
       {"", "users", "users/u1/frobnicate", "users/u1/update/x", "_admin/schema/users/drop",
        "_admin/table/users/set", "_admin/schema", "_events/stream", "_events",
        "_admin/constraint/users/drop", "_admin/verify/x"}) {
    expect_error(parse(path), 400, "unknown operation");
  }
}

TEST(RequestParserTest, EntityNameRules) {
  expect_error(parse("_users/create"), 400, "reserved");
  expect_error(parse("us.ers/create"), 400, "may contain only");
  expect_error(parse(std::string(129, 'e') + "/create"), 400, "1 to 128");
  expect_error(parse("_admin/schema/_x/set"), 400, "reserved");
  EXPECT_TRUE(parse(std::string(128, 'e') + "/create").ok());
  EXPECT_TRUE(parse("Users_2-b/list").ok());
}

TEST(RequestParserTest, IdRules) {
  expect_error(parse("users/_secret"), 400, "reserved");
  expect_error(parse("users/" + std::string(513, 'i')), 400, "1 to 512");
  expect_error(parse("users//update"), 400, "1 to 512");
  expect_error(parse("users/a+b"), 400, "must not contain");
  EXPECT_TRUE(parse("users/" + std::string(512, 'i')).ok());
  expect_error(parse("users/create", R"({"id":"a/b"})"), 400, "must not contain");
  expect_error(parse("users/create", R"({"id":"list"})"), 400, "reserved");
  expect_error(parse("users/create", R"({"id":7})"), 400, "\"id\" must be a string");
  EXPECT_TRUE(parse("users/create", R"({"id":"alice"})").ok());
}

TEST(RequestParserTest, PayloadRules) {
  expect_error(parse("users/create", "{\"name\":"), 400, "invalid JSON");
  expect_error(parse("users/create", "[1,2]"), 400, "must be a JSON object, got array");
  expect_error(parse("users/create", "42"), 400, "must be a JSON object, got number");
  expect_error(parse("users/create", "{\"n\":\"\xff\"}"), 400, "invalid JSON");
  expect_error(parse("users/create", std::string(100, '[') + std::string(100, ']')), 400,
               "nested deeper");
  // Brackets inside strings do not count as nesting.
  EXPECT_TRUE(parse("users/create", "{\"s\":\"" + std::string(100, '[') + "\"}").ok());
  // An empty payload is {}.
  ParsedRequest empty = parse("users/u1", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.request->body.is_object());
  EXPECT_TRUE(empty.request->body.empty());
}

TEST(RequestParserTest, PayloadOverTheLimitIs413) {
  RequestParserOptions options;
  options.max_payload = 64;
  std::string big = R"({"s":")" + std::string(60, 'x') + "\"}";
  ParsedRequest p = parse_request("users/create", big, options);
  expect_error(p, 413, "over the limit of 64");
  EXPECT_TRUE(parse_request("users/create", R"({"s":"x"})", options).ok());
}

TEST(RequestParserTest, RequestIdIsTakenOutAndKeptForErrors) {
  ParsedRequest p = parse("users/create", R"({"name":"a","_request_id":"r-1"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.request->request_id, "r-1");
  EXPECT_EQ(p.request_id, "r-1");
  EXPECT_FALSE(p.request->body.contains("_request_id"));
  EXPECT_EQ(p.request->body["name"], "a");

  ParsedRequest bad = parse("users/u1/frobnicate", R"({"_request_id":"r-2"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.request_id, "r-2");
  expect_error(parse("users/create", R"({"_request_id":5})"), 400, "_request_id");
}

TEST(RequestParserTest, ReplayNeedsAValidEntity) {
  expect_error(parse("_events/replay", R"({"since":1})"), 400, "entity");
  expect_error(parse("_events/replay", R"({"entity":"_x"})"), 400, "reserved");
}

TEST(RequestParserTest, ServerTopics) {
  EXPECT_TRUE(is_server_topic("users/events/u1"));
  EXPECT_TRUE(is_server_topic("users/events"));
  EXPECT_TRUE(is_server_topic("_reply/users/create"));
  EXPECT_FALSE(is_server_topic("users/create"));
  EXPECT_FALSE(is_server_topic("users/u1"));
  EXPECT_FALSE(is_server_topic("_events/replay"));
}

}  // namespace
}  // namespace topicdb::db
