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
#include <memory>
#include <string>
#include <vector>

// Before db_client.h: it brings in topicdb::mqtt (the broker's codec), which would hide
// Paho's ::mqtt from this header's unqualified names.
#include "tests/integration/layered_listeners.h"

#include "tests/integration/broker_process.h"
#include "tests/integration/db_client.h"
#include "tests/integration/metrics_scrape.h"
#include "tests/integration/paho_client.h"
#include "tests/net/test_certificates.h"

namespace topicdb::itest {
namespace {

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

// The scrape parser itself refuses what the format forbids, so a pass above means something.
TEST(MetricsScrapeParserTest, RefusesWhatTheFormatForbids) {
  const std::string ok = "# HELP a_total h\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
  Exposition e;
  ASSERT_TRUE(parse_exposition(ok, &e));
  EXPECT_EQ(e.get("a_total", {{"x", "1"}}), 3);
  for (const std::string& bad : std::vector<std::string>{
           std::string("a_total 1\n"),                          // no HELP, no TYPE
           std::string("# HELP a h\n# TYPE a counter\na 1\n"),  // counter without _total
           ok + "a_total{x=\"1\"} 4\n",                         // duplicate series
           ok.substr(0, ok.size() - 1),                         // no final newline
           "# HELP g h\n# TYPE g gauge\ng{x=\"a\\qb\"} 1\n",    // bad escape
           "# HELP g h\n# TYPE g gauge\ng 1 1700000000\n",      // a timestamp
           "# HELP g h\n# TYPE g gauge\ng{x=1} 1\n",            // unquoted value
           "# HELP g h\n# TYPE g gauge\n\ng 1\n",               // empty line
           "# HELP g h\n# TYPE g nonsense\ng 1\n",              // unknown type
           "# HELP g h\n# TYPE g gauge\ng one\n",               // not a number
       }) {
    Exposition x;
    EXPECT_FALSE(parse_exposition(bad, &x)) << bad;
  }
}

TEST(MetricsPortTest, OffByDefault) {
  TempDir dir;
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(dir.path()));
  EXPECT_EQ(broker.ready_line().find("metrics="), std::string::npos) << broker.ready_line();
}

}  // namespace
}  // namespace topicdb::itest
