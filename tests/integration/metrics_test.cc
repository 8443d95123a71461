// Prometheus /metrics against the real broker: scraped over a real TCP socket while real
// clients (MQTT, WebSocket, $DB requests) use it; every line of the answer is parsed with the
// text format's rules, and the figures must move as the traffic says. Also: other paths and
// methods, and a metrics port that is taken.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

// Before db_client.h: it brings in topicdb::mqtt (the broker's codec), which would hide
// Paho's ::mqtt from this header's unqualified names.
#include "tests/integration/layered_listeners.h"

#include "tests/integration/broker_process.h"
#include "tests/integration/db_client.h"
#include "tests/integration/paho_client.h"
#include "tests/net/test_certificates.h"

namespace topicdb::itest {
namespace {

// Sends `request` on a fresh connection to 127.0.0.1:port and reads until the server closes
// (at most 5 s).
std::string http_exchange(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[16384];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

struct HttpAnswer {
  int status = 0;
  std::string head;  // status line and header fields
  std::string body;
};

HttpAnswer http_get(uint16_t port, const std::string& path, const std::string& method = "GET") {
  std::string raw =
      http_exchange(port, method + " " + path +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: metrics_test\r\n\r\n");
  HttpAnswer a;
  size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
  a.status = std::atoi(raw.c_str() + 9);
  a.head = raw.substr(0, end + 2);
  a.body = raw.substr(end + 4);
  return a;
}

// --- a parser of the text exposition format 0.0.4, written from its specification ---------

struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helps;
  // "name{a=\"x\",b=\"y\"}" (labels sorted) -> value
  std::map<std::string, double> series;
  std::vector<std::string> sample_order;

  // The value of one series, NaN if absent.
  double get(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    auto it = series.find(key(name, labels));
    return it == series.end() ? std::nan("") : it->second;
  }
  static std::string key(const std::string& name,
                         const std::map<std::string, std::string>& labels) {
    std::string k = name + "{";
    for (const auto& [n, v] : labels) k += n + "=\"" + v + "\",";
    return k + "}";
  }
};

bool valid_name(const std::string& s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

bool parse_value(const std::string& s, double* out) {
  if (s == "+Inf") {
    *out = INFINITY;
  } else if (s == "-Inf") {
    *out = -INFINITY;
  } else if (s == "NaN") {
    *out = NAN;
  } else {
    char* end = nullptr;
    *out = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size();
  }
  return true;
}

// The family a sample belongs to: itself, or a histogram's base for _bucket/_sum/_count.
std::string family_of(const Exposition& e, const std::string& name) {
  if (e.types.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() && name.ends_with(s)) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = e.types.find(base);
      if (it != e.types.end() && it->second == "histogram") return base;
    }
  }
  return "";
}

::testing::AssertionResult parse_exposition(const std::string& text, Exposition* e) {
  if (text.empty() || text.back() != '\n') {
    return ::testing::AssertionFailure() << "the text does not end in a newline";
  }
  std::set<std::string> families_with_samples;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    auto fail = [&]() {
      return ::testing::AssertionFailure() << "line " << line_no << ": '" << line << "': ";
    };
    if (line.empty()) return fail() << "empty line";
    if (line[0] == '#') {
      std::istringstream in(line);
      std::string hash, kind, name;
      in >> hash >> kind >> name;
      if (hash != "#" || (kind != "HELP" && kind != "TYPE")) return fail() << "unknown comment";
      if (!valid_name(name, true)) return fail() << "bad metric name";
      std::string rest = line.substr(std::min(line.size(), 2 + kind.size() + 1 + name.size() + 1));
      if (kind == "HELP") {
        if (!e->helps.insert(name).second) return fail() << "second HELP";
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' &&
              (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))) {
            return fail() << "bad escape in HELP";
          }
          if (rest[i] == '\\') ++i;
        }
      } else {
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(rest)) return fail() << "unknown type";
        if (e->types.count(name)) return fail() << "second TYPE";
        if (families_with_samples.count(name)) return fail() << "TYPE after samples";
        e->types[name] = rest;
        if (rest == "counter" && !name.ends_with("_total"))
          return fail() << "counter without _total";
      }
      continue;
    }
    // name [{labels}] value
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string name = line.substr(0, i);
    if (!valid_name(name, true)) return fail() << "bad metric name";
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail() << "label without '='";
        std::string lname = line.substr(i, eq - i);
        if (!valid_name(lname, false)) return fail() << "bad label name '" << lname << "'";
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail() << "unquoted label value";
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) return fail() << "dangling escape";
            char c = line[++j];
            if (c == 'n') {
              value += '\n';
            } else if (c == '\\' || c == '"') {
              value += c;
            } else {
              return fail() << "bad escape in label value";
            }
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return fail() << "unterminated label value";
        if (!labels.emplace(lname, value).second) return fail() << "repeated label";
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail() << "unterminated label set";
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return fail() << "no space before the value";
    std::string value_text = line.substr(i + 1);
    double value = 0;
    if (!parse_value(value_text, &value)) return fail() << "bad value (or a timestamp)";
    std::string family = family_of(*e, name);
    if (family.empty()) return fail() << "sample before its TYPE";
    if (!e->helps.count(family)) return fail() << "no HELP for " << family;
    families_with_samples.insert(family);
    const std::string k = Exposition::key(name, labels);
    if (!e->series.emplace(k, value).second) return fail() << "duplicate series";
    e->sample_order.push_back(k);
  }
  return ::testing::AssertionSuccess();
}

