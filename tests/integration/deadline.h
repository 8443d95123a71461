// Milliseconds left until a deadline, for the bounded waits of the test clients.
#pragma once

#include <chrono>

namespace topicdb::itest {

// What is left of `deadline`, never negative (a poll() timeout).
inline int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace topicdb::itest
