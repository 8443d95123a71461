#include "broker/will_schedule.h"

#include <gtest/gtest.h>

namespace topicdb::broker {
namespace {

Will will_of(const std::string& client_id, const std::string& topic) {
  auto message = std::make_shared<Message>();
  message->topic = topic;
  Will will;
  will.message = std::move(message);
  will.client_id = client_id;
  return will;
}

TEST(WillScheduleTest, OnlyDueWillsAreTakenAndEachOnce) {
  WillSchedule wills;
  wills.schedule(100, will_of("a", "w/a"));
  wills.schedule(200, will_of("b", "w/b"));
  EXPECT_TRUE(wills.take_due(99).empty());
  std::vector<Will> due = wills.take_due(100);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].message->topic, "w/a");
  EXPECT_TRUE(wills.take_due(150).empty());
  EXPECT_EQ(wills.take_due(1000).size(), 1u);
  EXPECT_EQ(wills.size(), 0u);
}

TEST(WillScheduleTest, TakeCancelsAndANewWillReplacesTheOld) {
  WillSchedule wills;
  wills.schedule(100, will_of("a", "first"));
  wills.schedule(300, will_of("a", "second"));
  EXPECT_EQ(wills.size(), 1u);
  std::optional<Will> taken = wills.take("a");
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->message->topic, "second");
  EXPECT_FALSE(wills.take("a").has_value());
  EXPECT_TRUE(wills.take_due(1000).empty());
}

}  // namespace
}  // namespace topicdb::broker
