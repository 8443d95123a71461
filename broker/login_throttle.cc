#include "broker/login_throttle.h"

#include <algorithm>

namespace topicdb::broker {

LoginThrottle::LoginThrottle(int64_t base_delay_ms, int64_t max_delay_ms)
    : base_delay_ms_(std::max<int64_t>(base_delay_ms, 0)),
      max_delay_ms_(std::max(max_delay_ms, base_delay_ms_)),
      // Long enough that a guesser pausing between attempts keeps its penalty.
      forget_after_ms_(std::max<int64_t>(60000, 4 * max_delay_ms_)) {}

int64_t LoginThrottle::on_failure(std::string_view address, int64_t now_ms) {
  ++failures_;
  auto it = by_address_.find(std::string(address));
  if (it == by_address_.end()) {
    if (by_address_.size() >= kMaxAddresses) drop_stale(now_ms);
    if (by_address_.size() >= kMaxAddresses) return max_delay_ms_;
    it = by_address_.emplace(std::string(address), Entry{}).first;
  }
  Entry& e = it->second;
  if (stale(e, now_ms)) e.failures = 0;
  e.failures = std::min<uint32_t>(e.failures + 1, 62);
  e.last_failure_ms = now_ms;
  if (base_delay_ms_ == 0) return 0;
  int64_t delay = base_delay_ms_;
  for (uint32_t i = 1; i < e.failures && delay < max_delay_ms_; ++i) delay *= 2;
  return std::min(delay, max_delay_ms_);
}

void LoginThrottle::drop_stale(int64_t now_ms) {
  std::erase_if(by_address_, [&](const auto& kv) { return stale(kv.second, now_ms); });
}

std::string_view LoginThrottle::address_of(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    size_t close = peer.find(']');
    return close == std::string_view::npos ? peer : peer.substr(1, close - 1);
  }
  size_t colon = peer.rfind(':');
  return colon == std::string_view::npos ? peer : peer.substr(0, colon);
}

}  // namespace topicdb::broker
