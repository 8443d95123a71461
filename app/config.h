// Config: everything `topicdb serve` can be told, from flags and from a config file with
// the same keys (flags win). Parsing returns a Status with a one-line message for the user.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "broker/broker_options.h"
#include "db/ownership.h"
#include "storage/durability.h"

namespace topicdb::app {

struct ListenAddress {
  std::string host;
  int port = 0;
};

// One --plugin: the shared library and the --plugin-opt KEY=VALUE given after it.
struct PluginConfig {
  std::string path;
  std::vector<std::pair<std::string, std::string>> options;
};

struct Config {
  std::vector<ListenAddress> listen;  // empty after parsing means the default 127.0.0.1:1883
  std::string data_dir = "./topicdb-data";
  std::string config_file;
  log::Level log_level = log::Level::kInfo;
  // --durability, --durability-interval-ms and their alias --sqlite-synchronous-full.
  storage::Durability durability = storage::Durability::kImmediate;
  int durability_interval_ms = storage::kDefaultDurabilityIntervalMs;
  std::string auth_hmac_secret;  // empty = the HMAC enhanced-auth plugin is off
  broker::BrokerOptions broker;
  // The $DB document database: request and answer limits, change-log retention.
  size_t db_max_payload = 256 * 1024;
  size_t db_max_inflight = 1024;
  size_t db_max_list_results = 10000;
  int64_t db_event_retention_hours = 24;
  uint64_t db_event_retention_count = 1'000'000;
  // --- authentication and authorization (plugins/file_auth.h) ---
  std::string password_file;            // empty: none
  std::string acl_file;                 // empty: none (everything allowed)
  std::optional<bool> allow_anonymous;  // unset: off with a password file, on without one
  // --- $DB permissions (db/adapter/db_access.h) ---
  std::vector<std::string> admin_users;  // may use $DB/_admin/...; bypass record ownership
  db::OwnershipFields ownership;         // entity -> the field naming a record's owner
  std::vector<PluginConfig> plugins;    // --plugin, in order (plugins/topicdb_plugin.h)
  // --- TLS and WebSocket listeners (issue 16) ---------------------------------------------
  std::vector<ListenAddress> listen_tls;  // MQTT over TLS
  std::vector<ListenAddress> listen_ws;   // MQTT over WebSocket (ws://HOST:PORT/mqtt)
  std::vector<ListenAddress> listen_wss;  // MQTT over WebSocket over TLS
  std::string tls_cert;                   // PEM files shared by the TLS and wss listeners
  std::string tls_key;
  std::string tls_ca;  // empty = no client certificates asked for
  bool tls_require_client_cert = false;
  bool tls_cert_as_username = false;
  // --- end of TLS and WebSocket listeners ---------------------------------------------------
  // Prometheus GET /metrics on an HTTP listener of its own (issue 16); off when unset.
  std::optional<ListenAddress> listen_metrics;
  bool show_help = false;
  bool show_version = false;
};

// Parses `topicdb serve` arguments (argv after the subcommand). A --config file is read
// first and the flags are applied over it.
Result<Config> parse_serve_args(const std::vector<std::string>& args);

// Parses "HOST:PORT" or "[V6HOST]:PORT".
Result<ListenAddress> parse_listen_address(const std::string& text);

// The --help text of `topicdb serve`.
std::string serve_usage();

}  // namespace topicdb::app
