#include "app/prometheus_text.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace topicdb::app {
namespace {

using Type = PrometheusText::Type;

TEST(PrometheusTextTest, FamilyHasHelpAndTypeThenItsSamples) {
  PrometheusText out;
  out.family("topicdb_messages_sent_total", Type::kCounter, "PUBLISH packets to clients.");
  out.sample("topicdb_messages_sent_total", {}, uint64_t{42});
  out.family("topicdb_listener_connections", Type::kGauge, "Open connections.");
  out.sample("topicdb_listener_connections", {{"listener", "mqtt"}}, uint64_t{3});
  out.sample("topicdb_listener_connections", {{"listener", "tls"}, {"qos", "1"}}, uint64_t{0});
  EXPECT_EQ(out.text(),
            "# HELP topicdb_messages_sent_total PUBLISH packets to clients.\n"
            "# TYPE topicdb_messages_sent_total counter\n"
            "topicdb_messages_sent_total 42\n"
            "# HELP topicdb_listener_connections Open connections.\n"
            "# TYPE topicdb_listener_connections gauge\n"
            "topicdb_listener_connections{listener=\"mqtt\"} 3\n"
            "topicdb_listener_connections{listener=\"tls\",qos=\"1\"} 0\n");
}

TEST(PrometheusTextTest, LabelValuesAndHelpAreEscaped) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_help("one\\two\nthree \"quoted\""), "one\\\\two\\nthree \"quoted\"");
  PrometheusText out;
  out.family("x_total", Type::kCounter, "line\nbreak");
  out.sample("x_total", {{"op", "say \"hi\"\n"}}, uint64_t{1});
  EXPECT_EQ(out.text(),
            "# HELP x_total line\\nbreak\n# TYPE x_total counter\n"
            "x_total{op=\"say \\\"hi\\\"\\n\"} 1\n");
}

TEST(PrometheusTextTest, UnsignedValuesAreExactAndDoublesShortest) {
  PrometheusText out;
  out.family("big", Type::kGauge, "h");
  out.sample("big", {}, std::numeric_limits<uint64_t>::max());
  out.sample("big", {}, 0.1);
  out.sample("big", {}, 2.5e-7);
  EXPECT_EQ(out.text(),
            "# HELP big h\n# TYPE big gauge\nbig 18446744073709551615\nbig 0.1\nbig 2.5e-07\n");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(5.0), "5");
  EXPECT_EQ(format_value(0.00025), "0.00025");
  EXPECT_EQ(format_value(-1.5), "-1.5");
  EXPECT_EQ(format_value(0.0), "0");
  EXPECT_EQ(format_value(1e300), "1e+300");
  // Whatever the form, the text reads back as the same double.
  for (double v : {0.1, 1.0 / 3, 123456.789, 2.5e-7, 9.99e14, 1e15, 6.02e23}) {
    EXPECT_EQ(std::strtod(format_value(v).c_str(), nullptr), v) << format_value(v);
  }
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  PrometheusText out;
  out.family("lat_seconds", Type::kHistogram, "Latency.");
  const std::array<double, 3> bounds = {0.001, 0.01, 0.1};
  const std::array<uint64_t, 4> counts = {2, 0, 3, 1};  // per bucket; the last is above 0.1
  out.histogram("lat_seconds", {{"store", "main"}}, bounds, counts, 0.75);
  EXPECT_EQ(out.text(),
            "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{store=\"main\",le=\"0.001\"} 2\n"
            "lat_seconds_bucket{store=\"main\",le=\"0.01\"} 2\n"
            "lat_seconds_bucket{store=\"main\",le=\"0.1\"} 5\n"
            "lat_seconds_bucket{store=\"main\",le=\"+Inf\"} 6\n"
            "lat_seconds_sum{store=\"main\"} 0.75\n"
            "lat_seconds_count{store=\"main\"} 6\n");
  PrometheusText bare;
  bare.histogram("h", {}, bounds, counts, 1);
  EXPECT_NE(bare.text().find("h_bucket{le=\"+Inf\"} 6\nh_sum 1\nh_count 6\n"), std::string::npos)
      << bare.text();
}

TEST(PrometheusTextTest, MetricNames) {
  EXPECT_TRUE(is_valid_metric_name("topicdb_store_commit_duration_seconds"));
  EXPECT_TRUE(is_valid_metric_name("a:b_c9"));
  EXPECT_TRUE(is_valid_metric_name("_x"));
  EXPECT_FALSE(is_valid_metric_name(""));
  EXPECT_FALSE(is_valid_metric_name("9lives"));
  EXPECT_FALSE(is_valid_metric_name("has-dash"));
  EXPECT_FALSE(is_valid_metric_name("has space"));
}

}  // namespace
}  // namespace topicdb::app
