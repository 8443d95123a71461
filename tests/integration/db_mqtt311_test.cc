// MQTT 3.1.1 clients have no Response Topic: their answers come on $DB/_reply/{request
// path}, to the requester only, with "_request_id" echoed as "request_id".
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/db_client.h"

namespace topicdb::itest::db {
namespace {

class DbMqtt311Test : public DbTest {};

TEST_F(DbMqtt311Test, AnswerOnReplyTopicWithRequestId) {
  Db311Client c(port(), "old-device");
  ASSERT_TRUE(c.connect());
  std::string reply;
  Json created =
      c.request("$DB/sensors/create", R"({"id":"s1","t":21.5,"_request_id":"req-1"})", &reply);
  EXPECT_EQ(reply, "$DB/_reply/sensors/create");
  ASSERT_TRUE(is_ok(created));
  EXPECT_EQ(created["request_id"], "req-1");
  EXPECT_EQ(created["data"]["id"], "s1");
  EXPECT_FALSE(created["data"].contains("_request_id")) << "the request id is not stored";

  Json read = c.request("$DB/sensors/s1", R"({"_request_id":"req-2"})", &reply);
  EXPECT_EQ(reply, "$DB/_reply/sensors/s1");
  ASSERT_TRUE(is_ok(read));
  EXPECT_EQ(read["request_id"], "req-2");
  EXPECT_FALSE(read["data"].contains("_request_id"));

  // Errors come the same way, with the request id.
  Json bad = c.request("$DB/sensors/s1/explode", R"({"_request_id":"req-3"})", &reply);
  EXPECT_EQ(reply, "$DB/_reply/sensors/s1/explode");
  EXPECT_TRUE(is_error(bad, 400));
  EXPECT_EQ(bad["request_id"], "req-3");
}

TEST_F(DbMqtt311Test, NoClientSeesAnothersAnswers) {
  Db311Client a(port(), "dev-a");
  Db311Client b(port(), "dev-b");
  ASSERT_TRUE(a.connect());
  ASSERT_TRUE(b.connect());
  // A third client subscribed to everything under $DB sees neither answer.
  PahoClient snoop(port(), "snoop");
  ASSERT_TRUE(snoop.connect());
  ASSERT_TRUE(snoop.subscribe("$DB/_reply/#", 1));

  Json ra = a.request("$DB/kv/create", R"({"id":"ka","_request_id":"a-1"})");
  ASSERT_TRUE(is_ok(ra));
  EXPECT_EQ(ra["request_id"], "a-1");
  Json rb = b.request("$DB/kv/create", R"({"id":"kb","_request_id":"b-1"})");
  ASSERT_TRUE(is_ok(rb));
  EXPECT_EQ(rb["request_id"], "b-1");
  EXPECT_TRUE(a.paho().expect_no_message(milliseconds(300))) << "a saw b's answer";
  EXPECT_TRUE(b.paho().expect_no_message(milliseconds(300))) << "b saw a's answer";
  EXPECT_TRUE(snoop.expect_no_message(milliseconds(300)));
}

}  // namespace
}  // namespace topicdb::itest::db
