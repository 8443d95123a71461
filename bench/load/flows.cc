#include "bench/load/flows.h"

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "bench/fanin_filters.h"

namespace topicdb::bench {
namespace {

// CPUs and does not compete with publishing).
class Subscribers {
 public:
  virtual ~Subscribers() = default;
  // Connects and subscribes every subscriber (SUBACK received); false and *error on failure.
  virtual bool start(std::string* error) = 0;
  virtual uint64_t total_received() const = 0;
  virtual uint64_t slowest_received() const = 0;
  virtual int64_t last_delivery_ns() const = 0;
  virtual bool failed() = 0;
  // Marks the start of the measured phase (for the workers' CPU accounting).
  virtual void measure() {}
  // Disconnects the subscribers. Returns the CPU seconds worker processes used while
  // measured (0 when the subscribers run in this process).
  virtual double finish() = 0;
};

class LocalSubscribers : public Subscribers {
 public:
  LocalSubscribers(Run& run, const FlowSpec& spec) : run_(run), spec_(spec) {}

  bool start(std::string* error) override {
    subs_ = run_.make_clients("sub", static_cast<size_t>(spec_.subscribers));
    for (auto& s : subs_) {
      s->on_message = [this](const mosquitto_message&) { last_delivery_ns_ = now_ns(); };
    }
    return run_.connect_all(subs_, error) &&
           run_.subscribe_all(subs_, {{spec_.filter}}, spec_.qos, error);
  }
  uint64_t total_received() const override {
    uint64_t n = 0;
    for (const auto& s : subs_) n += s->received();
    return n;
  }
  uint64_t slowest_received() const override {
    uint64_t n = UINT64_MAX;
    for (const auto& s : subs_) n = std::min(n, s->received());
    return n;
  }
  int64_t last_delivery_ns() const override { return last_delivery_ns_; }
  bool failed() override {
    for (const auto& s : subs_) {
      if (s->failed()) return true;
    }
    return false;
  }
  double finish() override {
    run_.disconnect_all(subs_);
    return 0;
  }

 private:
  Run& run_;
  const FlowSpec& spec_;
  ClientList subs_;
  int64_t last_delivery_ns_ = 0;
};

class WorkerSubscribers : public Subscribers {
 public:
  WorkerSubscribers(Run& run, const FlowSpec& spec, int procs)
      : run_(run), spec_(spec), procs_(std::min(procs, spec.subscribers)) {}
  ~WorkerSubscribers() override {
    if (shared_ != nullptr) finish();
  }

  bool start(std::string* error) override {
    const auto subs = static_cast<size_t>(spec_.subscribers);
    const auto procs = static_cast<size_t>(procs_);
    size_ = sizeof(Header) + procs * sizeof(Slot) + subs * sizeof(std::atomic<uint64_t>);
    void* mem = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      *error = "mmap failed";
      return false;
    }
    shared_ = new (mem) Header();
    slots_ = reinterpret_cast<Slot*>(static_cast<char*>(mem) + sizeof(Header));
    for (size_t k = 0; k < procs; ++k) new (&slots_[k]) Slot();
    received_ = reinterpret_cast<std::atomic<uint64_t>*>(reinterpret_cast<char*>(slots_) +
                                                         procs * sizeof(Slot));
    for (size_t i = 0; i < subs; ++i) new (&received_[i]) std::atomic<uint64_t>(0);

