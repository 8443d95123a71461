// The $DB permission options of `topicdb serve`: --admin-user and --ownership, repeatable,
// from flags and the config file, and the refusals of malformed values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "app/config.h"

namespace topicdb::app {
namespace {

TEST(DbAuthConfigTest, NoneByDefault) {
  auto c = parse_serve_args({});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_TRUE(c->admin_users.empty());
  EXPECT_TRUE(c->ownership.empty());
}

TEST(DbAuthConfigTest, RepeatableFromFileAndFlags) {
  char path[] = "/tmp/topicdb-dbauth-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "admin-user = root\nownership = notes:owner\n";
  auto c =
      parse_serve_args({"--config", path, "--admin-user", "ops", "--ownership", "orders:customer"});
  unlink(path);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->admin_users, (std::vector<std::string>{"root", "ops"}));
  ASSERT_EQ(c->ownership.size(), 2u);
  EXPECT_EQ(c->ownership.at("notes"), "owner");
  EXPECT_EQ(c->ownership.at("orders"), "customer");
}

TEST(DbAuthConfigTest, MalformedValuesAreRefused) {
  for (const char* bad : {"notes", "notes:", "_x:owner", "notes:a.b"}) {
    auto c = parse_serve_args({"--ownership", bad});
    EXPECT_FALSE(c.is_ok()) << bad;
  }
  EXPECT_FALSE(parse_serve_args({"--ownership", "n:a", "--ownership", "n:b"}).is_ok());
  EXPECT_FALSE(parse_serve_args({"--admin-user", ""}).is_ok());
  const std::string usage = serve_usage();
  EXPECT_NE(usage.find("--admin-user NAME"), std::string::npos);
  EXPECT_NE(usage.find("--ownership ENTITY:FIELD"), std::string::npos);
}

}  // namespace
}  // namespace topicdb::app
