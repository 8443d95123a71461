#include "base/status.h"

#include <gtest/gtest.h>

namespace topicdb {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = Status::invalid_argument("bad topic");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.to_string(), "invalid argument: bad topic");
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> good = 7;
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Status::not_found("x");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace topicdb
