// MetricsExporter over an in-process broker (harness, memory streams): what a scrape
// answers on each path, and that the figures are the broker's own.
#include "app/metrics_exporter.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/broker/harness/broker_harness.h"

namespace topicdb::app {
namespace {

using broker::harness::BrokerHarness;
using broker::harness::TestClient;

class MetricsExporterTest : public ::testing::Test {
 protected:
  MetricsExporterTest()
      : exporter_(h_.broker().loop(), &h_.clock(), {&h_.broker(), nullptr, nullptr, {}}) {}
  ~MetricsExporterTest() override { exporter_.close(); }

  static net::HttpRequest get(std::string target) {
    net::HttpRequest r;
    r.method = "GET";
    r.path = target.substr(0, target.find('?'));
    r.target = std::move(target);
    return r;
  }
  bool has_line(const std::string& line) {
    return ("\n" + exporter_.render()).find("\n" + line + "\n") != std::string::npos;
  }

  BrokerHarness h_;
  MetricsExporter exporter_;
};

TEST_F(MetricsExporterTest, OnlyMetricsIsServed) {
  net::HttpResponse ok = exporter_.answer(get("/metrics?debug=1"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(ok.body.find("# TYPE topicdb_messages_received_total counter\n"), std::string::npos);
  EXPECT_EQ(exporter_.answer(get("/")).status, 404);
  EXPECT_EQ(exporter_.answer(get("/metricsx")).status, 404);
}

TEST_F(MetricsExporterTest, FiguresFollowTheBroker) {
  TestClient& sub = h_.connect("sub");
  TestClient& pub = h_.connect("pub");
  ASSERT_EQ(sub.subscribe("t/#", 2), 2);
  pub.publish("t/1", "a", 0);
  pub.publish("t/1", "b", 1);
  pub.publish("t/1", "c", 2);
  EXPECT_TRUE(has_line("topicdb_clients_connected 2"));
  EXPECT_TRUE(has_line("topicdb_subscriptions 1"));
  EXPECT_TRUE(has_line("topicdb_messages_received_total 3"));
  EXPECT_TRUE(has_line("topicdb_listener_connections{listener=\"mqtt\"} 2"));
  EXPECT_TRUE(has_line("topicdb_listener_messages_received_total{listener=\"mqtt\",qos=\"2\"} 1"));
  EXPECT_TRUE(has_line("topicdb_listener_messages_sent_total{listener=\"mqtt\",qos=\"0\"} 1"));
  EXPECT_TRUE(has_line("topicdb_listener_messages_sent_total{listener=\"mqtt\",qos=\"1\"} 1"));
  EXPECT_TRUE(has_line("topicdb_listener_messages_sent_total{listener=\"mqtt\",qos=\"2\"} 1"));
  const broker::BrokerStats& stats = h_.broker().stats();
  EXPECT_TRUE(has_line("topicdb_bytes_received_total " + std::to_string(stats.bytes_received)));
  EXPECT_TRUE(has_line("topicdb_listener_bytes_received_total{listener=\"mqtt\"} " +
                       std::to_string(stats.bytes_received)));
  // No listener of another kind was configured or used; no store or $DB handler was given.
  EXPECT_EQ(exporter_.render().find("listener=\"tls\""), std::string::npos);
  EXPECT_EQ(exporter_.render().find("topicdb_store_"), std::string::npos);
  EXPECT_EQ(exporter_.render().find("topicdb_db_"), std::string::npos);

  pub.drop();
  h_.run();
  EXPECT_TRUE(has_line("topicdb_listener_connections{listener=\"mqtt\"} 1"));
  EXPECT_TRUE(has_line("topicdb_listener_connections_total{listener=\"mqtt\"} 2"));
}

}  // namespace
}  // namespace topicdb::app
