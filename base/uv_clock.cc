#include "base/uv_clock.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

namespace topicdb {

namespace {

// The uv handle and the callback live together on the heap, owned by the timer until it is
// destroyed and then by libuv until the close callback: so a timer destroyed from inside its
// own callback never frees the function that is running.
struct TimerHandle {
  uv_timer_t uv;
  std::function<void()> callback;
};

class UvTimer final : public Timer {
 public:
  explicit UvTimer(uv_loop_t* loop) : handle_(std::make_unique<TimerHandle>()) {
    uv_timer_init(loop, &handle_->uv);
    handle_->uv.data = handle_.get();
  }
  ~UvTimer() override {
    uv_timer_stop(&handle_->uv);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_.release()->uv), [](uv_handle_t* h) {
      std::unique_ptr<TimerHandle> freed(static_cast<TimerHandle*>(h->data));
    });
  }
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;

  void start(int64_t delay_ms, int64_t repeat_ms, std::function<void()> callback) override {
    handle_->callback = std::move(callback);
    // libuv counts from its cached loop time, which is as old as the current loop turn (or
    // the loop's creation): refresh it so the delay counts from now.
    uv_update_time(handle_->uv.loop);
    uv_timer_start(&handle_->uv, &UvTimer::on_timer, std::max<int64_t>(delay_ms, 0),
                   std::max<int64_t>(repeat_ms, 0));
  }
  void stop() override { uv_timer_stop(&handle_->uv); }

 private:
  static void on_timer(uv_timer_t* uv) {
    auto* handle = static_cast<TimerHandle*>(uv->data);
    // A copy: the callback may re-arm this timer, replacing the stored function.
    std::function<void()> callback = handle->callback;
    callback();
  }

  std::unique_ptr<TimerHandle> handle_;
};

}  // namespace

int64_t UvClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t UvClock::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Timer> UvClock::make_timer() { return std::make_unique<UvTimer>(loop_); }

}  // namespace topicdb
