// --durability, --durability-interval-ms and the --sqlite-synchronous-full alias, as flags
// and as --config keys.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "app/config.h"

namespace topicdb::app {
namespace {

using storage::Durability;

// A config file with `contents`, removed by the destructor.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& contents) {
    int fd = mkstemp(path_);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path_) << contents;
  }
  ~ConfigFile() { std::remove(path_); }
  std::string path() const { return path_; }

 private:
  char path_[64] = "/tmp/topicdb-durability-config-XXXXXX";
};

TEST(DurabilityConfigTest, DefaultIsImmediateWithATenMillisecondInterval) {
  auto c = parse_serve_args({});
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->durability, Durability::kImmediate);
  EXPECT_EQ(c->durability_interval_ms, 10);
}

TEST(DurabilityConfigTest, FlagsSetModeAndInterval) {
  auto periodic = parse_serve_args({"--durability", "periodic", "--durability-interval-ms", "5"});
  ASSERT_TRUE(periodic.is_ok()) << periodic.status().to_string();
  EXPECT_EQ(periodic->durability, Durability::kPeriodic);
  EXPECT_EQ(periodic->durability_interval_ms, 5);
  auto none = parse_serve_args({"--durability=none"});
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(none->durability, Durability::kNone);
  auto immediate = parse_serve_args({"--durability", "none", "--durability", "immediate"});
  ASSERT_TRUE(immediate.is_ok());
  EXPECT_EQ(immediate->durability, Durability::kImmediate) << "the last flag wins";
}

TEST(DurabilityConfigTest, SynchronousFullIsAnAlias) {
  auto full = parse_serve_args({"--durability", "none", "--sqlite-synchronous-full", "true"});
  ASSERT_TRUE(full.is_ok());
  EXPECT_EQ(full->durability, Durability::kImmediate);
  auto normal = parse_serve_args({"--sqlite-synchronous-full=false"});
  ASSERT_TRUE(normal.is_ok());
  EXPECT_EQ(normal->durability, Durability::kPeriodic);
  auto later_wins = parse_serve_args({"--sqlite-synchronous-full", "off", "--durability", "none"});
  ASSERT_TRUE(later_wins.is_ok());
  EXPECT_EQ(later_wins->durability, Durability::kNone);
  auto bad = parse_serve_args({"--sqlite-synchronous-full", "maybe"});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "--sqlite-synchronous-full expects true or false, got 'maybe'");
}

TEST(DurabilityConfigTest, ConfigFileKeysAndFlagsWin) {
  ConfigFile file("durability = periodic\ndurability-interval-ms = 250\n");
  auto from_file = parse_serve_args({"--config", file.path()});
  ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();
  EXPECT_EQ(from_file->durability, Durability::kPeriodic);
  EXPECT_EQ(from_file->durability_interval_ms, 250);
  auto flags_win = parse_serve_args({"--config", file.path(), "--durability", "immediate"});
  ASSERT_TRUE(flags_win.is_ok());
  EXPECT_EQ(flags_win->durability, Durability::kImmediate);
  EXPECT_EQ(flags_win->durability_interval_ms, 250);

  ConfigFile alias("sqlite-synchronous-full = false\n");
  auto aliased = parse_serve_args({"--config", alias.path()});
  ASSERT_TRUE(aliased.is_ok());
  EXPECT_EQ(aliased->durability, Durability::kPeriodic);
}

TEST(DurabilityConfigTest, BadValuesGiveOneLineErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--durability", "always"},
            "--durability expects immediate, periodic or none, got 'always'"},
           {{"--durability", ""}, "--durability expects immediate, periodic or none, got ''"},
           {{"--durability-interval-ms", "0"},
            "--durability-interval-ms expects a number from 1 to 60000, got '0'"},
           {{"--durability-interval-ms", "10ms"},
            "--durability-interval-ms expects a number from 1 to 60000, got '10ms'"},
           {{"--durability-interval-ms", "60001"},
            "--durability-interval-ms expects a number from 1 to 60000, got '60001'"},
           {{"--durability"}, "--durability needs a value (MODE)"},
       }) {
    auto parsed = parse_serve_args(c.args);
    ASSERT_FALSE(parsed.is_ok()) << c.args[0];
    EXPECT_EQ(parsed.status().message(), c.message);
    EXPECT_EQ(parsed.status().message().find('\n'), std::string::npos);
  }
  ConfigFile file("\n\ndurability = eventually\n");
  auto from_file = parse_serve_args({"--config", file.path()});
  ASSERT_FALSE(from_file.is_ok());
  EXPECT_EQ(from_file.status().message(),
            file.path() + ":3: --durability expects immediate, periodic or none, got 'eventually'");
}

TEST(DurabilityConfigTest, UsageDocumentsTheModesAndTheAlias) {
  std::string usage = serve_usage();
  for (const char* text : {"--durability MODE", "--durability-interval-ms MS", "immediate",
                           "periodic", "none", "--sqlite-synchronous-full BOOL",
                           "true = --durability immediate", "false = --durability periodic"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace topicdb::app
