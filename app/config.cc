#include "app/config.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace topicdb::app {

namespace {

template <typename T>
Status parse_number(const std::string& key, const std::string& text, T min, T max, T* out) {
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    return Status::invalid_argument("--" + key + " expects a number from " + std::to_string(min) +
                                    " to " + std::to_string(max) + ", got '" + text + "'");
  }
  *out = value;
  return Status::ok();
}

Status parse_bool(const std::string& key, const std::string& text, bool* out) {
  if (text == "true" || text == "on" || text == "1" || text == "yes") {
    *out = true;
  } else if (text == "false" || text == "off" || text == "0" || text == "no") {
    *out = false;
  } else {
    return Status::invalid_argument("--" + key + " expects true or false, got '" + text + "'");
  }
  return Status::ok();
}

// --- TLS and WebSocket listeners (issue 16) ------------------------------------------------
Status add_listen(const std::string& key, const std::string& text, std::vector<ListenAddress>* to);
Status set_path(const std::string& key, const std::string& value, std::string* to) {
  if (value.empty()) return Status::invalid_argument("--" + key + " must not be empty");
  *to = value;
  return Status::ok();
}
// --- end of TLS and WebSocket listeners ---------------------------------------------------

// One option: its key (the flag without "--", also the config-file key), a value
// placeholder for --help, its help text and how to apply a value.
struct Option {
  const char* key;
  const char* value_name;
  const char* help;
  std::function<Status(Config&, const std::string&)> apply;
};

