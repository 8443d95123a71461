// --plugin and --plugin-opt: order kept, options bound to the --plugin before them, the same
// keys in a config file (before the flags), and malformed options refused at parse time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "app/config.h"

namespace topicdb::app {
namespace {

TEST(PluginConfigTest, OptionsBelongToThePluginBeforeThem) {
  auto c = parse_serve_args({"--plugin", "a.so", "--plugin-opt", "file=/tmp/x=y", "--plugin",
                             "b.so", "--plugin-opt=k=", "--plugin-opt", "k2=v2"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_EQ(c->plugins.size(), 2u);
  EXPECT_EQ(c->plugins[0].path, "a.so");
  ASSERT_EQ(c->plugins[0].options.size(), 1u);
  EXPECT_EQ(c->plugins[0].options[0].first, "file");
  EXPECT_EQ(c->plugins[0].options[0].second, "/tmp/x=y");
  EXPECT_EQ(c->plugins[1].path, "b.so");
  ASSERT_EQ(c->plugins[1].options.size(), 2u);
  EXPECT_EQ(c->plugins[1].options[0].second, "");
  EXPECT_EQ(c->plugins[1].options[1].first, "k2");
}

TEST(PluginConfigTest, MalformedOptionsAreRefused) {
  EXPECT_FALSE(parse_serve_args({"--plugin-opt", "a=b"}).is_ok()) << "no --plugin before it";
  EXPECT_FALSE(parse_serve_args({"--plugin", "a.so", "--plugin-opt", "novalue"}).is_ok());
  EXPECT_FALSE(parse_serve_args({"--plugin", "a.so", "--plugin-opt", "=v"}).is_ok());
  EXPECT_FALSE(parse_serve_args({"--plugin", ""}).is_ok());
}

TEST(PluginConfigTest, ConfigFilePluginsComeBeforeFlagPlugins) {
  char path[] = "/tmp/topicdb_plugin_config_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "plugin = file.so\nplugin-opt = file=audit.jsonl\n";
  auto c = parse_serve_args({"--config", path, "--plugin", "flag.so"});
  std::remove(path);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  ASSERT_EQ(c->plugins.size(), 2u);
  EXPECT_EQ(c->plugins[0].path, "file.so");
  ASSERT_EQ(c->plugins[0].options.size(), 1u);
  EXPECT_EQ(c->plugins[0].options[0].second, "audit.jsonl");
  EXPECT_EQ(c->plugins[1].path, "flag.so");
}

}  // namespace
}  // namespace topicdb::app