    std::fflush(nullptr);
    for (int k = 0; k < procs_; ++k) {
      pid_t pid = fork();
      if (pid == 0) worker(k);
      if (pid < 0) {
        *error = "fork failed";
        shared_->stop.store(1);
        return false;
      }
      pids_.push_back(pid);
    }
    const int64_t deadline = run_.deadline();
    while (shared_->ready.load() < subs && now_ns() < deadline && !failed()) usleep(1000);
    if (shared_->failures.load() > 0 || failed()) {
      *error = "a subscriber could not connect or subscribe";
      return false;
    }
    if (shared_->ready.load() < subs) {
      *error = "timeout waiting for the subscribers";
      return false;
    }
    return true;
  }
  void measure() override { shared_->measuring.store(1); }
  uint64_t total_received() const override {
    uint64_t n = 0;
    for (int i = 0; i < spec_.subscribers; ++i) n += received_[i].load(std::memory_order_relaxed);
    return n;
  }
  uint64_t slowest_received() const override {
    uint64_t n = UINT64_MAX;
    for (int i = 0; i < spec_.subscribers; ++i) {
      n = std::min(n, received_[i].load(std::memory_order_relaxed));
    }
    return n;
  }
  int64_t last_delivery_ns() const override {
    int64_t t = 0;
    for (int k = 0; k < procs_; ++k) t = std::max(t, slots_[k].last_delivery_ns.load());
    return t;
  }
  bool failed() override {
    if (shared_->failures.load() > 0) return true;
    int64_t now = now_ns();
    if (now < next_child_check_ns_) return false;
    next_child_check_ns_ = now + 100'000'000;
    for (pid_t pid : pids_) {
      if (pid > 0 && waitpid(pid, nullptr, WNOHANG) == pid) return true;  // died early
    }
    return false;
  }
  double finish() override {
    if (shared_ == nullptr) return 0;
    shared_->stop.store(1);
    const int64_t deadline = now_ns() + 15 * kNsPerSecond;
    for (pid_t pid : pids_) {
      while (waitpid(pid, nullptr, WNOHANG) == 0) {
        if (now_ns() > deadline) {
          kill(pid, SIGKILL);
          waitpid(pid, nullptr, 0);
          break;
        }
        usleep(2000);
      }
    }
    double cpu = 0;
    for (int k = 0; k < procs_; ++k) cpu += static_cast<double>(slots_[k].cpu_us.load()) / 1e6;
    munmap(shared_, size_);
    shared_ = nullptr;
    pids_.clear();
    return cpu;
  }

 private:
  struct Header {
    std::atomic<uint64_t> ready{0};     // subscribers with their SUBACK
    std::atomic<uint64_t> failures{0};  // workers that failed
    std::atomic<int> measuring{0};      // parent: the measured phase has begun
    std::atomic<int> stop{0};           // parent: disconnect and exit
  };
  struct Slot {  // one per worker
    std::atomic<int64_t> last_delivery_ns{0};
    std::atomic<int64_t> cpu_us{0};  // CPU used from `measuring` to `stop`
  };

  [[noreturn]] void worker(int k) {
    // Nothing of the parent's (its clients' sockets, its epoll set) stays open here.
    close_range(3, ~0U, 0);
    {
      Run run(run_.options());
      ClientList subs;
      std::vector<size_t> index;
      for (int i = k; i < spec_.subscribers; i += procs_) {
        subs.push_back(run.make_client("sub"));
        index.push_back(static_cast<size_t>(i));
      }
      Slot& slot = slots_[k];
      for (size_t j = 0; j < subs.size(); ++j) {
        Client* c = subs[j].get();
        std::atomic<uint64_t>* counter = &received_[index[j]];
        c->on_message = [c, counter, &slot](const mosquitto_message&) {
          counter->store(c->received(), std::memory_order_relaxed);
          slot.last_delivery_ns.store(now_ns(), std::memory_order_relaxed);
        };
      }
      std::string error;
      bool ok = run.connect_all(subs, &error) &&
                run.subscribe_all(subs, {{spec_.filter}}, spec_.qos, &error);
      if (!ok) {
        std::fprintf(stderr, "topicdb_load: subscriber worker: %s\n", error.c_str());
        shared_->failures.fetch_add(1);
      }
      shared_->ready.fetch_add(subs.size());
      double cpu_start = -1;
      bool reported_failure = !ok;
      auto done = [&] {
        if (cpu_start < 0 && shared_->measuring.load() != 0) cpu_start = self_cpu_seconds();
        if (!reported_failure) {
          for (const auto& c : subs) {
            if (c->failed()) {
              reported_failure = true;
              shared_->failures.fetch_add(1);
              break;
            }
          }
        }
        return shared_->stop.load() != 0;
      };
      // The parent always sets stop; the deadline only guards against its death.
      const int64_t deadline =
          now_ns() + static_cast<int64_t>((3 * run_.options().timeout_s + 60) * kNsPerSecond);
      run.loop().run_until(deadline, done, [] { return int64_t{10'000'000}; });
      if (cpu_start >= 0) {
        slot.cpu_us.store(static_cast<int64_t>((self_cpu_seconds() - cpu_start) * 1e6));
      }
      run.disconnect_all(subs);
    }
    std::fflush(nullptr);
    _exit(0);
  }