const std::vector<Option>& options() {
  static const std::vector<Option> kOptions = {
      {"listen", "HOST:PORT",
       "address to accept MQTT connections on; repeatable; port 0 picks a free port "
       "(default 127.0.0.1:1883)",
       [](Config& c, const std::string& v) -> Status {
         auto addr = parse_listen_address(v);
         if (!addr.is_ok()) return addr.status();
         c.listen.push_back(*addr);
         return Status::ok();
       }},
      {"data-dir", "DIR", "directory for the SQLite database (default ./topicdb-data)",
       [](Config& c, const std::string& v) -> Status {
         if (v.empty()) return Status::invalid_argument("--data-dir must not be empty");
         c.data_dir = v;
         return Status::ok();
       }},
      {"log-level", "LEVEL", "debug, info, warn, error or off (default info)",
       [](Config& c, const std::string& v) -> Status {
         if (!log::parse_level(v, &c.log_level)) {
           return Status::invalid_argument(
               "--log-level expects debug, info, warn, error or off, "
               "got '" +
               v + "'");
         }
         return Status::ok();
       }},
      {"max-packet-size", "BYTES",
       "largest MQTT packet accepted; larger ones close the connection (default 1048576)",
       [](Config& c, const std::string& v) {
         return parse_number<uint32_t>("max-packet-size", v, 64, 268435460,
                                       &c.broker.max_packet_size);
       }},
      {"max-connections", "N", "concurrent client connections (default 100000)",
       [](Config& c, const std::string& v) {
         return parse_number<size_t>("max-connections", v, 1, 10000000, &c.broker.max_connections);
       }},
      {"max-inflight", "N", "QoS 1/2 messages in flight to one client (default 64)",
       [](Config& c, const std::string& v) {
         return parse_number<size_t>("max-inflight", v, 1, 65535, &c.broker.max_inflight);
       }},
      {"max-queued-messages", "N",
       "messages queued per session before new QoS 1/2 messages for it are dropped "
       "(default 1000)",
       [](Config& c, const std::string& v) {
         return parse_number<size_t>("max-queued-messages", v, 1, 100000000,
                                     &c.broker.max_queued_messages);
       }},
      {"slow-consumer-timeout-ms", "MS",
       "a subscriber holding publishers back with no ack and no bytes drained for this long "
       "is stuck and holds no one (default 5000)",
       [](Config& c, const std::string& v) {
         return parse_number<int64_t>("slow-consumer-timeout-ms", v, 10, 86400000,
                                      &c.broker.slow_consumer_timeout_ms);
       }},
      {"slow-consumer-action", "ACTION",
       "for a stuck subscriber: drop (what exceeds its bounds, counted) or disconnect "
       "(default drop)",
       [](Config& c, const std::string& v) -> Status {
         using Action = broker::BrokerOptions::SlowConsumerAction;
         if (v == "drop") {
           c.broker.slow_consumer_action = Action::kDrop;
         } else if (v == "disconnect") {
           c.broker.slow_consumer_action = Action::kDisconnect;
         } else {
           return Status::invalid_argument(
               "--slow-consumer-action expects drop or disconnect, got '" + v + "'");
         }
         return Status::ok();
       }},
      {"connect-timeout-ms", "MS", "time a new connection has to send CONNECT (default 10000)",
       [](Config& c, const std::string& v) {
         return parse_number<int64_t>("connect-timeout-ms", v, 100, 3600000,
                                      &c.broker.connect_timeout_ms);
       }},
      {"receive-maximum", "N",
       "MQTT 5: unacknowledged QoS 1/2 messages a client may send us (default 1024)",
       [](Config& c, const std::string& v) {
         return parse_number<uint16_t>("receive-maximum", v, 1, 65535, &c.broker.receive_maximum);
       }},
      {"topic-alias-maximum", "N",
       "MQTT 5: topic aliases a client may define towards us; 0 disables (default 64)",
       [](Config& c, const std::string& v) {
         return parse_number<uint16_t>("topic-alias-maximum", v, 0, 65535,
                                       &c.broker.topic_alias_maximum);
       }},
      {"max-keep-alive", "SECONDS",
       "MQTT 5: longest keep alive accepted, else the server's is imposed; 0 = any (default 0)",
       [](Config& c, const std::string& v) {
         return parse_number<uint16_t>("max-keep-alive", v, 0, 65535, &c.broker.max_keep_alive_s);
       }},
      {"max-session-expiry", "SECONDS",
       "MQTT 5: upper bound on a client's session expiry interval (default 4294967295 = none)",
       [](Config& c, const std::string& v) {
         return parse_number<uint32_t>("max-session-expiry", v, 0, 0xFFFFFFFF,
                                       &c.broker.max_session_expiry_s);
       }},
      {"sys-interval", "SECONDS",
       "how often $SYS/broker/... topics are published; 0 = off (default 10)",
       [](Config& c, const std::string& v) {
         return parse_number<uint32_t>("sys-interval", v, 0, 86400, &c.broker.sys_interval_s);
       }},
      {"db-max-payload", "BYTES",
       "largest $DB request payload; a larger one gets a 413 answer (default 262144)",
       [](Config& c, const std::string& v) {
         return parse_number<size_t>("db-max-payload", v, 2, 268435455, &c.db_max_payload);
       }},
      {"db-max-inflight", "N",
       "$DB requests of one connection running at once, QoS 0 included; beyond it a 503 "
       "answer (default 1024)",
       [](Config& c, const std::string& v) {
         return parse_number<size_t>("db-max-inflight", v, 1, 1000000, &c.db_max_inflight);
       }},
      {"db-max-list-results", "N",
       "most records one $DB list answers; a list asking for more gets a 400 (default 10000)",
       [](Config& c, const std::string& v) {
         return parse_number<size_t>("db-max-list-results", v, 1, 1000000, &c.db_max_list_results);
       }},
      {"db-event-retention-hours", "H", "hours the $DB change log is kept for replay (default 24)",
       [](Config& c, const std::string& v) {
         return parse_number<int64_t>("db-event-retention-hours", v, 1, 87600,
                                      &c.db_event_retention_hours);
       }},
      {"db-event-retention-count", "N",
       "most events the $DB change log keeps for replay (default 1000000)",
       [](Config& c, const std::string& v) {
         return parse_number<uint64_t>("db-event-retention-count", v, 1, 1000000000000,
                                       &c.db_event_retention_count);
       }},
      {"auth-hmac-secret", "SECRET",
       "enables MQTT 5 enhanced authentication method TOPICDB-HMAC-SHA256 with this shared "
       "secret (put it in the --config file rather than on the command line)",
       [](Config& c, const std::string& v) -> Status {
         if (v.size() < 8)
           return Status::invalid_argument("--auth-hmac-secret needs at least 8 characters");
         c.auth_hmac_secret = v;
         return Status::ok();
       }},
      {"durability", "MODE",
       "immediate: every commit is fsynced before it is acknowledged; periodic: acknowledged "
       "on commit, fsynced in the background at least every --durability-interval-ms; none: "
       "acknowledged on commit, SQLite never fsyncs (a power loss may lose or damage "
       "anything). Governs broker state and $DB alike; see docs/durability.md "
       "(default immediate)",
       [](Config& c, const std::string& v) -> Status {
         auto mode = storage::parse_durability(v);
         if (!mode.is_ok()) return mode.status();
         c.durability = *mode;
         return Status::ok();
       }},
      {"durability-interval-ms", "MS",
       "periodic and none: the background fsync runs at most once per MS while there are "
       "unsynced commits, so a commit waits about MS (plus the fsync) before it is durable "
       "and its $DB change events go (default 10)",
       [](Config& c, const std::string& v) {
         return parse_number<int>("durability-interval-ms", v, 1, 60000, &c.durability_interval_ms);
       }},
      {"sqlite-synchronous-full", "BOOL",
       "alias kept from earlier releases: true = --durability immediate, false = "
       "--durability periodic (the later of the two options wins)",
       [](Config& c, const std::string& v) -> Status {
         bool full = true;
         TDB_RETURN_IF_ERROR(parse_bool("sqlite-synchronous-full", v, &full));
         c.durability = full ? storage::Durability::kImmediate : storage::Durability::kPeriodic;
         return Status::ok();
       }},
      // --- authentication and authorization ---
      {"password-file", "FILE",
       "users and password hashes in mosquitto's format ($7$, $6$, $argon2id$; see 'topicdb "
       "passwd'); reread on SIGHUP",
       [](Config& c, const std::string& v) -> Status {
         if (v.empty()) return Status::invalid_argument("--password-file must not be empty");
         c.password_file = v;
         return Status::ok();
       }},
      {"acl-file", "FILE",
       "who may publish and subscribe to what, in mosquitto's ACL format (deny wins; no "
       "matching rule = denied); reread on SIGHUP",
       [](Config& c, const std::string& v) -> Status {
         if (v.empty()) return Status::invalid_argument("--acl-file must not be empty");
         c.acl_file = v;
         return Status::ok();
       }},
      {"allow-anonymous", "BOOL",
       "let clients in without a user name (default: false with --password-file, else true)",
       [](Config& c, const std::string& v) -> Status {
         bool allow = false;
         TDB_RETURN_IF_ERROR(parse_bool("allow-anonymous", v, &allow));
         c.allow_anonymous = allow;
         return Status::ok();
       }},
      {"admin-user", "NAME",
       "a user who may use $DB/_admin/... (schemas, indexes) and sees every owned record; "
       "repeatable. Without one: everyone may use _admin without --password-file, nobody with "
       "it",
       [](Config& c, const std::string& v) -> Status {
         if (v.empty()) return Status::invalid_argument("--admin-user must not be empty");
         c.admin_users.push_back(v);
         return Status::ok();
       }},
      {"ownership", "ENTITY:FIELD",
       "records of ENTITY belong to the user named in their top-level FIELD: only that user "
       "(and admins) reads, lists, changes and hears of them; a create without FIELD gets the "
       "user's name; repeatable",
       [](Config& c, const std::string& v) { return db::parse_ownership(v, &c.ownership); }},
      {"plugin", "PATH",
       "load the shared library PATH as a plugin (docs/plugins.md); repeatable, asked in "
       "order, deny wins",
       [](Config& c, const std::string& v) -> Status {
         if (v.empty()) return Status::invalid_argument("--plugin must not be empty");
         c.plugins.push_back({v, {}});
         return Status::ok();
       }},
      {"plugin-opt", "KEY=VALUE", "an option for the --plugin before it; repeatable",
       [](Config& c, const std::string& v) -> Status {
         const size_t eq = v.find('=');
         if (c.plugins.empty())
           return Status::invalid_argument("--plugin-opt needs a --plugin before it");
         if (eq == std::string::npos || eq == 0) {
           return Status::invalid_argument("--plugin-opt expects KEY=VALUE, got '" + v + "'");
         }
         c.plugins.back().options.emplace_back(v.substr(0, eq), v.substr(eq + 1));
         return Status::ok();
       }},
      {"auth-fail-delay-ms", "MS",
       "a failed login is refused after this delay, doubling with each failure from the same "
       "address up to 16 times it; 0 = at once (default 500)",
       [](Config& c, const std::string& v) {
         return parse_number<int64_t>("auth-fail-delay-ms", v, 0, 60000,
                                      &c.broker.auth_fail_delay_ms);
       }},
      // --- TLS and WebSocket listeners (issue 16) ------------------------------------------
      {"listen-tls", "HOST:PORT",
       "address to accept MQTT over TLS on (needs --tls-cert, --tls-key); repeatable; port 0 "
       "picks a free port",
       [](Config& c, const std::string& v) { return add_listen("listen-tls", v, &c.listen_tls); }},
      {"listen-ws", "HOST:PORT",
       "address to accept MQTT over WebSocket on (path /mqtt, subprotocol mqtt); repeatable",
       [](Config& c, const std::string& v) { return add_listen("listen-ws", v, &c.listen_ws); }},
      {"listen-wss", "HOST:PORT",
       "address to accept MQTT over WebSocket over TLS on (the --tls-* certificate); "
       "repeatable",
       [](Config& c, const std::string& v) { return add_listen("listen-wss", v, &c.listen_wss); }},
      {"tls-cert", "FILE", "PEM certificate (chain) of the TLS and wss listeners",
       [](Config& c, const std::string& v) { return set_path("tls-cert", v, &c.tls_cert); }},
      {"tls-key", "FILE", "PEM private key of --tls-cert",
       [](Config& c, const std::string& v) { return set_path("tls-key", v, &c.tls_key); }},
      {"tls-ca", "FILE",
       "PEM CA certificates: clients may present a certificate it signed (mutual TLS)",
       [](Config& c, const std::string& v) { return set_path("tls-ca", v, &c.tls_ca); }},
      {"tls-require-client-cert", "BOOL",
       "refuse TLS clients without a certificate signed by --tls-ca (default false)",
       [](Config& c, const std::string& v) {
         return parse_bool("tls-require-client-cert", v, &c.tls_require_client_cert);
       }},
      {"tls-cert-as-username", "BOOL",
       "the client certificate's CN is the MQTT user name, whatever CONNECT says; needs "
       "--tls-require-client-cert true (default false)",
       [](Config& c, const std::string& v) {
         return parse_bool("tls-cert-as-username", v, &c.tls_cert_as_username);
       }},
      // --- end of TLS and WebSocket listeners ----------------------------------------------
      {"listen-metrics", "HOST:PORT",
       "serve Prometheus metrics on GET http://HOST:PORT/metrics (see docs/metrics.md); port 0 "
       "picks a free port (default: off)",
       [](Config& c, const std::string& v) -> Status {
         std::vector<ListenAddress> one;
         TDB_RETURN_IF_ERROR(add_listen("listen-metrics", v, &one));
         c.listen_metrics = one.front();  // the last one given wins
         return Status::ok();
       }},
  };
  return kOptions;
}

