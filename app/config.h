// Config: everything `topicdb serve` can be told, from flags and from a config file with
// the same keys (flags win). Parsing returns a Status with a one-line message for the user.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "broker/broker_options.h"

namespace topicdb::app {

struct ListenAddress {
  std::string host;
  int port = 0;
};

struct Config {
  std::vector<ListenAddress> listen;  // empty after parsing means the default 127.0.0.1:1883
  std::string data_dir = "./topicdb-data";
  std::string config_file;
  log::Level log_level = log::Level::kInfo;
  bool sqlite_synchronous_full = true;
  std::string auth_hmac_secret;  // empty = the HMAC enhanced-auth plugin is off
  broker::BrokerOptions broker;
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
