#include "bench/load/db_scenarios.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/load/scenario_kit.h"

namespace topicdb::bench {
namespace {

constexpr int kClients = 4;
constexpr int kWindow = 256;  // requests in flight per client
constexpr size_t kRecordBytes = 200;
constexpr int kWatchers = 10;
constexpr int kSites = 100;  // the indexed field's distinct values

// Builds request k: its topic and payload.
using MakeRequest = std::function<void(uint64_t k, std::string* topic, std::string* payload)>;

struct PumpOutcome {
  std::string status = "ok";  // ok, errors, stalled, timeout, error
  std::string error;
  uint64_t answered = 0;
  uint64_t failed_answers = 0;  // answers with "status":"error"
  std::string first_failure;
  double seconds = 0;
  double rate = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::optional<double> broker_cpu;
};

// A ~200-byte record with a client-chosen id; "site" takes kSites values (the indexed field).
std::string make_record(const std::string& id, uint64_t k) {
  char head[192];
  int n = std::snprintf(head, sizeof(head),
                        "{\"id\":\"%s\",\"name\":\"user-%06" PRIu64 "\",\"email\":\"user%06" PRIu64
                        "@example.com\",\"site\":\"site-%02d\",\"ts\":%" PRIu64
                        ",\"score\":%d,\"active\":true,\"bio\":\"",
                        id.c_str(), k, k, static_cast<int>(k % kSites),
                        static_cast<uint64_t>(1'700'000'000'000) + k, static_cast<int>(k % 1000));
  std::string record(head, static_cast<size_t>(std::max(n, 0)));
  if (record.size() + 2 < kRecordBytes) record.append(kRecordBytes - record.size() - 2, 'x');
  record += "\"}";
  return record;
}

std::string record_id(uint64_t k) { return "r" + std::to_string(k); }

// Sends `total` requests from `clients` (connected, each subscribed to its reply topic),
// keeping kWindow in flight per client, and waits for every answer.
PumpOutcome run_pump(Run& run, ClientList& clients, const std::vector<std::string>& reply_topics,
                     uint64_t total, const MakeRequest& make) {
  const Options& o = run.options();
  PumpOutcome r;
  std::vector<int64_t> samples;
  samples.reserve(total);
  std::vector<uint64_t> in_flight(clients.size(), 0);
  uint64_t next = 0;
  int64_t last_progress_ns = now_ns();
  for (size_t i = 0; i < clients.size(); ++i) {
    clients[i]->on_reply = [&, i](const mosquitto_message& m, const void* corr, uint16_t len) {
      if (len < 16) return;
      int64_t sent_ns = 0;
      std::memcpy(&sent_ns, corr, 8);
      int64_t now = now_ns();
      samples.push_back(now - sent_ns);
      last_progress_ns = now;
      --in_flight[i];
      ++r.answered;
      std::string_view body(static_cast<const char*>(m.payload), static_cast<size_t>(m.payloadlen));
      if (body.find("\"status\":\"ok\"") == std::string_view::npos) {
        if (r.failed_answers++ == 0) r.first_failure = std::string(body.substr(0, 200));
      }
    };
  }
  bool failed = false;
  std::string topic;
  std::string payload;
  CpuMeter cpu(o.broker_pid);
  cpu.start();
  const int64_t start_ns = now_ns();
  auto step = [&]() -> int64_t {
    for (size_t i = 0; i < clients.size() && next < total; ++i) {
      Client& c = *clients[i];
      int sent_now = 0;
      while (next < total && in_flight[i] < static_cast<uint64_t>(kWindow) &&
             sent_now < kPublishBatch && !c.want_write()) {
        make(next, &topic, &payload);
        unsigned char corr[16];
        int64_t t = now_ns();
        std::memcpy(corr, &t, 8);
        std::memcpy(corr + 8, &next, 8);
        if (!c.publish_request(topic, payload.data(), static_cast<int>(payload.size()), 0,
                               reply_topics[i], corr, sizeof(corr))) {
          failed = true;
          return 0;
        }
        ++in_flight[i];
        ++next;
        ++sent_now;
      }
    }
    return next < total ? 1'000'000 : 20'000'000;
  };
  bool stalled = false;
  auto done = [&] {
    for (const auto& c : clients) failed = failed || c->failed();
    if (now_ns() - last_progress_ns > static_cast<int64_t>(o.stall_s * kNsPerSecond)) {
      stalled = true;
    }
    return failed || stalled || r.answered >= total;
  };
  bool finished = run.loop().run_until(run.deadline(), done, step);
  r.seconds = static_cast<double>(now_ns() - start_ns) / kNsPerSecond;
  cpu.stop();
  r.broker_cpu = cpu.broker_cpu();
  r.rate = r.seconds > 0 ? static_cast<double>(r.answered) / r.seconds : 0;
  r.p50_us = percentile(&samples, 0.50) / 1000.0;
  r.p99_us = percentile(&samples, 0.99) / 1000.0;
  for (auto& c : clients) c->on_reply = nullptr;
  if (failed) {
    r.status = "error";
    r.error = "connection lost or PUBLISH failed";
  } else if (stalled) {
    r.status = "stalled";
  } else if (!finished) {
    r.status = "timeout";
  } else if (r.failed_answers > 0) {
    r.status = "errors";
    r.error = "first error answer: " + r.first_failure;
  }
  return r;
}

void print_pump_line(const std::string& scenario, uint64_t records, const PumpOutcome& r) {
  Line line(scenario);
  line.add("status", r.status);
  line.add("requests", r.answered);
  line.add("error_answers", r.failed_answers);
  line.add("records", records);
  line.add("seconds", r.seconds, 3);
  line.add("rate", r.rate, 0);
  line.add("p50_us", r.p50_us, 0);
  line.add("p99_us", r.p99_us, 0);
  line.add("broker_cpu_per_1k", per_thousand(r.broker_cpu, r.answered), 4);
  line.add("clients", static_cast<uint64_t>(kClients));
  line.add("window", static_cast<uint64_t>(kWindow));
  line.print();
  report_error(scenario, r.error);
}

// Connects `count` MQTT 5 clients, each subscribed to a reply topic of its own.
bool connect_requesters(Run& run, size_t count, ClientList* clients,
                        std::vector<std::string>* reply_topics, std::string* error) {
  *clients = run.make_clients("db", count);
  std::vector<std::vector<std::string>> filters;
  for (const auto& c : *clients) {
    reply_topics->push_back("bench/db/reply/" + c->id());
    filters.push_back({reply_topics->back()});
  }
  return run.connect_all(*clients, error) && run.subscribe_all(*clients, filters, 0, error);
}

// One request, answered before it returns (admin steps between the measured phases).
bool call_once(Run& run, ClientList& clients, const std::vector<std::string>& reply_topics,
               const std::string& topic, const std::string& payload, std::string* error) {
  ClientList one;
  one.push_back(std::move(clients[0]));
  PumpOutcome r =
      run_pump(run, one, {reply_topics[0]}, 1, [&](uint64_t, std::string* t, std::string* p) {
        *t = topic;
        *p = payload;
      });
  clients[0] = std::move(one[0]);
  if (r.status != "ok") *error = topic + ": " + r.status + " " + r.error;
  return r.status == "ok";
}

Options db_options(const Options& o) {
  Options copy = o;
  copy.protocol = 5;
  return copy;
}

uint64_t scaled(const Options& o, uint64_t full, uint64_t smoke) {
  if (o.messages > 0) return std::min<uint64_t>(full, static_cast<uint64_t>(o.messages));
  return o.smoke ? smoke : full;
}

}  // namespace

bool db_scenario(const std::string& /*name*/, const Options& options) {
  const Options o = db_options(options);
  Run run(o);
  std::string error;
  ClientList clients;
  std::vector<std::string> replies;
  if (!connect_requesters(run, kClients, &clients, &replies, &error)) {
    std::printf("scenario=db_create status=error note=connect\n");
    report_error("db", error);
    return false;
  }
  const uint64_t records = scaled(o, 200'000, 2'000);
  bool all_ok = true;
  auto phase = [&](const std::string& scenario, uint64_t total, const MakeRequest& make) {
    PumpOutcome r = run_pump(run, clients, replies, total, make);
    print_pump_line(scenario, records, r);
    all_ok = all_ok && r.status == "ok";
  };

  phase("db_create", records, [](uint64_t k, std::string* topic, std::string* payload) {
    *topic = "$DB/bench/create";
    *payload = make_record(record_id(k), k);
  });
  if (!call_once(run, clients, replies, "$DB/_admin/index/bench/add", "{\"fields\":[\"site\"]}",
                 &error)) {
    report_error("db", error);
    all_ok = false;
  }
  std::mt19937_64 rng(42);
  phase("db_read", records * 2, [&](uint64_t, std::string* topic, std::string* payload) {
    *topic = "$DB/bench/" + record_id(rng() % records);
    *payload = "{}";
  });
  phase("db_list_indexed", std::max<uint64_t>(records / 10, 100),
        [](uint64_t k, std::string* topic, std::string* payload) {
          *topic = "$DB/bench/list";
          *payload = "{\"filters\":[{\"field\":\"site\",\"op\":\"eq\",\"value\":\"site-" +
                     std::string(k % kSites < 10 ? "0" : "") + std::to_string(k % kSites) +
                     "\"}],\"limit\":10}";
        });
  phase("db_update", records, [](uint64_t k, std::string* topic, std::string* payload) {
    *topic = "$DB/bench/" + record_id(k) + "/update";
    *payload = "{\"score\":" + std::to_string(k % 997) + ",\"active\":false}";
  });

  // Event fan-out: kWatchers subscribers of the entity's events while the clients create.
  ClientList watchers = run.make_clients("watch", kWatchers);
  uint64_t events = scaled(o, 50'000, 500);
  bool watching = run.connect_all(watchers, &error) &&
                  run.subscribe_all(watchers, {{"$DB/bench_events/events/#"}}, 0, &error);
  if (watching) {
    uint64_t before = 0;
    for (const auto& w : watchers) before += w->received();
    PumpOutcome r = run_pump(run, clients, replies, events,
                             [](uint64_t k, std::string* topic, std::string* payload) {
                               *topic = "$DB/bench_events/create";
                               *payload = make_record(record_id(k), k);
                             });
    const uint64_t expected = events * kWatchers;
    auto delivered = [&] {
      uint64_t n = 0;
      for (const auto& w : watchers) n += w->received();
      return n - before;
    };
    run.loop().run_until(now_ns() + static_cast<int64_t>(o.stall_s * kNsPerSecond),
                         [&] { return delivered() >= expected; });
    Line line("db_events_fanout");
    line.add("status", r.status == "ok" && delivered() >= expected ? "ok" : "lost");
    line.add("creates", r.answered);
    line.add("watchers", static_cast<uint64_t>(kWatchers));
    line.add("deliveries", delivered());
    line.add("lost", expected > delivered() ? expected - delivered() : 0);
    line.add("seconds", r.seconds, 3);
    line.add("rate", r.seconds > 0 ? static_cast<double>(delivered()) / r.seconds : 0.0, 0);
    line.add("create_rate", r.rate, 0);
    line.add("broker_cpu_per_1k", per_thousand(r.broker_cpu, delivered()), 4);
    line.print();
    all_ok = all_ok && r.status == "ok" && delivered() >= expected;
  } else {
    std::printf("scenario=db_events_fanout status=error note=watchers\n");
    report_error("db_events_fanout", error);
    all_ok = false;
  }
  run.disconnect_all(watchers);

  phase("db_delete", records, [](uint64_t k, std::string* topic, std::string* payload) {
    *topic = "$DB/bench/" + record_id(k) + "/delete";
    *payload = "{}";
  });
  run.disconnect_all(clients);
  return all_ok;
}

bool db_scale_scenario(const std::string& /*name*/, const Options& options) {
  const Options o = db_options(options);
  Run run(o);
  std::string error;
  ClientList clients;
  std::vector<std::string> replies;
  if (!connect_requesters(run, kClients, &clients, &replies, &error) ||
      !call_once(run, clients, replies, "$DB/_admin/index/scale/add", "{\"fields\":[\"site\"]}",
                 &error)) {
    std::printf("scenario=db_scale status=error note=setup\n");
    report_error("db_scale", error);
    return false;
  }
  const uint64_t small = scaled(o, 10'000, 1'000);
  const uint64_t large = scaled(o, 1'000'000, 10'000);
  const uint64_t probes = o.smoke ? 200 : 5'000;
  uint64_t populated = 0;
  bool all_ok = true;
  // In chunks of 100k: each pump has the tool's phase timeout, and a million creates take
  // longer than one on a slow machine.
  auto populate = [&](uint64_t upto) {
    while (populated < upto && all_ok) {
      uint64_t from = populated;
      uint64_t count = std::min<uint64_t>(upto - from, 100'000);
      PumpOutcome r = run_pump(run, clients, replies, count,
                               [from](uint64_t k, std::string* topic, std::string* payload) {
                                 *topic = "$DB/scale/create";
                                 *payload = make_record(record_id(from + k), from + k);
                               });
      all_ok = all_ok && r.status == "ok";
      if (r.status != "ok") report_error("db_scale populate", r.error + " " + r.status);
      populated = from + count;
    }
  };
  // Latency probes: one client, one request at a time, so the figure is the request's own
  // cost at this table size and not queueing.
  std::mt19937_64 rng(7);
  auto probe = [&](const MakeRequest& make) {
    ClientList one;
    one.push_back(std::move(clients[0]));
    std::vector<int64_t> samples;
    PumpOutcome total;
    for (uint64_t i = 0; i < probes; ++i) {
      PumpOutcome r = run_pump(run, one, {replies[0]}, 1, make);
      if (r.status != "ok") {
        total = r;
        break;
      }
      samples.push_back(static_cast<int64_t>(r.p50_us * 1000));
    }
    clients[0] = std::move(one[0]);
    if (total.status != "ok") all_ok = false;
    return percentile(&samples, 0.5) / 1000.0;
  };
  auto read_probe = [&](uint64_t, std::string* topic, std::string* payload) {
    *topic = "$DB/scale/" + record_id(rng() % populated);
    *payload = "{}";
  };
  auto list_probe = [&](uint64_t, std::string* topic, std::string* payload) {
    int site = static_cast<int>(rng() % kSites);
    *topic = "$DB/scale/list";
    *payload = "{\"filters\":[{\"field\":\"site\",\"op\":\"eq\",\"value\":\"site-" +
               std::string(site < 10 ? "0" : "") + std::to_string(site) + "\"}],\"limit\":10}";
  };
  populate(small);
  double read_small = probe(read_probe);
  double list_small = probe(list_probe);
  populate(large);
  double read_large = probe(read_probe);
  double list_large = probe(list_probe);
  Line line("db_scale");
  line.add("status", all_ok ? "ok" : "error");
  line.add("small", small);
  line.add("large", large);
  line.add("read_p50_small_us", read_small, 1);
  line.add("read_p50_large_us", read_large, 1);
  line.add("read_ratio", read_small > 0 ? read_large / read_small : 0.0, 2);
  line.add("list_p50_small_us", list_small, 1);
  line.add("list_p50_large_us", list_large, 1);
  line.add("list_ratio", list_small > 0 ? list_large / list_small : 0.0, 2);
  line.print();
  run.disconnect_all(clients);
  return all_ok;
}

// The store manager's costs: the same creates into an entity without constraints and into
// one with a unique and a foreign-key constraint (rates and their ratio, in one run), then a
// cascade delete of one parent with 1,000 children (one request, timed end to end).
bool db_constraints_scenario(const std::string& /*name*/, const Options& options) {
  const Options o = db_options(options);
  Run run(o);
  std::string error;
  ClientList clients;
  std::vector<std::string> replies;
  constexpr uint64_t kParents = 100;
  constexpr uint64_t kChildren = 1000;
  if (!connect_requesters(run, kClients, &clients, &replies, &error)) {
    std::printf("scenario=db_constraints status=error note=connect\n");
    report_error("db_constraints", error);
    return false;
  }
  bool all_ok = true;
  auto pump = [&](uint64_t total, const MakeRequest& make) {
    PumpOutcome r = run_pump(run, clients, replies, total, make);
    if (r.status != "ok" || r.failed_answers > 0) {
      all_ok = false;
      report_error("db_constraints", r.status + " " + r.error + " " + r.first_failure);
    }
    return r;
  };
  auto admin = [&](const std::string& topic, const std::string& payload) {
    if (!call_once(run, clients, replies, topic, payload, &error)) {
      report_error("db_constraints", error);
      all_ok = false;
    }
  };
  pump(kParents, [](uint64_t k, std::string* topic, std::string* payload) {
    *topic = "$DB/cparent/create";
    *payload = "{\"id\":\"p" + std::to_string(k) + "\"}";
  });
  admin("$DB/_admin/constraint/cchild/add",
        R"({"type":"unique","name":"u_email","fields":["email"]})");
  admin(
      "$DB/_admin/constraint/cchild/add",
      R"({"type":"foreign_key","name":"fk_parent","field":"parent_id","target_entity":"cparent"})");
  // The same ~230-byte record for both entities, pointing at one of the parents. The two
  // workloads alternate in halves, so neither gets the emptier database or the warmer cache.
  auto child = [](const std::string& entity, uint64_t from) {
    return [entity, from](uint64_t k, std::string* topic, std::string* payload) {
      *topic = "$DB/" + entity + "/create";
      *payload = make_record(record_id(from + k), from + k);
      payload->insert(payload->size() - 1,
                      ",\"parent_id\":\"p" + std::to_string((from + k) % kParents) + "\"");
    };
  };
  const uint64_t records = scaled(o, 100'000, 2'000);
  const uint64_t half = records / 2;
  PumpOutcome plain, constrained;
  for (uint64_t from : {uint64_t{0}, half}) {
    PumpOutcome p = pump(half, child("cplain", from));
    PumpOutcome c = pump(half, child("cchild", from));
    plain.seconds += p.seconds;
    constrained.seconds += c.seconds;
    plain.p50_us = std::max(plain.p50_us, p.p50_us);
    constrained.p50_us = std::max(constrained.p50_us, c.p50_us);
  }
  plain.rate = plain.seconds > 0 ? static_cast<double>(2 * half) / plain.seconds : 0;
  constrained.rate =
      constrained.seconds > 0 ? static_cast<double>(2 * half) / constrained.seconds : 0;
  Line line("db_constraints");
  line.add("status", all_ok ? "ok" : "error");
  line.add("records", 2 * half);
  line.add("plain_rate", plain.rate, 0);
  line.add("constrained_rate", constrained.rate, 0);
  line.add("ratio", plain.rate > 0 ? constrained.rate / plain.rate : 0.0, 3);
  line.add("overhead_pct", plain.rate > 0 ? (1.0 - constrained.rate / plain.rate) * 100 : 0.0, 1);
  line.add("plain_p50_us_max_half", plain.p50_us, 0);
  line.add("constrained_p50_us_max_half", constrained.p50_us, 0);
  line.print();

  // Cascade: one parent, kChildren children, one delete.
  admin("$DB/croot/create", R"({"id":"root"})");
  admin("$DB/_admin/constraint/cleaf/add",
        R"({"type":"foreign_key","name":"fk_root","field":"root_id","target_entity":"croot",)"
        R"("on_delete":"cascade"})");
  pump(kChildren, [](uint64_t k, std::string* topic, std::string* payload) {
    *topic = "$DB/cleaf/create";
    *payload = "{\"id\":\"l" + std::to_string(k) +
               "\",\"root_id\":\"root\",\"n\":" + std::to_string(k) + "}";
  });
  int64_t start = now_ns();
  admin("$DB/croot/root/delete", "{}");
  double cascade_ms = static_cast<double>(now_ns() - start) / 1e6;
  Line cascade("db_cascade_delete");
  cascade.add("status", all_ok ? "ok" : "error");
  cascade.add("children", kChildren);
  cascade.add("ms", cascade_ms, 2);
  cascade.print();
  run.disconnect_all(clients);
  return all_ok;
}

}  // namespace topicdb::bench