const Option* find_option(const std::string& key) {
  for (const Option& o : options()) {
    if (key == o.key) return &o;
  }
  return nullptr;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Config file: one "key = value" (or "key value") per line, '#' starts a comment.
Status apply_config_file(const std::string& path, Config* config) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read config file '" + path + "'");
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    size_t sep = line.find_first_of("= \t");
    std::string key = trim(line.substr(0, sep));
    std::string value = sep == std::string::npos ? "" : trim(line.substr(sep + 1));
    if (!value.empty() && value[0] == '=') value = trim(value.substr(1));
    const Option* option = find_option(key);
    if (option == nullptr || key == "config") {
      return Status::invalid_argument(path + ":" + std::to_string(line_no) + ": unknown key '" +
                                      key + "'");
    }
    Status s = option->apply(*config, value);
    if (!s.is_ok()) {
      return Status::invalid_argument(path + ":" + std::to_string(line_no) + ": " + s.message());
    }
  }
  return Status::ok();
}

// --- TLS and WebSocket listeners (issue 16) ------------------------------------------------
Status add_listen(const std::string& key, const std::string& text, std::vector<ListenAddress>* to) {
  auto addr = parse_listen_address(text);
  if (!addr.is_ok()) {
    return Status::invalid_argument("--" + key + " expects HOST:PORT (port 0-65535), got '" + text +
                                    "'");
  }
  to->push_back(*addr);
  return Status::ok();
}

