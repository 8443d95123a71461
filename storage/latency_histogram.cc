#include "storage/latency_histogram.h"

#include <algorithm>

namespace topicdb::storage {

uint64_t LatencyHistogram::Snapshot::count() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

void LatencyHistogram::record_ns(uint64_t ns) {
  // Prometheus buckets are "less than or equal": a duration equal to a bound belongs to it.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), ns) - kBoundsNs.begin());
  // Relaxed: the counts are statistics; nothing else is published through them.
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
  Snapshot s;
  for (size_t i = 0; i < counts_.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace topicdb::storage
