#include "db/answer.h"

#include <gtest/gtest.h>

namespace topicdb::db {
namespace {

TEST(DbAnswerTest, OkEnvelopePutsStatusFirst) {
  Answer a = Answer::ok(Json{{"id", "u1"}, {"_version", 1}});
  EXPECT_EQ(a.to_envelope(), R"({"status":"ok","data":{"_version":1,"id":"u1"}})");
}

TEST(DbAnswerTest, ErrorEnvelopeHasCodeMessageAndOptionalData) {
  EXPECT_EQ(Answer::not_found("no such record").to_envelope(),
            R"({"status":"error","code":404,"message":"no such record"})");
  Answer conflict = Answer::conflict("version is 3", Json{{"current_version", 3}});
  EXPECT_EQ(
      conflict.to_envelope(),
      R"({"status":"error","code":409,"message":"version is 3","data":{"current_version":3}})");
}

TEST(DbAnswerTest, RequestIdIsEchoedAndEscaped) {
  EXPECT_EQ(Answer::ok(Json::array()).to_envelope(std::string("a\"b")),
            R"({"status":"ok","data":[],"request_id":"a\"b"})");
}

TEST(DbAnswerTest, DataTextIsSplicedAsItIsAndParsesOnRequest) {
  Answer a = Answer::ok_text(R"({"id":"u1","b":[1,2.5]})");
  EXPECT_EQ(a.to_envelope(std::string("x")),
            R"({"status":"ok","data":{"id":"u1","b":[1,2.5]},"request_id":"x"})");
  ASSERT_TRUE(a.parse_data_text());
  EXPECT_TRUE(a.data_text.empty());
  EXPECT_EQ(a.data["b"][1], 2.5);
  Answer bad = Answer::ok_text("{nope");
  EXPECT_FALSE(bad.parse_data_text());
}

}  // namespace
}  // namespace topicdb::db