// What the options mean together; the certificate files themselves are loaded (and their
// errors reported) when the listeners start.
Status check_tls_options(const Config& c) {
  const bool tls = !c.listen_tls.empty() || !c.listen_wss.empty();
  if (tls && (c.tls_cert.empty() || c.tls_key.empty())) {
    return Status::invalid_argument("--listen-tls and --listen-wss need --tls-cert and --tls-key");
  }
  if (c.tls_require_client_cert && c.tls_ca.empty()) {
    return Status::invalid_argument("--tls-require-client-cert needs --tls-ca");
  }
  if (c.tls_cert_as_username && !c.tls_require_client_cert) {
    // Without a certificate the user name would be whatever the client claims.
    return Status::invalid_argument("--tls-cert-as-username needs --tls-require-client-cert true");
  }
  return Status::ok();
}
// --- end of TLS and WebSocket listeners ---------------------------------------------------

}  // namespace

Result<ListenAddress> parse_listen_address(const std::string& text) {
  ListenAddress addr;
  std::string port_text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find("]:");
    if (close == std::string::npos) {
      return Status::invalid_argument("--listen expects HOST:PORT, got '" + text + "'");
    }
    addr.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::invalid_argument("--listen expects HOST:PORT, got '" + text + "'");
    }
    addr.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  Status s = parse_number<int>("listen", port_text, 0, 65535, &addr.port);
  if (!s.is_ok())
    return Status::invalid_argument("--listen port must be 0-65535 in '" + text + "'");
  return addr;
}

