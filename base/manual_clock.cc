#include "base/manual_clock.h"

#include <algorithm>
#include <functional>

namespace topicdb {

class ManualClock::ManualTimer final : public Timer {
 public:
  explicit ManualTimer(ManualClock* clock) : clock_(clock) { clock_->timers_.push_back(this); }
  ~ManualTimer() override {
    if (clock_ == nullptr) return;
    auto& timers = clock_->timers_;
    timers.erase(std::find(timers.begin(), timers.end(), this));
  }

  void start(int64_t delay_ms, int64_t repeat_ms, std::function<void()> callback) override {
    if (clock_ == nullptr) return;
    armed_ = true;
    due_ms_ = clock_->now_ + std::max<int64_t>(delay_ms, 0);
    repeat_ms_ = std::max<int64_t>(repeat_ms, 0);
    arm_seq_ = clock_->next_arm_seq_++;
    callback_ = std::move(callback);
  }
  void stop() override { armed_ = false; }

  ManualClock* clock_;
  bool armed_ = false;
  int64_t due_ms_ = 0;
  int64_t repeat_ms_ = 0;
  uint64_t arm_seq_ = 0;
  std::function<void()> callback_;
};

ManualClock::~ManualClock() {
  for (ManualTimer* t : timers_) t->clock_ = nullptr;
}

std::unique_ptr<Timer> ManualClock::make_timer() { return std::make_unique<ManualTimer>(this); }

void ManualClock::advance_ms(int64_t ms) {
  const int64_t target = now_ + std::max<int64_t>(ms, 0);
  for (;;) {
    // A linear scan: tests hold a handful of timers, and callbacks may change the set, so
    // the next due timer is looked up afresh each time.
    ManualTimer* next = nullptr;
    for (ManualTimer* t : timers_) {
      if (!t->armed_ || t->due_ms_ > target) continue;
      if (next == nullptr || t->due_ms_ < next->due_ms_ ||
          (t->due_ms_ == next->due_ms_ && t->arm_seq_ < next->arm_seq_)) {
        next = t;
      }
    }
    if (next == nullptr) break;
    now_ = next->due_ms_;
    if (next->repeat_ms_ > 0) {
      next->due_ms_ += next->repeat_ms_;
      next->arm_seq_ = next_arm_seq_++;
    } else {
      next->armed_ = false;
    }
    // A copy, because the callback may destroy or re-arm its own timer.
    std::function<void()> callback = next->callback_;
    callback();
  }
  now_ = target;
}

size_t ManualClock::armed_timers() const {
  return std::count_if(timers_.begin(), timers_.end(), [](ManualTimer* t) { return t->armed_; });
}

}  // namespace topicdb
