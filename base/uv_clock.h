// UvClock: the production Clock. System time (steady and wall) plus timers backed by
// uv_timer_t on one libuv loop; the loop must outlive every timer's close callback.
#pragma once

#include <cstdint>
#include <memory>

#include <uv.h>

#include "base/clock.h"

namespace topicdb {

class UvClock final : public Clock {
 public:
  // Borrows the loop; timers run on it and must be made and used on the loop's thread.
  explicit UvClock(uv_loop_t* loop) : loop_(loop) {}

  int64_t now_ms() const override;
  int64_t wall_ms() const override;
  // The timer's uv handle is closed when the timer is destroyed and freed by its close
  // callback on a later loop turn; a destroyed timer keeps no shutdown waiting, and once
  // that callback has run the loop holds nothing of it (uv_loop_close succeeds).
  std::unique_ptr<Timer> make_timer() override;

 private:
  uv_loop_t* loop_;
};

}  // namespace topicdb
