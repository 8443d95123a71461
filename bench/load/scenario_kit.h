// Shared machinery of the topicdb_load scenarios: the output line, the client run, payload
// stamps, CPU meters and the types that describe a publish/subscribe flow.
#pragma once

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

#include "bench/load/scenarios.h"

namespace topicdb::bench {

inline constexpr int64_t kNsPerSecond = 1'000'000'000;
inline constexpr int kPayloadHeader = 16;    // send time (8 bytes), publisher (4), sequence (4)
inline constexpr int kPublishBatch = 64;     // PUBLISHes one publisher sends per loop turn at most
inline constexpr size_t kConnectBatch = 40;  // handshakes in flight per process (backlog 100)
inline constexpr size_t kFiltersPerSubscribe = 100;

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

inline double percentile(std::vector<int64_t>* samples, double p) {
  if (samples->empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(samples->size() - 1));
  std::nth_element(samples->begin(), samples->begin() + static_cast<ptrdiff_t>(k), samples->end());
  return static_cast<double>((*samples)[k]);
}

inline void fill_payload(std::vector<unsigned char>* payload, int64_t send_ns, uint32_t publisher,
                         uint32_t seq) {
  std::memcpy(payload->data(), &send_ns, 8);
  std::memcpy(payload->data() + 8, &publisher, 4);
  std::memcpy(payload->data() + 12, &seq, 4);
}

inline int64_t payload_send_ns(const mosquitto_message& m) {
  int64_t ns = 0;
  if (m.payloadlen >= kPayloadHeader) std::memcpy(&ns, m.payload, 8);
  return ns;
}

inline uint32_t payload_seq(const mosquitto_message& m) {
  uint32_t seq = 0;
  if (m.payloadlen >= kPayloadHeader) std::memcpy(&seq, static_cast<char*>(m.payload) + 12, 4);
  return seq;
}

inline std::optional<double> cpu_delta(const std::optional<double>& before,
                                       const std::optional<double>& after) {
  if (!before || !after) return std::nullopt;
  return *after - *before;
}

inline std::optional<double> per_thousand(const std::optional<double>& cpu, uint64_t count) {
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

inline void add_no_latency(Line* line) {
  line->add("p50_us", std::string("na"));
  line->add("p99_us", std::string("na"));
}

inline void report_error(const std::string& scenario, const std::string& error) {
  if (!error.empty())
    std::fprintf(stderr, "topicdb_load: %s: %s\n", scenario.c_str(), error.c_str());
}

inline uint64_t message_count(const Options& o, uint64_t full, uint64_t smoke) {
  if (o.messages > 0) return static_cast<uint64_t>(o.messages);
  return o.smoke ? smoke : full;
}

}  // namespace topicdb::bench
