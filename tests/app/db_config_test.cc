// The $DB options of `topicdb serve`: defaults, flags, config-file keys, bad values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "app/config.h"

namespace topicdb::app {
namespace {

TEST(DbConfigTest, Defaults) {
  auto c = parse_serve_args({});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->db_max_payload, 256u * 1024);
  EXPECT_EQ(c->db_max_inflight, 1024u);
  EXPECT_EQ(c->db_max_list_results, 10000u);
  EXPECT_EQ(c->db_event_retention_hours, 24);
  EXPECT_EQ(c->db_event_retention_count, 1'000'000u);
}

TEST(DbConfigTest, Flags) {
  auto c = parse_serve_args({"--db-max-payload", "1000", "--db-max-inflight=3",
                             "--db-event-retention-hours", "2", "--db-event-retention-count", "50",
                             "--db-max-list-results", "25"});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->db_max_payload, 1000u);
  EXPECT_EQ(c->db_max_inflight, 3u);
  EXPECT_EQ(c->db_event_retention_hours, 2);
  EXPECT_EQ(c->db_event_retention_count, 50u);
  EXPECT_EQ(c->db_max_list_results, 25u);
}

TEST(DbConfigTest, ConfigFileKeysAndFlagsWin) {
  char path[] = "/tmp/topicdb-dbconfig-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "db-max-payload = 4096\ndb-max-inflight 7\ndb-event-retention-hours = 48\n"
           "db-event-retention-count = 10\n";
  }
  auto c = parse_serve_args({"--config", path, "--db-max-inflight", "9"});
  std::remove(path);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->db_max_payload, 4096u);
  EXPECT_EQ(c->db_max_inflight, 9u);
  EXPECT_EQ(c->db_event_retention_hours, 48);
  EXPECT_EQ(c->db_event_retention_count, 10u);
}

TEST(DbConfigTest, BadValuesNameTheFlag) {
  for (const char* flag : {"--db-max-payload", "--db-max-inflight", "--db-event-retention-hours",
                           "--db-event-retention-count", "--db-max-list-results"}) {
    auto c = parse_serve_args({flag, "0"});
    ASSERT_FALSE(c.is_ok()) << flag;
    EXPECT_NE(c.status().message().find(flag), std::string::npos) << c.status().message();
  }
  EXPECT_FALSE(parse_serve_args({"--db-max-inflight", "many"}).is_ok());
}

TEST(DbConfigTest, UsageListsTheDbFlags) {
  const std::string usage = serve_usage();
  for (const char* flag : {"--db-max-payload", "--db-max-inflight", "--db-event-retention-hours",
                           "--db-event-retention-count", "--db-max-list-results"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace topicdb::app
