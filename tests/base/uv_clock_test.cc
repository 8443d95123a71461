#include "base/uv_clock.h"

#include <memory>

#include <gtest/gtest.h>
#include <uv.h>

namespace topicdb {
namespace {

// Each test runs timers on a real loop with delays of a few milliseconds; uv_run returns as
// soon as no timer is armed, so the tests wait only as long as their timers.
class UvClockTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    // Close callbacks of destroyed timers run here; afterwards no handle may be left.
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a timer handle was left open";
  }
  UvClock& clock() { return clock_; }

  uv_loop_t loop_;
  UvClock clock_{&loop_};  // only stores the pointer; SetUp initializes the loop
};

TEST_F(UvClockTest, TimeMovesForward) {
  int64_t before = clock().now_ms();
  EXPECT_GE(clock().now_ms(), before);
  EXPECT_GT(clock().wall_ms(), int64_t{1'600'000'000'000});  // after 2020, in milliseconds
}

TEST_F(UvClockTest, OneShotTimerFiresAfterItsDelay) {
  auto timer = clock().make_timer();
  int fired = 0;
  int64_t fired_at = 0;
  const int64_t started = clock().now_ms();
  timer->start(20, 0, [&] {
    ++fired;
    fired_at = clock().now_ms();
  });
  uv_run(&loop_, UV_RUN_DEFAULT);  // returns once the one-shot timer is done
  EXPECT_EQ(fired, 1);
  // libuv rounds against its cached loop time, so allow a millisecond of slack.
  EXPECT_GE(fired_at - started, 19);
}

TEST_F(UvClockTest, RepeatingTimerFiresUntilStoppedFromItsCallback) {
  auto timer = clock().make_timer();
  int fired = 0;
  timer->start(1, 2, [&] {
    if (++fired == 3) timer->stop();
  });
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 3);
}

TEST_F(UvClockTest, StoppedTimerNeitherFiresNorKeepsTheLoopRunning) {
  auto timer = clock().make_timer();
  bool fired = false;
  timer->start(60'000, 0, [&] { fired = true; });
  timer->stop();
  const int64_t started = clock().now_ms();
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(fired);
  EXPECT_LT(clock().now_ms() - started, 10'000);
}

TEST_F(UvClockTest, DestroyedTimerNeverFiresAndLeavesNoHandle) {
  auto timer = clock().make_timer();
  bool fired = false;
  timer->start(1, 1, [&] { fired = true; });
  timer.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(fired);
  EXPECT_EQ(uv_loop_close(&loop_), 0);
  ASSERT_EQ(uv_loop_init(&loop_), 0);  // for TearDown
}

TEST_F(UvClockTest, TimerDestroyedByAnotherTimersCallbackNeverFires) {
  auto killer = clock().make_timer();
  auto victim = clock().make_timer();
  bool victim_fired = false;
  victim->start(30, 0, [&] { victim_fired = true; });
  killer->start(1, 0, [&] { victim.reset(); });
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(victim_fired);
}

TEST_F(UvClockTest, TimerMayDestroyItselfFromItsCallback) {
  auto timer = clock().make_timer();
  int fired = 0;
  timer->start(1, 1, [&] {
    ++fired;
    timer.reset();  // the running callback stays valid until the handle's close callback
  });
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, 1);
}

TEST_F(UvClockTest, TimerMayRearmItselfWithANewCallback) {
  auto timer = clock().make_timer();
  int first = 0;
  int second = 0;
  timer->start(1, 0, [&] {
    ++first;
    timer->start(1, 0, [&] { ++second; });
  });
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

}  // namespace
}  // namespace topicdb
