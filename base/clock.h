// Clock: the one source of time for expiry and keep-alive logic, so tests can drive
// time by hand (ManualClock) instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace topicdb {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds; only differences are meaningful.
  virtual int64_t now_ms() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for what outlives a process
  // (stored sessions and messages).
  virtual int64_t wall_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_; }
  int64_t wall_ms() const override { return now_; }
  void advance_ms(int64_t ms) { now_ += ms; }

 private:
  int64_t now_;
};

}  // namespace topicdb
