// MetricsExporter: the node's figures in Prometheus' text format, served on GET /metrics by
// an HTTP listener of its own (--listen-metrics): the $SYS counters, per-listener traffic,
// the store thread's commit latency and $DB operations by kind and result. Everything is
// read on the loop thread when scraped; the sources only keep counters. docs/metrics.md
// lists every metric.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "app/prometheus_text.h"
#include "base/clock.h"
#include "base/status.h"
#include "broker/broker.h"
#include "db/adapter/db_topic_handler.h"
#include "net/http_server.h"
#include "storage/store_thread.h"

namespace topicdb::app {

class MetricsExporter {
 public:
  // Borrowed; each must outlive the exporter. `store` and `db` may be null (not shown).
  struct Sources {
    const broker::Broker* broker = nullptr;
    const storage::StoreThread* store = nullptr;
    const db::adapter::DbTopicHandler* db = nullptr;
    // The kinds of listener configured: shown even before their first connection.
    std::vector<broker::Transport> listeners;
  };

  // Borrows `loop` (with LoopBuffers attached) and `clock`.
  MetricsExporter(uv_loop_t* loop, Clock* clock, Sources sources);
  ~MetricsExporter();

  // Starts the HTTP listener; returns the bound "host:port".
  Result<std::string> listen(const std::string& host, int port);
  // Stops the listener and its connections (call when the broker shuts down, before the
  // exporter is destroyed); `done` runs once everything is closed.
  void close(std::function<void()> done = nullptr);

  // The whole exposition text.
  std::string render() const;
  // GET /metrics: the text; any other path: 404.
  net::HttpResponse answer(const net::HttpRequest& request) const;

 private:
  void render_broker(PrometheusText& out) const;
  void render_listeners(PrometheusText& out) const;
  void render_store(PrometheusText& out) const;
  void render_db(PrometheusText& out) const;

  Sources sources_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace topicdb::app