  Run& run_;
  const FlowSpec& spec_;
  int procs_;
  size_t size_ = 0;
  Header* shared_ = nullptr;
  Slot* slots_ = nullptr;
  std::atomic<uint64_t>* received_ = nullptr;
  std::vector<pid_t> pids_;
  int64_t next_child_check_ns_ = 0;
};

}  // namespace

FlowOutcome run_flow(Run& run, const FlowSpec& spec) {
  FlowOutcome out;
  out.expected = spec.messages * static_cast<uint64_t>(spec.subscribers);
  const Options& o = run.options();

  std::unique_ptr<Subscribers> subs;
  if (o.sub_procs > 0) {
    subs = std::make_unique<WorkerSubscribers>(run, spec, o.sub_procs);
  } else {
    subs = std::make_unique<LocalSubscribers>(run, spec);
  }
  ClientList pubs = run.make_clients("pub", static_cast<size_t>(spec.publishers));
  // Subscribers are connected and subscribed (SUBACK) before anything is published.
  if (!subs->start(&out.error) || !run.connect_all(pubs, &out.error)) {
    out.status = "error";
    run.disconnect_all(pubs);
    subs->finish();
    return out;
  }

  std::vector<std::string> topics;
  std::vector<uint64_t> quota;
  std::vector<uint64_t> sent(pubs.size(), 0);
  for (int i = 0; i < spec.publishers; ++i) {
    topics.push_back(spec.prefix + "/" + std::to_string(i) + "/data");
    uint64_t share = spec.messages / static_cast<uint64_t>(spec.publishers);
    if (static_cast<uint64_t>(i) < spec.messages % static_cast<uint64_t>(spec.publishers)) {
      ++share;
    }
    quota.push_back(share);
  }
  std::vector<unsigned char> payload(static_cast<size_t>(o.payload), 'x');
  const auto send_maximum = static_cast<uint64_t>(Client::Settings{}.send_maximum);

  uint64_t total_sent = 0;
  CpuMeter cpu(o.broker_pid);
  cpu.start();
  subs->measure();
  const int64_t start_ns = now_ns();
  int64_t last_progress_ns = start_ns;
  uint64_t last_seen = 0;
  bool stalled = false;
  bool failed = false;

  auto step = [&]() -> int64_t {
    // End-to-end window: publishers stay at most `window` messages ahead of the slowest
    // subscriber, so the broker's queues stay small and a QoS 0 loss is the broker's.
    uint64_t slowest = subs->slowest_received();
    bool more_now = false;
    for (size_t p = 0; p < pubs.size(); ++p) {
      Client& c = *pubs[p];
      if (c.failed()) failed = true;
      int batch = 0;
      while (sent[p] < quota[p] && batch < kPublishBatch &&
             total_sent - slowest < static_cast<uint64_t>(o.window)) {
        bool writable = spec.qos == 0 ? !c.want_write() : c.inflight() < send_maximum;
        if (!writable) break;
        fill_payload(&payload, now_ns(), static_cast<uint32_t>(p), static_cast<uint32_t>(sent[p]));
        if (!c.publish(topics[p], payload.data(), o.payload, spec.qos)) {
          failed = true;
          break;
        }
        ++sent[p];
        ++total_sent;
        ++batch;
      }
      if (batch == kPublishBatch) more_now = true;
    }
    uint64_t seen = total_sent + subs->total_received();
    int64_t now = now_ns();
    if (seen != last_seen) {
      last_seen = seen;
      last_progress_ns = now;
    } else if (now - last_progress_ns > static_cast<int64_t>(o.stall_s * kNsPerSecond)) {
      stalled = true;
    }
    if (more_now) return 0;
    // With the subscribers elsewhere nothing here wakes up when they progress: poll soon.
    return o.sub_procs > 0 ? 200'000 : 20'000'000;
  };
  auto done = [&] {
    if (subs->failed()) failed = true;
    return failed || stalled || subs->total_received() >= out.expected;
  };
  bool finished = run.loop().run_until(run.deadline(), done, step);
  cpu.stop();

  out.received = subs->total_received();
  int64_t last = subs->last_delivery_ns();
  int64_t end_ns = last > start_ns ? last : now_ns();
  out.seconds = static_cast<double>(end_ns - start_ns) / kNsPerSecond;
  out.rate = out.seconds > 0 ? static_cast<double>(out.received) / out.seconds : 0;
  out.broker_cpu = cpu.broker_cpu();
  if (failed) {
    out.status = "error";
    out.error = "a connection failed during the run";
  } else if (!finished) {
    out.status = "timeout";
  } else if (stalled) {
    out.status = "stalled";
  } else if (out.lost() > 0) {
    out.status = "lost";
  }
  run.disconnect_all(pubs);
  out.tool_cpu = cpu.self_cpu() + subs->finish();
  return out;
}

