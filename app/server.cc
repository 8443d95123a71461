#include "app/server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <sqlite3.h>
#include <uv.h>

#include "app/allocator.h"
#include "app/auth_setup.h"
#include "app/metrics_exporter.h"
#include "base/log.h"
#include "base/uv_clock.h"
#include "broker/broker.h"
#include "broker/persist/sqlite_state_store.h"
#include "broker/persist/state_schema.h"
#include "db/adapter/db_topic_handler.h"
#include "db/db_schema.h"
#include "db/document_store.h"
#include "net/loop_buffers.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"
#include "net/websocket_stream.h"
#include "plugins/hmac_challenge_auth.h"
#include "storage/store_thread.h"

namespace topicdb::app {

namespace {

// SQLite keeps a spilling savepoint journal in chunks as large as the spill limit and, when it
// spills, writes each chunk with one write call. The unix VFS truncates every write to
// 0x1ffff bytes (seekAndWriteFd), so a chunk larger than that is a short write, which SQLite
// reports as SQLITE_FULL ("database or disk is full"): with a 256 KiB limit every cascade big
// enough to spill failed, the store refused all writes and the broker shut down. 124 KiB stays
// under the cap with a page to spare. (The chunks are also why the limit is no larger in any case:
// one is allocated per submission that writes, and 4 MiB made writes crawl under AddressSanitizer.)
constexpr int kMaxStatementJournalSpill = 0x1ffff;
constexpr int kStatementJournalSpillBytes = 124 * 1024;
static_assert(kStatementJournalSpillBytes <= kMaxStatementJournalSpill);

// Holds an exclusive lock on DIR/LOCK so two brokers never share one database.
class DataDirLock {
 public:
  ~DataDirLock() {
    if (fd_ >= 0) close(fd_);
  }
  Status acquire(const std::string& dir) {
    std::string path = dir + "/LOCK";
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::io_error("data directory " + dir + " is in use by another topicdb process");
    }
    return Status::ok();
  }

 private:
  int fd_ = -1;
};

struct SignalWatch {
  uv_signal_t sigint;
  uv_signal_t sigterm;
};

// --- TLS and WebSocket listeners (issue 16) ------------------------------------------------
// The bound addresses of the listeners besides plain MQTT, for the ready line.
struct LayeredListeners {
  std::unique_ptr<net::TlsContext> tls;  // outlives the broker's listeners (declared first)
  std::string tls_bound, ws_bound, wss_bound;

  // " tls=... ws=... wss=..." for those configured.
  std::string ready_fields() const {
    std::string out;
    if (!tls_bound.empty()) out += " tls=" + tls_bound;
    if (!ws_bound.empty()) out += " ws=" + ws_bound;
    if (!wss_bound.empty()) out += " wss=" + wss_bound;
    return out;
  }
};

// Starts the TLS, ws and wss listeners; a one-line error if one cannot start.
Status start_layered_listeners(const Config& config, uv_loop_t* loop, broker::Broker* broker,
                               LayeredListeners* out) {
  if (!config.listen_tls.empty() || !config.listen_wss.empty()) {
    net::TlsOptions options;
    options.cert_file = config.tls_cert;
    options.key_file = config.tls_key;
    options.ca_file = config.tls_ca;
    options.require_client_cert = config.tls_require_client_cert;
    options.cert_as_username = config.tls_cert_as_username;
    auto context = net::TlsContext::create(options);
    if (!context.is_ok()) return context.status();
    out->tls = std::move(*context);
  }
  net::LoopBuffers* buffers = &net::LoopBuffers::of(loop);
  const net::TlsContext* tls = out->tls.get();
  net::StreamWrap over_tls = [tls, buffers](std::unique_ptr<net::Stream> s) {
    return std::unique_ptr<net::Stream>(new net::TlsStream(std::move(s), buffers, *tls));
  };
  net::StreamWrap over_ws = [buffers](std::unique_ptr<net::Stream> s) {
    return std::unique_ptr<net::Stream>(new net::WebSocketStream(std::move(s), buffers));
  };
  net::StreamWrap over_wss = [tls, buffers](std::unique_ptr<net::Stream> s) {
    auto secure = std::make_unique<net::TlsStream>(std::move(s), buffers, *tls);
    return std::unique_ptr<net::Stream>(new net::WebSocketStream(std::move(secure), buffers));
  };
  struct Kind {
    const std::vector<ListenAddress>* addresses;
    const net::StreamWrap* wrap;
    std::string* bound;
    broker::Transport transport;  // for the per-listener statistics
  };
  using broker::Transport;
  for (const Kind& kind : {Kind{&config.listen_tls, &over_tls, &out->tls_bound, Transport::kTls},
                           Kind{&config.listen_ws, &over_ws, &out->ws_bound, Transport::kWs},
                           Kind{&config.listen_wss, &over_wss, &out->wss_bound, Transport::kWss}}) {
    for (const ListenAddress& addr : *kind.addresses) {
      auto where = broker->listen(addr.host, addr.port, *kind.wrap, kind.transport);
      if (!where.is_ok()) return where.status();
      *kind.bound += (kind.bound->empty() ? "" : ",") + *where;
    }
  }
  return Status::ok();
}
// --- end of TLS and WebSocket listeners ---------------------------------------------------

}  // namespace

