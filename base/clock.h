// Clock: the one seam for time and timers. Expiry, keep-alive, will delay and $SYS logic read
// time and arm timers only through it, so tests drive time by hand (ManualClock) instead of
// sleeping, while the server runs on the libuv clock (UvClock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace topicdb {

// Timer: runs a callback once after a delay, then optionally every period, on its clock's
// time. Owned by whoever arms it; destroying it stops it, and after stop() or destruction
// the callback never runs, even when that happens inside a callback (its own included).
class Timer {
 public:
  virtual ~Timer() = default;
  // Arms the timer, replacing any earlier arming: `callback` runs `delay_ms` from now, then
  // every `repeat_ms` while repeat_ms > 0.
  virtual void start(int64_t delay_ms, int64_t repeat_ms, std::function<void()> callback) = 0;
  virtual void stop() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds; only differences are meaningful.
  virtual int64_t now_ms() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for what outlives a process
  // (stored sessions and messages).
  virtual int64_t wall_ms() const = 0;
  // A new, unarmed timer on this clock. The clock must outlive it.
  virtual std::unique_ptr<Timer> make_timer() = 0;
};

}  // namespace topicdb
