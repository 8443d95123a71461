// ManualClock: a Clock whose time moves only when a test calls advance_ms(), firing the
// timers that fall due on the way, so timer-driven logic runs without sleeps.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/clock.h"

namespace topicdb {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'000'000) : now_(start_ms) {}
  // Timers that outlive the clock are detached: they never fire.
  ~ManualClock() override;
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  int64_t now_ms() const override { return now_; }
  int64_t wall_ms() const override { return now_; }
  std::unique_ptr<Timer> make_timer() override;

  // Moves time forward by `ms`, firing every timer due by then in due order (ties in the
  // order they were armed); a repeating timer fires as often as it falls due. While a
  // callback runs, now_ms() is its due time. Callbacks may arm, stop or destroy timers;
  // what they arm fires within this advance if it falls due within it.
  void advance_ms(int64_t ms);
  // Armed timers, so a test can check that nothing is left pending.
  size_t armed_timers() const;

 private:
  class ManualTimer;
  friend class ManualTimer;

  int64_t now_;
  uint64_t next_arm_seq_ = 0;
  std::vector<ManualTimer*> timers_;  // every live timer of this clock, armed or not
};

}  // namespace topicdb