// The fields every throughput line has; p50/p99 are added by the caller.
void add_flow_fields(Line* line, const FlowSpec& spec, const FlowOutcome& r,
                     std::optional<uint64_t> lost) {
  line->add("status", r.status);
  line->add("messages", spec.messages);
  line->add("publishers", static_cast<uint64_t>(spec.publishers));
  line->add("subscribers", static_cast<uint64_t>(spec.subscribers));
  line->add("qos", static_cast<uint64_t>(spec.qos));
  line->add("deliveries", r.expected);
  line->add("received", r.received);
  line->add("lost", lost ? *lost : r.lost());
  line->add("seconds", r.seconds, 3);
  line->add("rate", r.rate, 0);
  line->add("broker_cpu_s", r.broker_cpu, 2);
  line->add("broker_cpu_per_1k", per_thousand(r.broker_cpu, r.received), 5);
  line->add("tool_cpu_s", r.tool_cpu, 2);
}

FlowSpec fanin_spec(const Options& o, int qos) {
  FlowSpec spec;
  spec.publishers = 10;
  spec.subscribers = 1;
  spec.qos = qos;
  spec.messages = qos == 0 ? message_count(o, 400'000, 2'000) : message_count(o, 200'000, 1'000);
  spec.prefix = "bench/fanin";
  spec.filter = "bench/fanin/+/data";
  return spec;
}

FlowSpec fanout_spec(const Options& o, int qos) {
  FlowSpec spec;
  spec.publishers = 1;
  spec.subscribers = 50;
  spec.qos = qos;
  spec.messages = qos == 0 ? message_count(o, 10'000, 100) : message_count(o, 5'000, 50);
  spec.prefix = "bench/fanout";
  spec.filter = "bench/fanout/0/data";
  return spec;
}

// A tenth of the run, unmeasured, so that neither broker is measured cold (first
// allocations, page faults, empty caches).
void warm_up(Run& run, const FlowSpec& spec) {
  FlowSpec warm = spec;
  warm.messages = std::max<uint64_t>(1, spec.messages / 10);
  FlowOutcome r = run_flow(run, warm);
  if (r.status != "ok")
    std::fprintf(stderr, "topicdb_load: warm-up: %s %s\n", r.status.c_str(), r.error.c_str());
}