int run_server(const Config& config) {
  log::set_level(config.log_level);
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a signal
  // SQLite's allocation statistics take a global mutex on every malloc, shared by the store
  // thread and every reader; nothing here reads them. Must precede the first SQLite call.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // Every store submission runs in a savepoint, whose sub-journal (the changed pages' old
  // contents, for a rollback) SQLite keeps in memory only up to 64 KiB by default; past that
  // it moves to a temp file for the rest of the group commit. A constrained create (record,
  // key, change row, unique and reference rows, page splits) crossed it now and then, and
  // then the store thread wrote every journaled page to that file (strace: ~12k writes/s;
  // constrained creates over MQTT ~23k -> 37-45k/s in A/B runs). A larger limit keeps
  // ordinary submissions in memory; a huge one (a cascade over thousands of records) still
  // spills. The limit is capped by kMaxStatementJournalSpill, see there.
  sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, kStatementJournalSpillBytes);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    std::fprintf(stderr, "topicdb: cannot create data directory %s: %s\n", config.data_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  std::string data_dir = std::filesystem::absolute(config.data_dir).lexically_normal().string();
  DataDirLock lock;
  if (Status s = lock.acquire(data_dir); !s.is_ok()) {
    std::fprintf(stderr, "topicdb: %s\n", s.message().c_str());
    return 1;
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  // Read scratch and spare output buffers of every stream on this loop; outlives the broker.
  net::LoopBuffers loop_buffers(&loop);
  UvClock clock(&loop);
  // Password file, ACL file and --plugin libraries, before the database opens (a plugin
  // that cannot load stops start-up at once) and before the broker (they outlive it).
  Result<std::unique_ptr<AuthSetup>> auth = AuthSetup::load(config, &loop);
  if (!auth.is_ok()) {
    std::fprintf(stderr, "topicdb: %s\n", auth.status().message().c_str());
    uv_loop_close(&loop);
    return 1;
  }
  // One database and one store thread for the node; each component keeps its own tables.
  storage::StoreThread::Options store_options;
  store_options.durability = config.durability;
  store_options.durability_interval_ms = config.durability_interval_ms;
  auto database =
      storage::StoreThread::open(&loop, data_dir + "/topicdb.sqlite3",
                                 {broker::state_schema(), db::db_schema()}, store_options);
  Result<std::unique_ptr<broker::SqliteStateStore>> store =
      database.is_ok() ? broker::SqliteStateStore::open(database->get()) : database.status();
  // The document store after the state store (it shares the store thread), closed before it.
  db::DocumentStore::Options document_options;
  document_options.event_retention_ms = config.db_event_retention_hours * 3600 * 1000;
  document_options.event_retention_count = config.db_event_retention_count;
  document_options.max_list_limit = config.db_max_list_results;
  Result<std::unique_ptr<db::DocumentStore>> documents =
      store.is_ok() ? db::DocumentStore::open(&loop, &clock, database->get(), document_options)
                    : store.status();
  if (!documents.is_ok()) {
    std::fprintf(stderr, "topicdb: cannot open the database: %s\n",
                 documents.status().to_string().c_str());
    if (store.is_ok()) (*store)->close();
    if (database.is_ok()) (*database)->close();
    auth->reset();
    uv_run(&loop, UV_RUN_NOWAIT);  // lets the store thread release its wake-up handle
    uv_loop_close(&loop);
    return 1;
  }

  int exit_code = 0;
  LayeredListeners layered;  // TLS and WebSocket listeners (issue 16); outlives the broker
  {
    broker::Broker broker(&loop, config.broker, &clock, store->get());
    if (!config.auth_hmac_secret.empty()) {
      broker.add_auth_plugin(plugins::make_hmac_challenge_auth(config.auth_hmac_secret));
    }
    // $DB requests go to the document store; its answers and events come back through the
    // broker. The handler is stopped before the broker goes (see the watcher below).
    db::adapter::DbTopicHandler::Options db_options;
    db_options.max_payload = config.db_max_payload;
    db_options.max_inflight = config.db_max_inflight;
    db_options.hooks = (*auth)->db_hooks();  // plugins' $DB hooks (docs/plugins.md)
    db::DocumentStore* document_store = documents->get();
    db::adapter::DbTopicHandler db_handler(
        &broker, &clock,
        [document_store](db::Request request, db::DocumentStore::Done done) {
          document_store->execute(std::move(request), std::move(done));
        },
        db_options);
    // $DB permissions: the ACL on "$DB/{entity}/{operation}", admin users, ownership. The
    // Authorizer is looked up per request: AuthSetup installs it below.
    db::adapter::DbAccessOptions access;
    access.admin_users = config.admin_users;
    access.admin_open_without_admins = config.password_file.empty();
    access.ownership = config.ownership;
    db_handler.set_access(std::make_unique<db::adapter::DbAccess>(
        [&broker]() -> broker::Authorizer& { return broker.authorizer(); }, std::move(access)));
    broker.add_reserved_handler("$DB/", &db_handler);
    Status restored = broker.restore();
    std::string bound;
    if (!restored.is_ok()) {
      std::fprintf(stderr, "topicdb: cannot load broker state: %s\n", restored.to_string().c_str());
      exit_code = 1;
    }
    // Password file, ACL file, anonymous rule, plugins; SIGHUP rereads the files.
    (*auth)->install(broker);
    // After restore, so the sessions that the outbox's unrouted events are for exist.
    if (exit_code == 0) {
      if (Status started = document_store->start(&db_handler); !started.is_ok()) {
        std::fprintf(stderr, "topicdb: cannot start the document store: %s\n",
                     started.to_string().c_str());
        exit_code = 1;
      }
    }
    for (const ListenAddress& addr : config.listen) {
      if (exit_code != 0) break;
      auto where = broker.listen(addr.host, addr.port);
      if (!where.is_ok()) {
        std::fprintf(stderr, "topicdb: %s\n", where.status().message().c_str());
        exit_code = 1;
        break;
      }
      bound += (bound.empty() ? "" : ",") + *where;
    }
    if (exit_code == 0) {  // TLS and WebSocket listeners (issue 16)
      if (Status s = start_layered_listeners(config, &loop, &broker, &layered); !s.is_ok()) {
        std::fprintf(stderr, "topicdb: %s\n", s.message().c_str());
        exit_code = 1;
      }
    }
    // --- Prometheus /metrics listener (issue 16): closed once the broker is down ---------
    std::unique_ptr<MetricsExporter> metrics;
    std::string metrics_field;  // " metrics=HOST:PORT" for the ready line
    if (exit_code == 0 && config.listen_metrics) {
      MetricsExporter::Sources sources{&broker, database->get(), &db_handler, {}};
      sources.listeners.push_back(broker::Transport::kMqtt);
      if (!config.listen_tls.empty()) sources.listeners.push_back(broker::Transport::kTls);
      if (!config.listen_ws.empty()) sources.listeners.push_back(broker::Transport::kWs);
      if (!config.listen_wss.empty()) sources.listeners.push_back(broker::Transport::kWss);
      metrics = std::make_unique<MetricsExporter>(&loop, &clock, std::move(sources));
      auto where = metrics->listen(config.listen_metrics->host, config.listen_metrics->port);
      if (where.is_ok()) {
        metrics_field = " metrics=" + *where;
      } else {
        std::fprintf(stderr, "topicdb: %s\n", where.status().message().c_str());
        exit_code = 1;
      }
    }
    // --- end of the /metrics listener -----------------------------------------------------

    SignalWatch signals;
    signals.sigint.data = &broker;
    signals.sigterm.data = &broker;
    uv_signal_init(&loop, &signals.sigint);
    uv_signal_init(&loop, &signals.sigterm);
    auto stop_signals = [&signals] {
      uv_close(reinterpret_cast<uv_handle_t*>(&signals.sigint), nullptr);
      uv_close(reinterpret_cast<uv_handle_t*>(&signals.sigterm), nullptr);
    };
    auto on_signal = [](uv_signal_t* handle, int signum) {
      log::info("received {}, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
      auto* b = static_cast<broker::Broker*>(handle->data);
      b->shutdown(nullptr);
    };
    uv_signal_start(&signals.sigint, on_signal, SIGINT);
    uv_signal_start(&signals.sigterm, on_signal, SIGTERM);

    if (exit_code == 0) {
      std::printf("topicdb ready listeners=%s data_dir=%s%s%s\n", bound.c_str(), data_dir.c_str(),
                  layered.ready_fields().c_str(), metrics_field.c_str());
      std::fflush(stdout);
      log::info("TopicDB {} serving MQTT on {} (allocator: {})", TOPICDB_VERSION, bound,
                allocator_name());
    } else {
      broker.shutdown(nullptr);
    }
    // The broker's own shutdown (signal, failed start or a failed store) ends with no broker
    // handles left; the signal watchers are then closed so uv_run can return.
    uv_prepare_t watcher;
    // Once the broker is down nobody can hear an answer: the handler stops publishing and
    // the document store stops its sweep and readers, so the loop can end.
    auto stop_documents = [&db_handler, document_store, &metrics] {
      if (metrics) metrics->close();  // the /metrics listener (issue 16)
      db_handler.stop();
      if (Status s = document_store->close(); !s.is_ok()) {
        log::error("closing the document store failed: {}", s.to_string());
      }
    };
    struct WatchState {
      broker::Broker* broker;
      std::function<void()> stop_signals;
      std::function<void()> stop_documents;
      bool stopped = false;
    } watch{&broker, stop_signals, stop_documents};
    watcher.data = &watch;
    uv_prepare_init(&loop, &watcher);
    uv_prepare_start(&watcher, [](uv_prepare_t* h) {
      auto* w = static_cast<WatchState*>(h->data);
      if (!w->stopped && w->broker->is_shut_down()) {
        w->stopped = true;
        w->stop_signals();
        w->stop_documents();
        uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
      }
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    if (!(*store)->health().is_ok()) exit_code = 1;
  }
  // The document store and the state store first: they borrow the store thread, which then
  // drains and stops.
  Status closed = (*documents)->close();
  documents->reset();
  if (Status s = (*store)->close(); closed.is_ok()) closed = s;
  store->reset();
  if (Status s = (*database)->close(); closed.is_ok()) closed = s;
  uv_run(&loop, UV_RUN_NOWAIT);  // lets the store thread release its wake-up handle
  if (!closed.is_ok()) {
    log::error("closing the database failed: {}", closed.to_string());
    exit_code = 1;
  }
  database->reset();
  auth->reset();  // after the broker: its seams held the plugins
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) log::warn("event loop closed with handles still open");
  log::info("stopped");
  return exit_code;
}

}  // namespace topicdb::app