// Every histogram's buckets are cumulative and its +Inf bucket equals _count.
::testing::AssertionResult check_histogram(const Exposition& e, const std::string& name) {
  double previous = 0;
  double inf = std::nan("");
  size_t buckets = 0;
  for (const std::string& k : e.sample_order) {
    if (k.rfind(name + "_bucket{", 0) != 0) continue;
    ++buckets;
    double v = e.series.at(k);
    if (v < previous) return ::testing::AssertionFailure() << k << " is below the bucket before";
    previous = v;
    if (k.find("le=\"+Inf\"") != std::string::npos) inf = v;
  }
  if (buckets < 2) return ::testing::AssertionFailure() << name << ": too few buckets";
  if (inf != e.get(name + "_count")) {
    return ::testing::AssertionFailure()
           << name << ": +Inf bucket " << inf << " != _count " << e.get(name + "_count");
  }
  if (std::isnan(e.get(name + "_sum"))) return ::testing::AssertionFailure() << "no _sum";
  return ::testing::AssertionSuccess();
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        broker_.start(dir_.path(), {"--sys-interval", "0", "--listen-metrics", "127.0.0.1:0",
                                    "--listen-ws", "127.0.0.1:0", "--max-queued-messages", "2"}));
    metrics_port_ = ready_port(broker_.ready_line(), "metrics");
    ws_port_ = ready_port(broker_.ready_line(), "ws");
    ASSERT_NE(metrics_port_, 0) << broker_.ready_line();
    ASSERT_NE(ws_port_, 0) << broker_.ready_line();
  }

  // GET /metrics, checked line by line.
  Exposition scrape() {
    HttpAnswer a = http_get(metrics_port_, "/metrics");
    EXPECT_EQ(a.status, 200) << a.head;
    EXPECT_NE(a.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << a.head;
    Exposition e;
    EXPECT_TRUE(parse_exposition(a.body, &e)) << a.body;
    return e;
  }

  TempDir dir_;
  BrokerProcess broker_;
  uint16_t metrics_port_ = 0;
  uint16_t ws_port_ = 0;
};

using L = std::map<std::string, std::string>;

