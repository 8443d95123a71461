#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <unistd.h>

namespace topicdb::app {
namespace {

TEST(ConfigTest, DefaultsListenOnLoopback1883) {
  auto c = parse_serve_args({});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_EQ(c->listen.size(), 1u);
  EXPECT_EQ(c->listen[0].host, "127.0.0.1");
  EXPECT_EQ(c->listen[0].port, 1883);
  EXPECT_EQ(c->data_dir, "./topicdb-data");
}

TEST(ConfigTest, RepeatableListenAndLimits) {
  auto c = parse_serve_args({"--listen", "127.0.0.1:0", "--listen=[::1]:1884", "--max-inflight",
                             "5", "--max-packet-size=4096"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_EQ(c->listen.size(), 2u);
  EXPECT_EQ(c->listen[1].host, "::1");
  EXPECT_EQ(c->listen[1].port, 1884);
  EXPECT_EQ(c->broker.max_inflight, 5u);
  EXPECT_EQ(c->broker.max_packet_size, 4096u);
}

TEST(ConfigTest, BadValuesGiveOneLineErrors) {
  auto c = parse_serve_args({"--max-inflight", "zero"});
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("--max-inflight"), std::string::npos);
  EXPECT_FALSE(parse_serve_args({"--listen", "nohost"}).is_ok());
  EXPECT_FALSE(parse_serve_args({"--listen", "h:70000"}).is_ok());
  EXPECT_FALSE(parse_serve_args({"--bogus", "1"}).is_ok());
  EXPECT_FALSE(parse_serve_args({"--data-dir"}).is_ok());
}

TEST(ConfigTest, FileAppliesAndFlagsWin) {
  char path[] = "/tmp/topicdb-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream f(path);
    f << "# comment\nlisten = 127.0.0.1:2000\nmax-inflight 7\ndata-dir = /tmp/from-file\n";
  }
  auto from_file = parse_serve_args({"--config", path});
  ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();
  EXPECT_EQ(from_file->listen[0].port, 2000);
  EXPECT_EQ(from_file->broker.max_inflight, 7u);
  EXPECT_EQ(from_file->data_dir, "/tmp/from-file");

  auto flags_win =
      parse_serve_args({"--max-inflight", "9", "--config", path, "--listen", "127.0.0.1:3000"});
  ASSERT_TRUE(flags_win.is_ok());
  EXPECT_EQ(flags_win->broker.max_inflight, 9u);
  ASSERT_EQ(flags_win->listen.size(), 1u);
  EXPECT_EQ(flags_win->listen[0].port, 3000);
  std::remove(path);
}

TEST(ConfigTest, UnknownKeyInFileNamesTheLine) {
  char path[] = "/tmp/topicdb-config-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  {
    std::ofstream f(path);
    f << "\nnot-a-key = 1\n";
  }
  auto c = parse_serve_args({"--config", path});
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find(":2:"), std::string::npos);
  std::remove(path);
}

TEST(ConfigTest, SlowConsumerOptions) {
  using Action = broker::BrokerOptions::SlowConsumerAction;
  auto defaults = parse_serve_args({});
  ASSERT_TRUE(defaults.is_ok());
  EXPECT_EQ(defaults->broker.slow_consumer_timeout_ms, 5000);
  EXPECT_EQ(defaults->broker.slow_consumer_action, Action::kDrop);
  auto c = parse_serve_args(
      {"--slow-consumer-timeout-ms", "300", "--slow-consumer-action", "disconnect"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->broker.slow_consumer_timeout_ms, 300);
  EXPECT_EQ(c->broker.slow_consumer_action, Action::kDisconnect);
  auto bad = parse_serve_args({"--slow-consumer-action", "ignore"});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("--slow-consumer-action"), std::string::npos);
}

TEST(ConfigTest, UsageMentionsEveryFlag) {
  std::string usage = serve_usage();
  for (const char* flag : {"--listen", "--data-dir", "--config", "--max-packet-size",
                           "--max-connections", "--max-inflight", "--max-queued-messages",
                           "--slow-consumer-timeout-ms", "--slow-consumer-action"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace topicdb::app
