// LoginThrottle: per-address doubling delays, a bound, forgetting, and the address table's
// limit.
#include "broker/login_throttle.h"

#include <gtest/gtest.h>

#include <string>

namespace topicdb::broker {
namespace {

TEST(LoginThrottleTest, DelaysDoublePerAddressUpToTheBound) {
  LoginThrottle t(100, 1000);
  EXPECT_EQ(t.on_failure("10.0.0.1", 0), 100);
  EXPECT_EQ(t.on_failure("10.0.0.1", 1), 200);
  EXPECT_EQ(t.on_failure("10.0.0.1", 2), 400);
  EXPECT_EQ(t.on_failure("10.0.0.2", 3), 100);  // another address starts over
  EXPECT_EQ(t.on_failure("10.0.0.1", 4), 800);
  EXPECT_EQ(t.on_failure("10.0.0.1", 5), 1000);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(t.on_failure("10.0.0.1", 6 + i), 1000);
  EXPECT_EQ(t.failures(), 106u);
}

TEST(LoginThrottleTest, AQuietAddressIsForgotten) {
  LoginThrottle t(100, 1000);
  t.on_failure("a", 0);
  t.on_failure("a", 10);
  EXPECT_EQ(t.on_failure("a", 20), 400);
  EXPECT_EQ(t.on_failure("a", 20 + 60001), 100);
}

TEST(LoginThrottleTest, ZeroBaseCountsWithoutDelay) {
  LoginThrottle t(0, 0);
  EXPECT_EQ(t.on_failure("a", 0), 0);
  EXPECT_EQ(t.on_failure("a", 1), 0);
  EXPECT_EQ(t.failures(), 2u);
}

TEST(LoginThrottleTest, AFullTableGivesNewAddressesTheLongestDelay) {
  LoginThrottle t(10, 160);
  for (size_t i = 0; i < LoginThrottle::kMaxAddresses; ++i) t.on_failure(std::to_string(i), 0);
  EXPECT_EQ(t.on_failure("new", 1), 160);
  EXPECT_EQ(t.tracked_addresses(), LoginThrottle::kMaxAddresses);
  EXPECT_EQ(t.on_failure("newer", 120000), 10);  // the stale ones were dropped
}

TEST(LoginThrottleTest, AddressOfAPeer) {
  EXPECT_EQ(LoginThrottle::address_of("127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(LoginThrottle::address_of("::1:5555"), "::1");
  EXPECT_EQ(LoginThrottle::address_of("[::1]:5555"), "::1");
  EXPECT_EQ(LoginThrottle::address_of("?"), "?");
}

}  // namespace
}  // namespace topicdb::broker