TEST_F(MetricsTest, EveryLineIsValidAndTheFiguresFollowTheTraffic) {
  Exposition before = scrape();
  for (const char* family :
       {"topicdb_messages_received_total", "topicdb_clients_connected", "topicdb_uptime_seconds",
        "topicdb_listener_connections", "topicdb_listener_messages_sent_total",
        "topicdb_store_commit_duration_seconds", "topicdb_db_operations_total"}) {
    EXPECT_TRUE(before.types.count(family)) << family;
  }
  EXPECT_EQ(before.types["topicdb_store_commit_duration_seconds"], "histogram");
  EXPECT_EQ(before.get("topicdb_listener_connections", {{"listener", "ws"}}), 0)
      << "a configured listener is shown before its first connection";
  EXPECT_TRUE(std::isnan(before.get("topicdb_listener_connections", {{"listener", "tls"}})))
      << "an unconfigured one is not";
  EXPECT_EQ(before.get("topicdb_build_info", {{"version", "0.1.0"}}), 1);

  // MQTT: one subscriber at QoS 1, one publisher at QoS 0, 1, 1 and 2; one WebSocket
  // publisher at QoS 1.
  PahoClient sub(broker_.port(), "m-sub");
  PahoClient pub(broker_.port(), "m-pub");
  ASSERT_TRUE(sub.connect());
  ASSERT_TRUE(sub.subscribe("m/#", 1));
  ASSERT_TRUE(pub.connect());
  ASSERT_TRUE(pub.publish("m/a", "q0", 0));
  ASSERT_TRUE(pub.publish("m/a", "q1", 1));
  ASSERT_TRUE(pub.publish("m/a", "q1", 1));
  ASSERT_TRUE(pub.publish("m/a", "q2", 2));
  UriClient ws("ws://127.0.0.1:" + std::to_string(ws_port_) + "/mqtt", "m-ws");
  ASSERT_TRUE(ws.connect());
  ASSERT_TRUE(ws.publish("m/ws", "from the browser", 1));
  std::vector<::mqtt::const_message_ptr> got;
  ASSERT_TRUE(sub.receive_n(5, &got));

  // $DB: one create, one read of a missing record, one malformed request (all QoS 1).
  db::DbClient requester(broker_.port(), "m-db");
  ASSERT_TRUE(requester.connect());
  EXPECT_TRUE(db::is_ok(requester.request("$DB/things/create", R"({"n":1})")));
  EXPECT_TRUE(db::is_error(requester.request("$DB/things/nope", "{}"), 404));
  EXPECT_TRUE(db::is_error(requester.request("$DB/things/create", "{bad"), 400));

  Exposition after = scrape();
  auto delta = [&](const std::string& name, const L& labels = {}) {
    return after.get(name, labels) - before.get(name, labels);
  };
  EXPECT_EQ(delta("topicdb_messages_received_total"), 8) << "4 + 1 publishes, 3 requests";
  EXPECT_EQ(delta("topicdb_listener_messages_received_total", {{"listener", "mqtt"}, {"qos", "0"}}),
            1);
  EXPECT_EQ(delta("topicdb_listener_messages_received_total", {{"listener", "mqtt"}, {"qos", "1"}}),
            5);
  EXPECT_EQ(delta("topicdb_listener_messages_received_total", {{"listener", "mqtt"}, {"qos", "2"}}),
            1);
  EXPECT_EQ(delta("topicdb_listener_messages_received_total", {{"listener", "ws"}, {"qos", "1"}}),
            1);
  // Out: the subscriber's 5 (QoS 0 stays 0, the rest are capped at its QoS 1) and the 3
  // answers (QoS 1, as asked), all on the plain listener.
  EXPECT_EQ(delta("topicdb_messages_sent_total"), 8);
  EXPECT_EQ(delta("topicdb_listener_messages_sent_total", {{"listener", "mqtt"}, {"qos", "0"}}), 1);
  EXPECT_EQ(delta("topicdb_listener_messages_sent_total", {{"listener", "mqtt"}, {"qos", "1"}}), 7);
  EXPECT_EQ(delta("topicdb_listener_messages_sent_total", {{"listener", "ws"}, {"qos", "1"}}), 0);
  EXPECT_EQ(after.get("topicdb_listener_connections", {{"listener", "mqtt"}}), 3);
  EXPECT_EQ(after.get("topicdb_listener_connections", {{"listener", "ws"}}), 1);
  EXPECT_EQ(delta("topicdb_listener_connections_total", {{"listener", "ws"}}), 1);
  EXPECT_EQ(after.get("topicdb_clients_connected"), 4);
  EXPECT_EQ(delta("topicdb_connections_total"), 4);
  EXPECT_GT(delta("topicdb_listener_bytes_received_total", {{"listener", "ws"}}), 16)
      << "at least the payload";
  EXPECT_GT(delta("topicdb_listener_bytes_sent_total", {{"listener", "mqtt"}}), 5 * 2);
  EXPECT_EQ(delta("topicdb_bytes_received_total"),
            delta("topicdb_listener_bytes_received_total", {{"listener", "mqtt"}}) +
                delta("topicdb_listener_bytes_received_total", {{"listener", "ws"}}));
  EXPECT_EQ(after.get("topicdb_subscriptions"), 2) << "m/# and the requester's reply topic";

  EXPECT_EQ(after.get("topicdb_db_operations_total", {{"op", "create"}, {"result", "ok"}}), 1);
  EXPECT_EQ(after.get("topicdb_db_operations_total", {{"op", "read"}, {"result", "404"}}), 1);
  EXPECT_EQ(after.get("topicdb_db_operations_total", {{"op", "invalid"}, {"result", "400"}}), 1);

  EXPECT_TRUE(check_histogram(after, "topicdb_store_commit_duration_seconds"));
  EXPECT_GE(delta("topicdb_store_commit_duration_seconds_count"), 1) << "the create committed";
  EXPECT_GT(delta("topicdb_store_commit_duration_seconds_sum"), 0);
  EXPECT_GE(delta("topicdb_store_commits_total"), 1);
  EXPECT_EQ(after.get("topicdb_store_healthy"), 1);

  // Disconnects leave the gauges.
  ASSERT_TRUE(pub.disconnect());
  ASSERT_TRUE(wait_until(
      [&] {
        return scrape().get("topicdb_listener_connections", {{"listener", "mqtt"}}) == 2;
      },
      milliseconds(5000)));
}

