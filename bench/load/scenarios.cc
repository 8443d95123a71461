#include "bench/load/scenarios.h"

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

#include "bench/load/event_loop.h"
#include "bench/load/proc_stats.h"

namespace topicdb::bench {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int kPayloadHeader = 16;    // send time (8 bytes), publisher (4), sequence (4)
constexpr int kPublishBatch = 64;     // PUBLISHes one publisher sends per loop turn at most
constexpr size_t kConnectBatch = 40;  // handshakes in flight per process (backlog 100)
constexpr size_t kFiltersPerSubscribe = 100;

using ClientList = std::vector<std::unique_ptr<Client>>;

// --- the output line ------------------------------------------------------------------------

class Line {
 public:
  explicit Line(const std::string& scenario) { add("scenario", scenario); }
  void add(const std::string& key, const std::string& value) {
    text_ += text_.empty() ? "" : " ";
    text_ += key + "=" + (value.empty() ? "na" : value);
  }
  void add(const std::string& key, uint64_t value) { add(key, std::to_string(value)); }
  void add(const std::string& key, double value, int precision) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", precision, value);
    add(key, std::string(buf));
  }
  void add(const std::string& key, const std::optional<double>& value, int precision) {
    if (value) {
      add(key, *value, precision);
    } else {
      add(key, std::string("na"));
    }
  }
  void print() const {
    std::printf("%s\n", text_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string text_;
};

// --- shared machinery -----------------------------------------------------------------------

class Run {
 public:
  explicit Run(const Options& options) : options_(options) {
    settings_.protocol = options.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
  }

  const Options& options() const { return options_; }
  EventLoop& loop() { return loop_; }
  int64_t deadline() const {
    return now_ns() + static_cast<int64_t>(options_.timeout_s * kNsPerSecond);
  }

  std::unique_ptr<Client> make_client(const std::string& role) {
    std::string id =
        "tdbload-" + std::to_string(getpid()) + "-" + role + "-" + std::to_string(next_client_++);
    return std::make_unique<Client>(&loop_, std::move(id), settings_);
  }
  ClientList make_clients(const std::string& role, size_t count) {
    ClientList clients;
    clients.reserve(count);
    for (size_t i = 0; i < count; ++i) clients.push_back(make_client(role));
    return clients;
  }

  std::string bind_address(size_t index) const {
    if (options_.source_ips <= 1) return "";
    return "127.0.0." + std::to_string(1 + index % static_cast<size_t>(options_.source_ips));
  }

  // Connects every client, with at most kConnectBatch handshakes in progress at once so the
  // broker's listen backlog never overflows (a dropped SYN costs a one-second retry).
  bool connect_all(ClientList& clients, std::string* error) {
    size_t next = 0;
    size_t head = 0;  // clients before head have their CONNACK
    bool failed = false;
    auto done = [&] {
      while (head < next && clients[head]->connected()) ++head;
      for (size_t i = head; i < next && !failed; ++i) failed = clients[i]->failed();
      return failed || head == clients.size();
    };
    auto step = [&]() -> int64_t {
      while (next < clients.size() && next - head < kConnectBatch) {
        if (!clients[next]->start_connect(options_.host, options_.port, bind_address(next))) {
          failed = true;
          return 0;
        }
        ++next;
      }
      return 50'000'000;
    };
    if (!loop_.run_until(deadline(), done, step)) {
      *error = "timeout connecting (" + std::to_string(head) + " of " +
               std::to_string(clients.size()) + " connected)";
      return false;
    }
    if (failed) {
      *error = "connection refused or closed (" + std::to_string(head) + " of " +
               std::to_string(clients.size()) + " connected)";
      return false;
    }
    return true;
  }

  // Sends each client its filters (kFiltersPerSubscribe per SUBSCRIBE) and waits for every
  // SUBACK.
  bool subscribe_all(ClientList& clients, const std::vector<std::vector<std::string>>& filters,
                     int qos, std::string* error) {
    for (size_t i = 0; i < clients.size(); ++i) {
      const std::vector<std::string>& all = filters[i % filters.size()];
      for (size_t from = 0; from < all.size(); from += kFiltersPerSubscribe) {
        size_t to = std::min(all.size(), from + kFiltersPerSubscribe);
        std::vector<std::string> chunk(all.begin() + static_cast<ptrdiff_t>(from),
                                       all.begin() + static_cast<ptrdiff_t>(to));
        if (!clients[i]->subscribe(chunk, qos)) {
          *error = "SUBSCRIBE could not be sent";
          return false;
        }
      }
    }
    bool failed = false;
    auto done = [&] {
      for (const auto& c : clients) {
        if (c->failed()) failed = true;
        if (c->subacks_pending() > 0 && !failed) return false;
      }
      return true;
    };
    if (!loop_.run_until(deadline(), done)) {
      *error = "timeout waiting for SUBACK";
      return false;
    }
    if (failed) {
      *error = "subscription refused or connection lost";
      return false;
    }
    return true;
  }

  // Sends DISCONNECT on every connection, waits (briefly) for the sockets to close and
  // destroys the clients.
  void disconnect_all(ClientList& clients) {
    for (auto& c : clients) c->disconnect();
    auto done = [&] {
      for (const auto& c : clients) {
        if (!c->closed()) return false;
      }
      return true;
    };
    loop_.run_until(now_ns() + 5 * kNsPerSecond, done);
    clients.clear();
  }

 private:
  const Options& options_;
  Client::Settings settings_;
  EventLoop loop_;
  uint64_t next_client_ = 0;
};

double percentile(std::vector<int64_t>* samples, double p) {
  if (samples->empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(samples->size() - 1));
  std::nth_element(samples->begin(), samples->begin() + static_cast<ptrdiff_t>(k), samples->end());
  return static_cast<double>((*samples)[k]);
}

void fill_payload(std::vector<unsigned char>* payload, int64_t send_ns, uint32_t publisher,
                  uint32_t seq) {
  std::memcpy(payload->data(), &send_ns, 8);
  std::memcpy(payload->data() + 8, &publisher, 4);
  std::memcpy(payload->data() + 12, &seq, 4);
}

int64_t payload_send_ns(const mosquitto_message& m) {
  int64_t ns = 0;
  if (m.payloadlen >= kPayloadHeader) std::memcpy(&ns, m.payload, 8);
  return ns;
}

uint32_t payload_seq(const mosquitto_message& m) {
  uint32_t seq = 0;
  if (m.payloadlen >= kPayloadHeader) std::memcpy(&seq, static_cast<char*>(m.payload) + 12, 4);
  return seq;
}

std::optional<double> cpu_delta(const std::optional<double>& before,
                                const std::optional<double>& after) {
  if (!before || !after) return std::nullopt;
  return *after - *before;
}

std::optional<double> per_thousand(const std::optional<double>& cpu, uint64_t count) {
  if (!cpu || count == 0) return std::nullopt;
  return *cpu * 1000.0 / static_cast<double>(count);
}

// Measures broker and tool CPU over one measured phase.
class CpuMeter {
 public:
  explicit CpuMeter(pid_t broker) : broker_(broker) {}
  void start() {
    broker_before_ = process_cpu_seconds(broker_);
    self_before_ = self_cpu_seconds();
  }
  void stop() {
    broker_cpu_ = cpu_delta(broker_before_, process_cpu_seconds(broker_));
    self_cpu_ = self_cpu_seconds() - self_before_;
  }
  const std::optional<double>& broker_cpu() const { return broker_cpu_; }
  double self_cpu() const { return self_cpu_; }

 private:
  pid_t broker_;
  std::optional<double> broker_before_;
  double self_before_ = 0;
  std::optional<double> broker_cpu_;
  double self_cpu_ = 0;
};

// --- publish/subscribe flows (fan-in, fan-out) ----------------------------------------------

struct FlowSpec {
  int publishers = 1;
  int subscribers = 1;
  uint64_t messages = 0;  // published in all
  int qos = 0;
  std::string prefix;  // publisher i publishes to PREFIX/i/data
  std::string filter;  // what every subscriber subscribes to: matches every publisher
};

struct FlowOutcome {
  std::string status = "ok";  // ok, lost, stalled, timeout, error
  std::string error;
  uint64_t expected = 0;  // deliveries: messages x subscribers
  uint64_t received = 0;
  double seconds = 0;  // from the first publish to the last delivery
  double rate = 0;     // deliveries per second
  std::optional<double> broker_cpu;
  double tool_cpu = 0;
  uint64_t lost() const { return expected > received ? expected - received : 0; }
};

// Where a flow's subscribers run: in this process's loop, or in worker processes that
// report through shared memory (so receiving, the load tool's costliest part, gets its own
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
                     std::optional<uint64_t> lost = std::nullopt) {
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

void add_no_latency(Line* line) {
  line->add("p50_us", std::string("na"));
  line->add("p99_us", std::string("na"));
}

void report_error(const std::string& scenario, const std::string& error) {
  if (!error.empty())
    std::fprintf(stderr, "topicdb_load: %s: %s\n", scenario.c_str(), error.c_str());
}

uint64_t message_count(const Options& o, uint64_t full, uint64_t smoke) {
  if (o.messages > 0) return static_cast<uint64_t>(o.messages);
  return o.smoke ? smoke : full;
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

// Filters that share first levels with the fan-in topics bench/fanin/P/data (P = 0..9) and
// include '+' and '#', none of which matches any of those topics.
std::vector<std::string> non_matching_filters(size_t connection, size_t count) {
  std::vector<std::string> filters;
  filters.reserve(count);
  for (size_t k = 0; k < count; ++k) {
    std::string tag = "c" + std::to_string(connection) + "k" + std::to_string(k);
    std::string p = std::to_string((connection * count + k) % 10);
    switch (k % 10) {
      case 0:
        filters.push_back("bench/fanin/" + p + "/data/" + tag);
        break;
      case 1:
        filters.push_back("bench/fanin/" + p + "/" + tag);
        break;
      case 2:
        filters.push_back("bench/fanin/" + tag + "/data");
        break;
      case 3:
        filters.push_back("bench/fanin/+/" + tag);
        break;
      case 4:
        filters.push_back("bench/fanin/+/data/" + tag);
        break;
      case 5:
        filters.push_back("bench/+/" + tag + "/data");
        break;
      case 6:
        filters.push_back("bench/fanin/" + tag + "/#");
        break;
      case 7:
        filters.push_back("bench/" + tag + "/#");
        break;
      case 8:
        filters.push_back("+/" + tag + "/+/data");
        break;
      default:
        filters.push_back("bench/fanin/" + p + "/data/" + tag + "/#");
        break;
    }
  }
  return filters;
}

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
  } else {
    with.status = "error";
    with.error = error;
  }
  // The holders must not have received anything: none of their filters matches.
  uint64_t stray = 0;
  for (const auto& h : holder_clients) stray += h->received();
  run.disconnect_all(holder_clients);

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

// --- latency --------------------------------------------------------------------------------

bool latency_scenario(const std::string& name, const Options& o) {
  const int64_t per_second = o.smoke ? 1000 : 5000;
  const double duration_s = o.smoke ? 1.0 : 5.0;
  const auto total = static_cast<uint64_t>(static_cast<double>(per_second) * duration_s);
  const uint64_t warmup = total / 50;  // the first 2% are not sampled
  const int64_t interval_ns = kNsPerSecond / per_second;
  Run run(o);
  Line line(name);
  std::string error;

  ClientList subs = run.make_clients("sub", 1);
  ClientList pubs = run.make_clients("pub", 1);
  std::vector<int64_t> samples;
  samples.reserve(total);
  int64_t last_delivery_ns = 0;
  subs[0]->on_message = [&](const mosquitto_message& m) {
    last_delivery_ns = now_ns();
    if (payload_seq(m) >= warmup) samples.push_back(last_delivery_ns - payload_send_ns(m));
  };
  const std::string topic = "bench/latency/0/data";
  bool ok = run.connect_all(subs, &error) && run.subscribe_all(subs, {{topic}}, 0, &error) &&
            run.connect_all(pubs, &error);
  FlowOutcome r;
  r.expected = total;
  if (ok) {
    std::vector<unsigned char> payload(static_cast<size_t>(o.payload), 'x');
    Client& pub = *pubs[0];
    uint64_t sent = 0;
    bool failed = false;
    bool stalled = false;
    CpuMeter cpu(o.broker_pid);
    cpu.start();
    const int64_t start_ns = now_ns();
    auto step = [&]() -> int64_t {
      int64_t now = now_ns();
      while (sent < total && start_ns + static_cast<int64_t>(sent) * interval_ns <= now &&
             !pub.want_write()) {
        fill_payload(&payload, now_ns(), 0, static_cast<uint32_t>(sent));
        if (!pub.publish(topic, payload.data(), o.payload, 0)) {
          failed = true;
          break;
        }
        ++sent;
      }
      if (pub.want_write()) return 20'000'000;  // EPOLLOUT wakes the loop
      if (sent == total) {
        int64_t quiet = now - std::max(last_delivery_ns, start_ns);
        if (quiet > static_cast<int64_t>(o.stall_s * kNsPerSecond)) stalled = true;
        return 20'000'000;
      }
      return std::max<int64_t>(0, start_ns + static_cast<int64_t>(sent) * interval_ns - now);
    };
    auto done = [&] {
      return failed || stalled || subs[0]->received() >= total || subs[0]->failed();
    };
    bool finished = run.loop().run_until(run.deadline(), done, step);
    cpu.stop();
    r.received = subs[0]->received();
    int64_t end_ns = last_delivery_ns > start_ns ? last_delivery_ns : now_ns();
    r.seconds = static_cast<double>(end_ns - start_ns) / kNsPerSecond;
    r.rate = r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0;
    r.broker_cpu = cpu.broker_cpu();
    r.tool_cpu = cpu.self_cpu();
    if (failed || subs[0]->failed()) {
      r.status = "error";
    } else if (!finished) {
      r.status = "timeout";
    } else if (stalled) {
      r.status = "stalled";
    } else if (r.lost() > 0) {
      r.status = "lost";
    }
  } else {
    r.status = "error";
  }
  run.disconnect_all(pubs);
  run.disconnect_all(subs);

  FlowSpec spec;
  spec.messages = total;
  add_flow_fields(&line, spec, r);
  line.add("p50_us", percentile(&samples, 0.50) / 1000.0, 1);
  line.add("p99_us", percentile(&samples, 0.99) / 1000.0, 1);
  line.add("max_us", percentile(&samples, 1.0) / 1000.0, 1);
  line.add("target_rate", static_cast<uint64_t>(per_second));
  line.print();
  report_error(name, error);
  return r.status == "ok";
}

// --- connect rate ---------------------------------------------------------------------------

bool connect_rate_scenario(const std::string& name, const Options& o) {
  const uint64_t total = o.smoke ? 50 : 2000;
  Run run(o);
  std::vector<int64_t> latencies;
  latencies.reserve(total);
  uint64_t failures = 0;
  bool timed_out = false;
  CpuMeter cpu(o.broker_pid);
  cpu.start();
  const int64_t start_ns = now_ns();
  const int64_t deadline = run.deadline();
  for (uint64_t i = 0; i < total; ++i) {
    if (now_ns() > deadline) {
      timed_out = true;
      failures += total - i;
      break;
    }
    std::unique_ptr<Client> c = run.make_client("conn");
    if (!c->start_connect(o.host, o.port, run.bind_address(i))) {
      ++failures;
      continue;
    }
    int64_t limit = std::min(deadline, now_ns() + 10 * kNsPerSecond);
    run.loop().run_until(limit, [&] { return c->connected() || c->failed(); });
    if (!c->connected()) {
      ++failures;
      continue;
    }
    latencies.push_back(c->connack_ns() - c->connect_started_ns());
    c->disconnect();
    run.loop().run_until(now_ns() + 2 * kNsPerSecond, [&] { return c->closed(); });
  }
  const double seconds = static_cast<double>(now_ns() - start_ns) / kNsPerSecond;
  cpu.stop();
  const uint64_t ok = total - failures;

  Line line(name);
  line.add("status", timed_out ? "timeout" : failures > 0 ? "lost" : "ok");
  line.add("messages", total);
  line.add("connects", total);
  line.add("received", ok);
  line.add("lost", failures);
  line.add("seconds", seconds, 3);
  line.add("rate", seconds > 0 ? static_cast<double>(ok) / seconds : 0.0, 0);
  line.add("broker_cpu_s", cpu.broker_cpu(), 2);
  line.add("broker_cpu_per_1k", per_thousand(cpu.broker_cpu(), ok), 5);
  line.add("tool_cpu_s", cpu.self_cpu(), 2);
  line.add("p50_us", percentile(&latencies, 0.50) / 1000.0, 1);
  line.add("p99_us", percentile(&latencies, 0.99) / 1000.0, 1);
  line.print();
  return failures == 0 && !timed_out;
}

// --- idle memory ----------------------------------------------------------------------------

// A libmosquitto client holds three descriptors (its socket and a socket pair of the
// library's). When the open-files limit cannot be raised far enough, idle_memory spreads
// its connections over worker processes.
size_t clients_per_process() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1000;
  rlim_t usable = limit.rlim_cur > 200 ? limit.rlim_cur - 100 : 100;
  return std::clamp<size_t>(static_cast<size_t>(usable / 3), 1, 5000);
}

// Runs in a worker process: connects `count` idle clients, writes {connected, ok} to
// report_fd, waits until wait_fd reaches end of file (the parent closed it or died), then
// disconnects them and exits.
[[noreturn]] void idle_worker(const Options& o, size_t count, int report_fd, int wait_fd) {
  {
    Run run(o);
    ClientList clients = run.make_clients("idle", count);
    std::string error;
    bool ok = run.connect_all(clients, &error);
    uint64_t report[2] = {0, ok ? 1u : 0u};
    for (const auto& c : clients) report[0] += c->connected() ? 1 : 0;
    if (!ok) std::fprintf(stderr, "topicdb_load: idle_memory worker: %s\n", error.c_str());
    ssize_t written = write(report_fd, report, sizeof(report));
    (void)written;
    char byte;
    while (read(wait_fd, &byte, 1) < 0 && errno == EINTR) {
    }
    run.disconnect_all(clients);
  }
  std::fflush(stderr);
  _exit(0);
}

struct IdleWorker {
  pid_t pid = -1;
  int report_fd = -1;  // read end: the worker's {connected, ok}
  int wait_fd = -1;    // write end: closing it releases the worker
  bool reported = false;
  uint64_t connected = 0;
  bool ok = false;
};

bool idle_memory_scenario(const std::string& name, const Options& o) {
  const auto total = static_cast<size_t>(o.connections > 0 ? o.connections : o.smoke ? 200 : 10000);
  const size_t per_worker = clients_per_process();
  std::string error;
  std::optional<long> rss_before = process_rss_kib(o.broker_pid);
  CpuMeter cpu(o.broker_pid);
  cpu.start();
  const int64_t start_ns = now_ns();

  std::vector<IdleWorker> workers;
  std::vector<int> parent_fds;  // closed in every later worker
  std::fflush(nullptr);
  for (size_t from = 0; from < total; from += per_worker) {
    size_t count = std::min(per_worker, total - from);
    int report[2];
    int release[2];
    if (pipe(report) != 0) break;
    if (pipe(release) != 0) {
      close(report[0]);
      close(report[1]);
      break;
    }
    pid_t pid = fork();
    if (pid == 0) {
      for (int fd : parent_fds) close(fd);
      close(report[0]);
      close(release[1]);
      idle_worker(o, count, report[1], release[0]);
    }
    close(report[1]);
    close(release[0]);
    if (pid < 0) {
      close(report[0]);
      close(release[1]);
      error = "fork failed";
      break;
    }
    IdleWorker w;
    w.pid = pid;
    w.report_fd = report[0];
    w.wait_fd = release[1];
    parent_fds.push_back(w.report_fd);
    parent_fds.push_back(w.wait_fd);
    workers.push_back(w);
  }

  // Collect the reports.
  const int64_t deadline = now_ns() + static_cast<int64_t>(o.timeout_s * kNsPerSecond);
  size_t pending = workers.size();
  while (pending > 0 && now_ns() < deadline) {
    std::vector<pollfd> fds;
    std::vector<IdleWorker*> owners;
    for (IdleWorker& w : workers) {
      if (w.reported) continue;
      fds.push_back(pollfd{w.report_fd, POLLIN, 0});
      owners.push_back(&w);
    }
    int n = ::poll(fds.data(), fds.size(), 100);
    if (n <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      uint64_t report[2] = {0, 0};
      ssize_t got = read(fds[i].fd, report, sizeof(report));
      owners[i]->reported = true;
      --pending;
      if (got == static_cast<ssize_t>(sizeof(report))) {
        owners[i]->connected = report[0];
        owners[i]->ok = report[1] != 0;
      }
    }
  }
  const double seconds = static_cast<double>(now_ns() - start_ns) / kNsPerSecond;
  cpu.stop();
  uint64_t connected = 0;
  bool ok = pending == 0 && workers.size() * per_worker >= total;
  for (const IdleWorker& w : workers) {
    connected += w.connected;
    ok = ok && w.ok;
  }
  if (pending > 0 && error.empty()) error = "timeout waiting for the connections";
  // Let the broker finish whatever follows the CONNACKs before reading its memory.
  usleep(500'000);
  std::optional<long> rss_after = process_rss_kib(o.broker_pid);

  // Release the workers: they disconnect and exit.
  for (IdleWorker& w : workers) {
    close(w.wait_fd);
    close(w.report_fd);
  }
  const int64_t reap_deadline = now_ns() + 15 * kNsPerSecond;
  for (IdleWorker& w : workers) {
    while (waitpid(w.pid, nullptr, WNOHANG) == 0) {
      if (now_ns() > reap_deadline) {
        kill(w.pid, SIGKILL);
        waitpid(w.pid, nullptr, 0);
        break;
      }
      usleep(10'000);
    }
  }

  Line line(name);
  line.add("status", ok ? "ok" : "error");
  line.add("messages", static_cast<uint64_t>(total));
  line.add("connections", static_cast<uint64_t>(total));
  line.add("received", connected);
  line.add("lost", static_cast<uint64_t>(total) - std::min<uint64_t>(connected, total));
  line.add("seconds", seconds, 3);
  line.add("rate", seconds > 0 ? static_cast<double>(connected) / seconds : 0.0, 0);
  line.add("broker_cpu_s", cpu.broker_cpu(), 2);
  line.add("broker_cpu_per_1k", per_thousand(cpu.broker_cpu(), connected), 5);
  line.add("tool_cpu_s", std::string("na"));  // spent in the worker processes
  add_no_latency(&line);
  if (rss_before && rss_after) {
    line.add("rss_before_kib", static_cast<uint64_t>(*rss_before));
    line.add("rss_after_kib", static_cast<uint64_t>(*rss_after));
    double per_conn = connected > 0 ? static_cast<double>(*rss_after - *rss_before) * 1024.0 /
                                          static_cast<double>(connected)
                                    : 0.0;
    line.add("bytes_per_conn", per_conn, 0);
  } else {
    line.add("rss_before_kib", std::string("na"));
    line.add("rss_after_kib", std::string("na"));
    line.add("bytes_per_conn", std::string("na"));
  }
  line.add("worker_processes", static_cast<uint64_t>(workers.size()));
  line.print();
  report_error(name, error);
  return ok;
}

}  // namespace

const std::vector<std::string>& scenario_names() {
  static const std::vector<std::string> kNames = {
      "fanin_qos0", "fanin_qos1",   "fanout_qos0", "fanout_qos1",
      "latency",    "connect_rate", "idle_memory", "fanin_with_100k_subs"};
  return kNames;
}

bool run_scenario(const std::string& name, const Options& o) {
  if (name == "fanin_qos0") return flow_scenario(name, o, fanin_spec(o, 0));
  if (name == "fanin_qos1") return flow_scenario(name, o, fanin_spec(o, 1));
  if (name == "fanout_qos0") return flow_scenario(name, o, fanout_spec(o, 0));
  if (name == "fanout_qos1") return flow_scenario(name, o, fanout_spec(o, 1));
  if (name == "latency") return latency_scenario(name, o);
  if (name == "connect_rate") return connect_rate_scenario(name, o);
  if (name == "idle_memory") return idle_memory_scenario(name, o);
  if (name == "fanin_with_100k_subs") return fanin_with_subs_scenario(name, o);
  std::fprintf(stderr, "topicdb_load: unknown scenario '%s'\n", name.c_str());
  return false;
}

}  // namespace topicdb::bench
