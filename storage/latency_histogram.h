// LatencyHistogram: durations in fixed buckets, recorded by one thread (the store thread's
// group commits) and read by another (the loop thread, for /metrics) without a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace topicdb::storage {

class LatencyHistogram {
 public:
  // Upper bounds of the buckets in nanoseconds (100 µs .. 5 s): from an fsync-free commit on
  // a fast disk to a stall worth an alert. Durations above the last bound count only in the
  // implicit +Inf bucket.
  static constexpr std::array<uint64_t, 15> kBoundsNs = {
      100'000,     250'000,     500'000,       1'000'000,     2'500'000,
      5'000'000,   10'000'000,  25'000'000,    50'000'000,    100'000'000,
      250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000};

  // What a reader sees: per-bucket (not cumulative) counts, the last one for durations above
  // every bound, and their sum.
  struct Snapshot {
    std::array<uint64_t, kBoundsNs.size() + 1> counts{};
    uint64_t sum_ns = 0;
    // The number of durations: the sum of `counts`, so it always agrees with the buckets.
    uint64_t count() const;
  };

  void record_ns(uint64_t ns);
  // Each bucket is read atomically, not the whole: a duration recorded meanwhile may be in
  // the buckets and not yet in the sum, which a scrape tolerates.
  Snapshot snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBoundsNs.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace topicdb::storage
