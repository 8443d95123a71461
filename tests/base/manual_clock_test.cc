#include "base/manual_clock.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace topicdb {
namespace {

constexpr int64_t kStart = 1'000'000;

// What fired and at which clock time, as "name@offset".
struct Log {
  explicit Log(ManualClock* c) : clock(c) {}
  ManualClock* clock;
  std::vector<std::string> fired;
  std::function<void()> note(std::string name) {
    return [this, name] { fired.push_back(name + "@" + std::to_string(clock->now_ms() - kStart)); };
  }
};

TEST(ManualClockTest, AdvanceMovesTimeWithoutTimers) {
  ManualClock clock(kStart);
  clock.advance_ms(250);
  EXPECT_EQ(clock.now_ms(), kStart + 250);
  EXPECT_EQ(clock.wall_ms(), kStart + 250);
}

TEST(ManualClockTest, TimersFireInDueOrderAtTheirDueTime) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto late = clock.make_timer();
  auto early = clock.make_timer();
  auto middle = clock.make_timer();
  late->start(30, 0, log.note("late"));
  early->start(10, 0, log.note("early"));
  middle->start(20, 0, log.note("middle"));
  clock.advance_ms(15);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"early@10"}));
  clock.advance_ms(100);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"early@10", "middle@20", "late@30"}));
  EXPECT_EQ(clock.now_ms(), kStart + 115);
  EXPECT_EQ(clock.armed_timers(), 0u);
}

TEST(ManualClockTest, TimersDueTogetherFireInTheOrderArmed) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto b = clock.make_timer();
  auto a = clock.make_timer();
  a->start(5, 0, log.note("a"));
  b->start(5, 0, log.note("b"));
  clock.advance_ms(5);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"a@5", "b@5"}));
}

TEST(ManualClockTest, NotDueYetDoesNotFire) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto t = clock.make_timer();
  t->start(10, 0, log.note("t"));
  clock.advance_ms(9);
  EXPECT_TRUE(log.fired.empty());
  clock.advance_ms(1);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"t@10"}));
}

TEST(ManualClockTest, RepeatingTimerFiresAsOftenAsDueWithinOneAdvance) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto sweep = clock.make_timer();
  auto once = clock.make_timer();
  sweep->start(10, 10, log.note("sweep"));
  once->start(25, 0, log.note("once"));
  clock.advance_ms(35);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"sweep@10", "sweep@20", "once@25", "sweep@30"}));
  clock.advance_ms(5);
  EXPECT_EQ(log.fired.back(), "sweep@40");
  EXPECT_EQ(clock.armed_timers(), 1u);
}

TEST(ManualClockTest, ZeroDelayFiresOnTheNextAdvance) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto t = clock.make_timer();
  t->start(0, 100, log.note("sys"));
  EXPECT_TRUE(log.fired.empty());  // never from inside start()
  clock.advance_ms(0);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"sys@0"}));
}

TEST(ManualClockTest, StoppedTimerDoesNotFire) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto t = clock.make_timer();
  t->start(10, 10, log.note("t"));
  clock.advance_ms(10);
  t->stop();
  clock.advance_ms(100);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"t@10"}));
  EXPECT_EQ(clock.armed_timers(), 0u);
}

TEST(ManualClockTest, RestartReplacesTheEarlierArming) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto t = clock.make_timer();
  t->start(10, 0, log.note("first"));
  t->start(50, 0, log.note("second"));
  clock.advance_ms(60);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"second@50"}));
}

TEST(ManualClockTest, CallbacksMayArmAndStopTimers) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto first = clock.make_timer();
  auto armed_later = clock.make_timer();
  auto victim = clock.make_timer();
  victim->start(30, 0, log.note("victim"));
  first->start(10, 0, [&] {
    log.note("first")();
    // Due within this advance (at 15), so it fires in it, after "first" and before 30.
    armed_later->start(5, 0, log.note("armed_later"));
    victim->stop();
  });
  clock.advance_ms(100);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"first@10", "armed_later@15"}));
}

TEST(ManualClockTest, TimerMayRearmItselfFromItsCallback) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto t = clock.make_timer();
  int runs = 0;
  std::function<void()> again = [&] {
    log.note("t")();
    if (++runs < 3) t->start(7, 0, again);
  };
  t->start(7, 0, again);
  clock.advance_ms(100);
  EXPECT_EQ(log.fired, (std::vector<std::string>{"t@7", "t@14", "t@21"}));
}

TEST(ManualClockTest, DestroyedTimerNeverFires) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto t = clock.make_timer();
  t->start(10, 10, log.note("t"));
  t.reset();
  clock.advance_ms(100);
  EXPECT_TRUE(log.fired.empty());
  EXPECT_EQ(clock.armed_timers(), 0u);
}

TEST(ManualClockTest, TimerDestroyedByAnEarlierCallbackInTheSameAdvanceNeverFires) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto killer = clock.make_timer();
  auto victim = clock.make_timer();
  victim->start(20, 0, log.note("victim"));
  killer->start(10, 0, [&] { victim.reset(); });
  clock.advance_ms(100);
  EXPECT_TRUE(log.fired.empty());
}

TEST(ManualClockTest, TimerMayDestroyItselfFromItsCallback) {
  ManualClock clock(kStart);
  Log log{&clock};
  auto t = clock.make_timer();
  std::string tag = "kept alive by the callback's own copy";
  t->start(10, 10, [&, tag] {
    t.reset();
    log.fired.push_back(tag);  // touches the callback's captures after its timer is gone
  });
  clock.advance_ms(100);
  EXPECT_EQ(log.fired, (std::vector<std::string>{tag}));
}

TEST(ManualClockTest, TimerOutlivingItsClockIsHarmless) {
  std::unique_ptr<Timer> t;
  {
    ManualClock clock(kStart);
    t = clock.make_timer();
    t->start(10, 0, [] { FAIL() << "fired after its clock was gone"; });
  }
  t->start(1, 0, [] {});
  t->stop();
  t.reset();
}

}  // namespace
}  // namespace topicdb
