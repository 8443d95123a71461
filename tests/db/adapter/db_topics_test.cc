// Which $DB filters clients may subscribe to: events and answers, never requests.
#include "db/adapter/db_topics.h"

#include <gtest/gtest.h>

namespace topicdb::db::adapter {
namespace {

TEST(DbTopicsTest, EventAndReplyFiltersAreAllowed) {
  for (const char* filter : {"$DB/#", "$DB/+/events/#", "$DB/users/events/#", "$DB/users/events/+",
                             "$DB/users/events/u1", "$DB/+/events/+", "$DB/+/+/+", "$DB/_reply/#",
                             "$DB/_reply/users/create", "$DB/_reply/+/+", "$DB/+/#"}) {
    EXPECT_TRUE(may_subscribe(filter)) << filter;
  }
}

TEST(DbTopicsTest, RequestOnlyFiltersAreRefused) {
  for (const char* filter :
       {"$DB/users/create", "$DB/users/+", "$DB/users/list", "$DB/users/u1/update",
        "$DB/_admin/schema/users/set", "$DB/_admin/#", "$DB/_events/replay", "$DB/+", "$DB",
        "$DB/users/events", "$DB/_x/events/#", "$DB//events/#"}) {
    EXPECT_FALSE(may_subscribe(filter)) << filter;
  }
}

TEST(DbTopicsTest, ReplyTopic) {
  EXPECT_EQ(reply_topic("users/create"), "$DB/_reply/users/create");
}

}  // namespace
}  // namespace topicdb::db::adapter
