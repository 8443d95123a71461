#include "storage/latency_histogram.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace topicdb::storage {
namespace {

TEST(LatencyHistogramTest, ADurationEqualToABoundCountsInThatBucket) {
  LatencyHistogram h;
  h.record_ns(100'000);  // exactly the first bound (le="0.0001")
  h.record_ns(100'001);  // just above it
  h.record_ns(0);
  LatencyHistogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.counts[0], 2u);
  EXPECT_EQ(s.counts[1], 1u);
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(s.sum_ns, 200'001u);
}

TEST(LatencyHistogramTest, DurationsAboveEveryBoundGoToTheLastBucket) {
  LatencyHistogram h;
  h.record_ns(LatencyHistogram::kBoundsNs.back() + 1);
  h.record_ns(60ull * 1'000'000'000);
  LatencyHistogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.counts.back(), 2u);
  EXPECT_EQ(s.count(), 2u);
}

TEST(LatencyHistogramTest, AWriterThreadAndAReaderAgreeOnceTheWriterIsDone) {
  LatencyHistogram h;
  std::thread writer([&] {
    for (uint64_t i = 0; i < 100'000; ++i) h.record_ns(i * 1000);
  });
  // Concurrent reads never see more than was written.
  for (int i = 0; i < 100; ++i) EXPECT_LE(h.snapshot().count(), 100'000u);
  writer.join();
  LatencyHistogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.count(), 100'000u);
  EXPECT_EQ(s.sum_ns, uint64_t{1000} * (uint64_t{100'000} * 99'999 / 2));
}

}  // namespace
}  // namespace topicdb::storage