Result<Config> parse_serve_args(const std::vector<std::string>& args) {
  // Pass 1: find --config, so the file is applied before the flags that override it.
  Config config;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" || args[i].rfind("--config=", 0) == 0) {
      if (args[i] == "--config") {
        if (i + 1 >= args.size()) return Status::invalid_argument("--config needs a FILE");
        config.config_file = args[i + 1];
      } else {
        config.config_file = args[i].substr(9);
      }
    }
  }
  if (!config.config_file.empty())
    TDB_RETURN_IF_ERROR(apply_config_file(config.config_file, &config));
  std::vector<ListenAddress> file_listen = std::move(config.listen);
  config.listen.clear();

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config.show_help = true;
      continue;
    }
    if (arg == "--version") {
      config.show_version = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      return Status::invalid_argument("unexpected argument '" + arg + "'");
    std::string key = arg.substr(2);
    std::string value;
    size_t eq = key.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = key.substr(eq + 1);
      key.resize(eq);
    }
    if (key == "config") {
      if (!has_value) ++i;
      continue;
    }
    const Option* option = find_option(key);
    if (option == nullptr) return Status::invalid_argument("unknown option '--" + key + "'");
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return Status::invalid_argument("--" + key + " needs a value (" + option->value_name + ")");
      }
      value = args[++i];
    }
    TDB_RETURN_IF_ERROR(option->apply(config, value));
  }
  // Flags win: listen addresses from the file apply only when no --listen flag was given.
  if (config.listen.empty()) config.listen = std::move(file_listen);
  if (config.listen.empty()) config.listen.push_back({"127.0.0.1", 1883});
  TDB_RETURN_IF_ERROR(check_tls_options(config));  // TLS and WebSocket listeners (issue 16)
  return config;
}

std::string serve_usage() {
  std::ostringstream out;
  out << "Usage: topicdb serve [OPTIONS]\n\n"
         "Runs the TopicDB MQTT broker (MQTT 3.1.1 and 5.0). Prints one line\n"
         "'topicdb ready listeners=HOST:PORT[,...] data_dir=DIR' when it accepts connections.\n"
         "SIGINT or SIGTERM shut it down gracefully.\n\nOptions:\n";
  out << "  --config FILE\n      read options from FILE: one 'key = value' per line, keys as "
         "below without '--'; flags given on the command line win\n";
  for (const Option& o : options()) {
    out << "  --" << o.key << " " << o.value_name << "\n      " << o.help << "\n";
  }
  out << "  --help\n      show this text\n  --version\n      print the version\n";
  return out.str();
}

}  // namespace topicdb::app