bool flow_scenario(const std::string& name, const Options& o, const FlowSpec& spec) {
  Run run(o);
  warm_up(run, spec);
  FlowOutcome r = run_flow(run, spec);
  Line line(name);
  add_flow_fields(&line, spec, r);
  add_no_latency(&line);
  line.print();
  report_error(name, r.error);
  return r.status == "ok";
}

// --- fan-in with 100,000 other subscriptions ------------------------------------------------

// Two flows of the same spec as one: counts, seconds and CPU add up, the rate is over both.
FlowOutcome combine(const FlowOutcome& a, const FlowOutcome& b) {
  FlowOutcome r = a;
  if (r.status == "ok") r.status = b.status;
  if (r.error.empty()) r.error = b.error;
  r.expected += b.expected;
  r.received += b.received;
  r.seconds += b.seconds;
  r.rate = r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0;
  r.broker_cpu =
      a.broker_cpu && b.broker_cpu ? std::optional(*a.broker_cpu + *b.broker_cpu) : std::nullopt;
  r.tool_cpu += b.tool_cpu;
  return r;
}

// Runs fan-in without the other subscriptions, twice with them, then again without them
// (A B B A): a drift over the scenario's few seconds (caches, the machine's other load)
// weighs on both sides alike instead of on the second one.
bool fanin_with_subs_scenario(const std::string& name, const Options& o) {
  const size_t holders = o.smoke ? 10 : 100;
  const size_t per_holder = o.smoke ? 100 : 1000;
  Run run(o);
  FlowSpec spec = fanin_spec(o, 0);
  warm_up(run, spec);
  FlowOutcome base = run_flow(run, spec);

  ClientList holder_clients = run.make_clients("holder", holders);
  std::vector<std::vector<std::string>> filters;
  for (size_t c = 0; c < holders; ++c) filters.push_back(non_matching_filters(c, per_holder));
  std::string error;
  int64_t setup_start = now_ns();
  bool ok = run.connect_all(holder_clients, &error) &&
            run.subscribe_all(holder_clients, filters, 0, &error);
  double setup_s = static_cast<double>(now_ns() - setup_start) / kNsPerSecond;

  FlowOutcome with;
  if (ok) {
    with = run_flow(run, spec);
    with = combine(with, run_flow(run, spec));
  } else {
    with.status = "error";
    with.error = error;
  }
  // The holders must not have received anything: none of their filters matches.
  uint64_t stray = 0;
  for (const auto& h : holder_clients) stray += h->received();
  // Clean sessions: the broker drops their subscriptions when they disconnect.
  run.disconnect_all(holder_clients);
  base = combine(base, run_flow(run, spec));

  Line line(name);
  FlowOutcome merged = with;
  if (base.status != "ok" && merged.status == "ok") merged.status = base.status;
  if (stray > 0 && merged.status == "ok") merged.status = "error";
  add_flow_fields(&line, spec, merged, base.lost() + with.lost());
  add_no_latency(&line);
  line.add("subscriptions", static_cast<uint64_t>(holders * per_holder));
  line.add("subscribe_seconds", setup_s, 3);
  line.add("rate_no_subs", base.rate, 0);
  line.add("lost_no_subs", base.lost());
  line.add("broker_cpu_per_1k_no_subs", per_thousand(base.broker_cpu, base.received), 5);
  line.add("rate_ratio", base.rate > 0 ? with.rate / base.rate : 0.0, 3);
  line.add("stray_deliveries", stray);
  line.print();
  report_error(name + " (without subscriptions)", base.error);
  report_error(name, with.error);
  if (stray > 0) report_error(name, "holders received messages that match none of their filters");
  return merged.status == "ok" && base.lost() + with.lost() == 0;
}

}  // namespace topicdb::bench
