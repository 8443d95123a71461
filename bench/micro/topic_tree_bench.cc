// Micro benchmarks of the subscription index: matching a PUBLISH topic against 100,000
// subscriptions, and subscribe/unsubscribe churn on a tree of that size.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/fanin_filters.h"
#include "broker/topic_tree.h"

namespace topicdb::broker {
namespace {

constexpr int kSites = 100;
constexpr int kDevices = 1000;
const char* const kMetrics[] = {"temperature", "humidity", "pressure", "battery",
                                "status",      "rssi",     "co2",      "voc"};
constexpr int kMetricCount = sizeof(kMetrics) / sizeof(kMetrics[0]);

// The tree never dereferences a Session: distinct fake addresses stand for distinct owners.
Session* fake_session(uint64_t i) { return reinterpret_cast<Session*>((i + 1) * 64); }

std::string device_topic(int site, int device, int metric) {
  return "sensors/site-" + std::to_string(site) + "/device-" + std::to_string(device) + "/" +
         kMetrics[metric];
}

// A realistic mix over the topic space sensors/site-S/device-D/METRIC: mostly exact
// filters, then '+' and '#' at several depths, all sharing first levels with the topics
// that are published. A published topic matches about 70 of 100,000 such filters.
std::vector<std::string> make_filters(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> site(0, kSites - 1);
  std::uniform_int_distribution<int> device(0, kDevices - 1);
  std::uniform_int_distribution<int> metric(0, kMetricCount - 1);
  std::uniform_int_distribution<int> kind(0, 99);
  std::vector<std::string> filters;
  filters.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    int k = kind(rng);
    int s = site(rng);
    int d = device(rng);
    int m = metric(rng);
    std::string f;
    if (k < 60) {
      f = device_topic(s, d, m);  // exact
    } else if (k < 75) {
      f = "sensors/site-" + std::to_string(s) + "/+/" + kMetrics[m];
    } else if (k < 85) {
      f = "sensors/site-" + std::to_string(s) + "/device-" + std::to_string(d) + "/#";
    } else if (k < 92) {
      f = "sensors/+/device-" + std::to_string(d) + "/" + kMetrics[m];
    } else if (k < 97) {
      f = "sensors/site-" + std::to_string(s) + "/#";
    } else {
      f = "+/site-" + std::to_string(s) + "/device-" + std::to_string(d) + "/+";
    }
    if (i % 10000 == 0) f = "sensors/#";  // a few watch everything
    filters.push_back(std::move(f));
  }
  return filters;
}

std::vector<std::string> make_topics(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> site(0, kSites - 1);
  std::uniform_int_distribution<int> device(0, kDevices - 1);
  std::uniform_int_distribution<int> metric(0, kMetricCount - 1);
  std::vector<std::string> topics;
  topics.reserve(count);
  for (size_t i = 0; i < count; ++i)
    topics.push_back(device_topic(site(rng), device(rng), metric(rng)));
  return topics;
}

void fill_tree(TopicTree* tree, const std::vector<std::string>& filters) {
  for (size_t i = 0; i < filters.size(); ++i) {
    Subscriber s;
    s.session = fake_session(i);
    s.options = static_cast<uint8_t>(i % 2);
    tree->subscribe(filters[i], s);
  }
}

void BM_TopicTreeMatch(benchmark::State& state) {
  const auto subscriptions = static_cast<size_t>(state.range(0));
  TopicTree tree;
  fill_tree(&tree, make_filters(subscriptions, 1));
  const std::vector<std::string> topics = make_topics(4096, 2);
  size_t i = 0;
  uint64_t matches = 0;
  for (auto _ : state) {
    tree.match(topics[i++ & 4095], [&](const Subscriber& s) {
      ++matches;
      benchmark::DoNotOptimize(s.session);
    });
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["matches_per_topic"] =
      benchmark::Counter(static_cast<double>(matches) / static_cast<double>(state.iterations()));
  state.counters["subscriptions"] = static_cast<double>(tree.subscription_count());
}

// A topic outside every filter's first levels: the cost of a miss.
void BM_TopicTreeMatchMiss(benchmark::State& state) {
  TopicTree tree;
  fill_tree(&tree, make_filters(static_cast<size_t>(state.range(0)), 1));
  uint64_t matches = 0;
  for (auto _ : state) {
    tree.match("logs/host-17/kernel/warning", [&](const Subscriber&) { ++matches; });
  }
  benchmark::DoNotOptimize(matches);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// One subscribe and one unsubscribe per iteration on a tree holding 100,000 other
// subscriptions: the cost of clients coming and going.
void BM_TopicTreeSubscribeUnsubscribe(benchmark::State& state) {
  TopicTree tree;
  fill_tree(&tree, make_filters(static_cast<size_t>(state.range(0)), 1));
  const std::vector<std::string> churn = make_filters(8192, 3);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& f = churn[i & 8191];
    Subscriber s;
    s.session = fake_session(1'000'000'000 + i);
    tree.subscribe(f, s);
    bool removed = tree.unsubscribe(f, s);
    benchmark::DoNotOptimize(removed);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Building a tree of 100,000 subscriptions from scratch (per subscription).
void BM_TopicTreeBuild(benchmark::State& state) {
  const std::vector<std::string> filters = make_filters(static_cast<size_t>(state.range(0)), 1);
  for (auto _ : state) {
    TopicTree tree;
    fill_tree(&tree, filters);
    benchmark::DoNotOptimize(tree.subscription_count());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * filters.size()));
}

// The fanin_with_100k_subs scenario's tree: the fan-in subscription bench/fanin/+/data plus
// N others sharing its first levels (bench/fanin_filters.h), matching bench/fanin/P/data.
// Arg 0 against Arg 100000 is the "cost flat in unrelated work" target without sockets.
void BM_TopicTreeFanInMatch(benchmark::State& state) {
  TopicTree tree;
  Subscriber fan_in;
  fan_in.session = fake_session(1'000'000'000);
  tree.subscribe("bench/fanin/+/data", fan_in);
  const auto others = static_cast<size_t>(state.range(0));
  for (size_t c = 0; c * 1000 < others; ++c) {
    fill_tree(&tree, bench::non_matching_filters(c, std::min<size_t>(1000, others - c * 1000)));
  }
  std::vector<std::string> topics;
  for (int p = 0; p < 10; ++p) topics.push_back("bench/fanin/" + std::to_string(p) + "/data");
  size_t i = 0;
  uint64_t matches = 0;
  for (auto _ : state) {
    tree.match(topics[i++ % 10], [&](const Subscriber& s) {
      ++matches;
      benchmark::DoNotOptimize(s.session);
    });
  }
  if (matches != static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("a topic did not match exactly once");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["subscriptions"] = static_cast<double>(tree.subscription_count());
}

BENCHMARK(BM_TopicTreeMatch)->Arg(1000)->Arg(100000);
BENCHMARK(BM_TopicTreeFanInMatch)->Arg(0)->Arg(100000);
BENCHMARK(BM_TopicTreeMatchMiss)->Arg(100000);
BENCHMARK(BM_TopicTreeSubscribeUnsubscribe)->Arg(100000);
BENCHMARK(BM_TopicTreeBuild)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace topicdb::broker
