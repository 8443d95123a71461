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

}  // namespace
}  // namespace topicdb::db
