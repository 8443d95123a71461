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

#include "bench/load/db_scenarios.h"
#include "bench/load/flows.h"
#include "bench/load/scenario_kit.h"

namespace topicdb::bench {
namespace {

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

const std::vector<std::string>& db_scenario_names() {
  static const std::vector<std::string> kNames = {"db", "db_scale", "db_constraints"};
  return kNames;
}

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
  if (name == "db") return db_scenario(name, o);
  if (name == "db_scale") return db_scale_scenario(name, o);
  if (name == "db_constraints") return db_constraints_scenario(name, o);
  std::fprintf(stderr, "topicdb_load: unknown scenario '%s'\n", name.c_str());
  return false;
}

}  // namespace topicdb::bench