TEST_F(MetricsTest, DropsForAnAbsentSessionCountOnlyInTheTotal) {
  {
    PahoClient away(broker_.port(), "m-away");
    PahoConnectOptions persistent;
    persistent.clean_session = false;
    ASSERT_TRUE(away.connect(persistent));
    ASSERT_TRUE(away.subscribe("drop/#", 1));
    ASSERT_TRUE(away.disconnect());
  }
  // The session is away once the broker has closed its connection.
  ASSERT_TRUE(wait_until(
      [&] {
        return scrape().get("topicdb_listener_connections", {{"listener", "mqtt"}}) == 0;
      },
      milliseconds(5000)));
  Exposition before = scrape();
  PahoClient pub(broker_.port(), "m-dropper");
  ASSERT_TRUE(pub.connect());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pub.publish("drop/x", "m" + std::to_string(i), 1));
  Exposition after = scrape();
  // --max-queued-messages 2: three of five were dropped for the absent session.
  EXPECT_EQ(
      after.get("topicdb_messages_dropped_total") - before.get("topicdb_messages_dropped_total"),
      3);
  EXPECT_EQ(after.get("topicdb_listener_messages_dropped_total", {{"listener", "mqtt"}}), 0)
      << "no connection of any listener was involved";
}

TEST_F(MetricsTest, OtherPathsMethodsAndBadRequests) {
  HttpAnswer other = http_get(metrics_port_, "/");
  EXPECT_EQ(other.status, 404) << other.head;
  EXPECT_EQ(http_get(metrics_port_, "/metrics/x").status, 404);
  HttpAnswer post = http_get(metrics_port_, "/metrics", "POST");
  EXPECT_EQ(post.status, 405) << post.head;
  EXPECT_NE(post.head.find("Allow: GET, HEAD"), std::string::npos);
  HttpAnswer head = http_get(metrics_port_, "/metrics", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(http_get(metrics_port_, "/metrics?name[]=x").status, 200) << "the query is ignored";

  std::string bad = http_exchange(metrics_port_, "this is not http\r\n\r\n");
  EXPECT_EQ(bad.rfind("HTTP/1.1 400 ", 0), 0u) << bad;
  // An MQTT client on the metrics port is refused by HTTP, and the broker is unharmed.
  std::string mqtt =
      http_exchange(metrics_port_, std::string("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\r\n\r\n", 16));
  EXPECT_EQ(mqtt.rfind("HTTP/1.1 400 ", 0), 0u) << mqtt;
  std::string huge = http_exchange(
      metrics_port_, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge.rfind("HTTP/1.1 431 ", 0), 0u) << huge.substr(0, 80);
  EXPECT_EQ(http_get(metrics_port_, "/metrics").status, 200);
  EXPECT_TRUE(broker_.running());

  // A scraper that connected and never sent a byte does not hold up a graceful shutdown.
  int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(metrics_port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_TRUE(broker_.stop(milliseconds(5000)));
  ::close(idle);
}

TEST(MetricsPortTest, ATakenPortStopsTheBrokerWithOneLine) {
  TempDir first_dir;
  BrokerProcess first;
  ASSERT_TRUE(first.start(first_dir.path(), {"--listen-metrics", "127.0.0.1:0"}));
  const uint16_t taken = ready_port(first.ready_line(), "metrics");
  ASSERT_NE(taken, 0);
  TempDir second_dir;
  ProcessResult r = run_process(
      {TOPICDB_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", second_dir.path(),
       "--log-level", "off", "--listen-metrics", "127.0.0.1:" + std::to_string(taken)},
      milliseconds(10000));
  ASSERT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.output.find("topicdb ready"), std::string::npos) << r.output;
  EXPECT_EQ(r.output, "topicdb: cannot listen on 127.0.0.1:" + std::to_string(taken) +
                          ": address already in use\n");
  EXPECT_TRUE(first.running());
}

TEST(MetricsTlsTest, TlsTrafficCountsUnderItsOwnListener) {
  std::string error;
  std::unique_ptr<test_support::TestCertificates> certs =
      test_support::TestCertificates::make(&error);
  ASSERT_NE(certs, nullptr) << error;
  TempDir dir;
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(dir.path(), {"--sys-interval", "0", "--listen-metrics", "127.0.0.1:0",
                                        "--listen-tls", "127.0.0.1:0", "--tls-cert",
                                        certs->server_cert(), "--tls-key", certs->server_key()}));
  const uint16_t metrics_port = ready_port(broker.ready_line(), "metrics");
  const uint16_t tls_port = ready_port(broker.ready_line(), "tls");
  ASSERT_NE(metrics_port, 0) << broker.ready_line();
  ASSERT_NE(tls_port, 0) << broker.ready_line();

  ::mqtt::ssl_options ssl;
  ssl.set_trust_store(certs->ca_cert());
  ssl.set_enable_server_cert_auth(true);
  ssl.set_verify(true);
  UriClient client("ssl://127.0.0.1:" + std::to_string(tls_port), "m-tls");
  ASSERT_TRUE(client.connect({ssl, std::nullopt}));
  ASSERT_TRUE(client.subscribe("secure/#", 1));
  ASSERT_TRUE(client.publish("secure/a", "over tls", 1));
  ASSERT_TRUE(client.receive());

  HttpAnswer a = http_get(metrics_port, "/metrics");
  ASSERT_EQ(a.status, 200);
  Exposition e;
  ASSERT_TRUE(parse_exposition(a.body, &e)) << a.body;
  EXPECT_EQ(e.get("topicdb_listener_connections", {{"listener", "tls"}}), 1);
  EXPECT_EQ(e.get("topicdb_listener_connections", {{"listener", "mqtt"}}), 0);
  EXPECT_EQ(e.get("topicdb_listener_messages_received_total", {{"listener", "tls"}, {"qos", "1"}}),
            1);
  EXPECT_EQ(e.get("topicdb_listener_messages_sent_total", {{"listener", "tls"}, {"qos", "1"}}), 1);
  // MQTT bytes, not TLS records: the plaintext of CONNECT, SUBSCRIBE, PUBLISH and the rest is
  // well under a kilobyte, where the handshake alone would be more.
  const double in = e.get("topicdb_listener_bytes_received_total", {{"listener", "tls"}});
  EXPECT_GT(in, 20);
  EXPECT_LT(in, 200);
  EXPECT_TRUE(std::isnan(e.get("topicdb_listener_connections", {{"listener", "wss"}})));
}

TEST(MetricsPortTest, OffByDefault) {
  TempDir dir;
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(dir.path()));
  EXPECT_EQ(broker.ready_line().find("metrics="), std::string::npos) << broker.ready_line();
}

}  // namespace
}  // namespace topicdb::itest
