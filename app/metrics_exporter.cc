#include "app/metrics_exporter.h"

#include <array>
#include <utility>

namespace topicdb::app {

namespace {

using Type = PrometheusText::Type;

constexpr std::string_view kQosNames[3] = {"0", "1", "2"};

}  // namespace

MetricsExporter::MetricsExporter(uv_loop_t* loop, Clock* clock, Sources sources)
    : sources_(std::move(sources)),
      server_(std::make_unique<net::HttpServer>(
          loop, clock, [this](const net::HttpRequest& request) { return answer(request); })) {}

MetricsExporter::~MetricsExporter() = default;

Result<std::string> MetricsExporter::listen(const std::string& host, int port) {
  return server_->listen(host, port);
}

void MetricsExporter::close(std::function<void()> done) { server_->close(std::move(done)); }

net::HttpResponse MetricsExporter::answer(const net::HttpRequest& request) const {
  net::HttpResponse response;
  if (request.path != "/metrics") {
    response.status = 404;
    response.body = "not found: the metrics are at /metrics\n";
    return response;
  }
  response.content_type = std::string(kPrometheusContentType);
  response.body = render();
  return response;
}

std::string MetricsExporter::render() const {
  PrometheusText out;
  render_broker(out);
  render_listeners(out);
  if (sources_.store != nullptr) render_store(out);
  if (sources_.db != nullptr) render_db(out);
  return out.take();
}

// The $SYS/broker/... figures, from the same source as the topics.
void MetricsExporter::render_broker(PrometheusText& out) const {
  const broker::Broker& broker = *sources_.broker;
  const broker::BrokerStats& stats = broker.stats();
  const broker::SysFigures sys = broker.sys_figures();
  out.family("topicdb_build_info", Type::kGauge, "Always 1; the version is a label.");
  out.sample("topicdb_build_info", {{"version", TOPICDB_VERSION}}, uint64_t{1});
  struct Figure {
    const char* name;
    Type type;
    const char* help;
    uint64_t value;
  };
  const Figure figures[] = {
      {"topicdb_uptime_seconds", Type::kGauge, "Seconds since the broker started.",
       static_cast<uint64_t>(sys.uptime_s)},
      {"topicdb_clients_connected", Type::kGauge, "Clients connected (past CONNECT).",
       sys.clients_connected},
      {"topicdb_clients_disconnected", Type::kGauge,
       "Sessions whose client is not connected (persistent sessions kept).",
       sys.clients_disconnected},
      {"topicdb_sessions", Type::kGauge, "Sessions, connected or not ($SYS/broker/clients/total).",
       sys.sessions},
      {"topicdb_subscriptions", Type::kGauge, "Subscriptions of all sessions.", sys.subscriptions},
      {"topicdb_retained_messages", Type::kGauge, "Retained messages held.", sys.retained_messages},
      {"topicdb_connections_total", Type::kCounter, "Connections accepted, on every listener.",
       stats.connections_total},
      {"topicdb_auth_failures_total", Type::kCounter,
       "CONNECTs refused for a wrong password or an unknown user.", stats.auth_failures},
      {"topicdb_malformed_packets_total", Type::kCounter,
       "Connections closed for a malformed packet.", stats.malformed_packets},
      {"topicdb_messages_received_total", Type::kCounter, "PUBLISH packets from clients.",
       stats.messages_received},
      {"topicdb_messages_sent_total", Type::kCounter, "PUBLISH packets to clients.",
       stats.messages_sent},
      {"topicdb_messages_dropped_total", Type::kCounter,
       "Messages dropped for a subscriber: queue full, write buffer full, larger than its "
       "maximum packet size.",
       stats.messages_dropped},
      {"topicdb_bytes_received_total", Type::kCounter, "MQTT bytes received from clients.",
       stats.bytes_received},
      {"topicdb_bytes_sent_total", Type::kCounter, "MQTT bytes written to clients.",
       stats.bytes_sent},
  };
  for (const Figure& f : figures) {
    out.family(f.name, f.type, f.help);
    out.sample(f.name, {}, f.value);
  }
}

void MetricsExporter::render_listeners(PrometheusText& out) const {
  const broker::BrokerStats& stats = sources_.broker->stats();
  // The configured kinds, plus any that saw a connection anyway.
  std::array<bool, broker::kTransportCount> shown{};
  for (broker::Transport t : sources_.listeners) shown[static_cast<size_t>(t)] = true;
  for (size_t i = 0; i < broker::kTransportCount; ++i) {
    shown[i] = shown[i] || stats.transports[i].connections_total > 0;
  }
  auto each = [&](auto&& write) {
    for (size_t i = 0; i < broker::kTransportCount; ++i) {
      if (shown[i]) {
        write(broker::transport_name(static_cast<broker::Transport>(i)), stats.transports[i]);
      }
    }
  };
  using TS = broker::TransportStats;
  struct Figure {
    const char* name;
    Type type;
    const char* help;
    uint64_t TS::*field;
  };
  const Figure figures[] = {
      {"topicdb_listener_connections", Type::kGauge, "Open connections, by listener kind.",
       &TS::connections_current},
      {"topicdb_listener_connections_total", Type::kCounter,
       "Connections accepted, by listener kind.", &TS::connections_total},
      {"topicdb_listener_bytes_received_total", Type::kCounter,
       "MQTT bytes received (inside TLS and WebSocket framing), by listener kind.",
       &TS::bytes_received},
      {"topicdb_listener_bytes_sent_total", Type::kCounter,
       "MQTT bytes written (inside TLS and WebSocket framing), by listener kind.", &TS::bytes_sent},
      {"topicdb_listener_messages_dropped_total", Type::kCounter,
       "Messages dropped for a connected subscriber, by the listener kind of its connection.",
       &TS::messages_dropped},
  };
  for (const Figure& f : figures) {
    out.family(f.name, f.type, f.help);
    each([&](std::string_view listener, const TS& s) {
      out.sample(f.name, {{"listener", listener}}, s.*f.field);
    });
  }
  out.family("topicdb_listener_messages_received_total", Type::kCounter,
             "PUBLISH packets from clients, by listener kind and QoS.");
  each([&](std::string_view listener, const TS& s) {
    for (size_t q = 0; q < 3; ++q) {
      out.sample("topicdb_listener_messages_received_total",
                 {{"listener", listener}, {"qos", kQosNames[q]}}, s.messages_received[q]);
    }
  });
  out.family("topicdb_listener_messages_sent_total", Type::kCounter,
             "PUBLISH packets to clients, by listener kind and QoS.");
  each([&](std::string_view listener, const TS& s) {
    for (size_t q = 0; q < 3; ++q) {
      out.sample("topicdb_listener_messages_sent_total",
                 {{"listener", listener}, {"qos", kQosNames[q]}}, s.messages_sent[q]);
    }
  });
}

void MetricsExporter::render_store(PrometheusText& out) const {
  const storage::StoreThread& store = *sources_.store;
  using storage::LatencyHistogram;
  const LatencyHistogram::Snapshot latency = store.commit_latency().snapshot();
  std::array<double, LatencyHistogram::kBoundsNs.size()> bounds_s{};
  for (size_t i = 0; i < bounds_s.size(); ++i) {
    bounds_s[i] = static_cast<double>(LatencyHistogram::kBoundsNs[i]) / 1e9;
  }
  out.family("topicdb_store_commit_duration_seconds", Type::kHistogram,
             "Duration of each group commit on the store thread, BEGIN IMMEDIATE through "
             "COMMIT (the submissions' work; the fsync runs on the sync thread).");
  out.histogram("topicdb_store_commit_duration_seconds", {}, bounds_s, latency.counts,
                static_cast<double>(latency.sum_ns) / 1e9);
  out.family("topicdb_store_commits_total", Type::kCounter,
             "Transactions committed by the store thread (one per group).");
  out.sample("topicdb_store_commits_total", {}, store.commits());
  out.family("topicdb_store_failed_submissions_total", Type::kCounter,
             "Store submissions that failed alone and were rolled back to their savepoint.");
  out.sample("topicdb_store_failed_submissions_total", {}, store.failed_submissions());
  out.family("topicdb_store_syncs_total", Type::kCounter,
             "fdatasyncs of the sync thread (each covers every group committed before it).");
  out.sample("topicdb_store_syncs_total", {}, store.syncs());
  out.family("topicdb_store_checkpoints_total", Type::kCounter,
             "WAL checkpoints, by the thread that ran them: the checkpoint thread (the bulk), "
             "or the store thread (the rest, so the WAL starts over).");
  out.sample("topicdb_store_checkpoints_total", {{"thread", "checkpoint"}}, store.checkpoints());
  out.sample("topicdb_store_checkpoints_total", {{"thread", "store"}}, store.store_checkpoints());
  out.family("topicdb_store_checkpoint_failures_total", Type::kCounter,
             "WAL checkpoints that failed (the WAL keeps the frames; the next one retries).");
  out.sample("topicdb_store_checkpoint_failures_total", {}, store.failed_checkpoints());
  out.family("topicdb_store_healthy", Type::kGauge,
             "1 while the store works; 0 once a group failed (the broker then shuts down).");
  out.sample("topicdb_store_healthy", {}, uint64_t{store.health().is_ok() ? 1u : 0u});
}

void MetricsExporter::render_db(PrometheusText& out) const {
  out.family("topicdb_db_operations_total", Type::kCounter,
             "$DB requests answered, by operation and result (ok, or the error code).");
  for (const db::adapter::DbOperationStats::Row& row : sources_.db->operation_stats().rows()) {
    const std::string result = row.code == 200 ? "ok" : std::to_string(row.code);
    out.sample("topicdb_db_operations_total", {{"op", row.op}, {"result", result}}, row.count);
  }
}

}  // namespace topicdb::app
