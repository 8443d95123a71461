// --listen-metrics (issue 16): off by default, the flag, the config-file key, bad values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "app/config.h"

namespace topicdb::app {
namespace {

TEST(MetricsConfigTest, OffByDefault) {
  auto c = parse_serve_args({});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_FALSE(c->listen_metrics.has_value());
}

TEST(MetricsConfigTest, FlagTheLastOneWins) {
  auto c = parse_serve_args({"--listen-metrics", "0.0.0.0:9883", "--listen-metrics=[::1]:0"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_TRUE(c->listen_metrics.has_value());
  EXPECT_EQ(c->listen_metrics->host, "::1");
  EXPECT_EQ(c->listen_metrics->port, 0);
  ASSERT_EQ(c->listen.size(), 1u) << "the MQTT listener keeps its default";
  EXPECT_EQ(c->listen[0].port, 1883);
}

TEST(MetricsConfigTest, BadAddressesAreRefusedNamingTheFlag) {
  for (const char* bad : {"9883", "127.0.0.1:70000", "127.0.0.1:", ""}) {
    auto c = parse_serve_args({"--listen-metrics", bad});
    ASSERT_FALSE(c.is_ok()) << bad;
    EXPECT_NE(c.status().message().find("--listen-metrics"), std::string::npos)
        << c.status().message();
  }
}

TEST(MetricsConfigTest, ConfigFileKeyAndTheFlagOverIt) {
  char path[] = "/tmp/topicdb-metrics-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "listen-metrics = 127.0.0.1:9883\n";
  }
  auto from_file = parse_serve_args({"--config", path});
  auto overridden = parse_serve_args({"--config", path, "--listen-metrics", "127.0.0.1:9999"});
  unlink(path);
  ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();
  ASSERT_TRUE(from_file->listen_metrics.has_value());
  EXPECT_EQ(from_file->listen_metrics->port, 9883);
  ASSERT_TRUE(overridden.is_ok());
  EXPECT_EQ(overridden->listen_metrics->port, 9999);
}

}  // namespace
}  // namespace topicdb::app
