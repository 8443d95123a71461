// LoginThrottle: slows password guessing. Each failed login from a client address makes
// the refusal of the next one from that address wait longer (doubling from a base delay up
// to a bound); an address quiet for a while is forgotten. The broker delays the CONNACK
// refusal by what on_failure returns; the answer itself never changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace topicdb::broker {

class LoginThrottle {
 public:
  // base_delay_ms 0 turns delays off (failures are still counted).
  LoginThrottle(int64_t base_delay_ms, int64_t max_delay_ms);

  // Records a failed login from `address` (a host, without port) at `now_ms` and returns
  // how long to delay its refusal: base, 2 x base, 4 x base, ... at most max_delay_ms.
  int64_t on_failure(std::string_view address, int64_t now_ms);
  // Failed logins since start.
  uint64_t failures() const { return failures_; }
  size_t tracked_addresses() const { return by_address_.size(); }

  // A client address from a peer string "host:port" ("[v6]:port" or "v6:port").
  static std::string_view address_of(std::string_view peer);

  // Addresses remembered at most; beyond it stale ones are dropped, and if none is stale a
  // new address gets the longest delay (a flood of addresses gains nothing).
  static constexpr size_t kMaxAddresses = 65536;

 private:
  struct Entry {
    uint32_t failures = 0;
    int64_t last_failure_ms = 0;
  };
  bool stale(const Entry& e, int64_t now_ms) const {
    return now_ms - e.last_failure_ms > forget_after_ms_;
  }
  void drop_stale(int64_t now_ms);

  int64_t base_delay_ms_;
  int64_t max_delay_ms_;
  int64_t forget_after_ms_;  // no failure for this long: the address starts over
  uint64_t failures_ = 0;
  std::unordered_map<std::string, Entry> by_address_;
};

}  // namespace topicdb::broker
