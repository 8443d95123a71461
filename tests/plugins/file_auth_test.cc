// FileAuth: the anonymous rule, password checks off the loop, remembered logins, the ACL
// authorizer, and reloads that keep the old contents when a file is broken.
#include "plugins/file_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

namespace topicdb::plugins {
namespace {

using broker::ClientIdentity;

class FileAuthTest : public ::testing::Test {
 protected:
  FileAuthTest() {
    uv_loop_init(&loop_);
    char tmpl[] = "/tmp/topicdb-file-auth-XXXXXX";
    dir_ = mkdtemp(tmpl);
    passwd_ = dir_ + "/passwd";
    acl_ = dir_ + "/acl";
  }
  ~FileAuthTest() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    std::remove(passwd_.c_str());
    std::remove(acl_.c_str());
    rmdir(dir_.c_str());
  }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  static std::string line(const std::string& user, const std::string& password) {
    return user + ":" + *make_pbkdf2_hash(password, 1000) + "\n";
  }
  std::shared_ptr<FileAuth> open(FileAuthOptions o) {
    auto auth = FileAuth::open(&loop_, std::move(o));
    EXPECT_TRUE(auth.is_ok()) << auth.status().to_string();
    return auth.is_ok() ? *auth : nullptr;
  }
  // Runs one check to its verdict; *synchronous tells whether it came before check returned.
  Status check(FileAuth& auth, std::optional<std::string> user, std::optional<std::string> password,
               bool* synchronous = nullptr) {
    ClientIdentity who;
    who.client_id = "c";
    if (user) {
      who.username = *user;
      who.has_username = true;
    }
    std::optional<Status> verdict;
    std::optional<std::string_view> pw;
    if (password) pw = *password;
    auth.check(who, pw, [&](Status s) { verdict = s; });
    if (synchronous) *synchronous = verdict.has_value();
    while (!verdict) uv_run(&loop_, UV_RUN_ONCE);
    return *verdict;
  }
  uv_loop_t loop_;
  std::string dir_, passwd_, acl_;
};

TEST_F(FileAuthTest, AnonymousIsOffWithAPasswordFileUnlessAllowed) {
  write(passwd_, line("alice", "pw"));
  auto strict = open({.password_file = passwd_});
  EXPECT_FALSE(strict->allow_anonymous());
  EXPECT_EQ(check(*strict, std::nullopt, std::nullopt).code(), Status::Code::kPermissionDenied);
  auto lenient = open({.password_file = passwd_, .allow_anonymous = true});
  EXPECT_TRUE(check(*lenient, std::nullopt, std::nullopt).is_ok());
  auto no_file = open({});
  EXPECT_TRUE(no_file->allow_anonymous());
  EXPECT_EQ(no_file->make_authenticator(), nullptr);  // nothing to check
  auto closed = open({.allow_anonymous = false});
  ASSERT_NE(closed->make_authenticator(), nullptr);
  EXPECT_FALSE(check(*closed, std::nullopt, std::nullopt).is_ok());
  EXPECT_TRUE(check(*closed, std::string("anyone"), std::nullopt).is_ok());
}

TEST_F(FileAuthTest, PasswordsAreCheckedAndGoodOnesRemembered) {
  write(passwd_, line("alice", "pw") + line("bob", "other"));
  auto auth = open({.password_file = passwd_});
  EXPECT_EQ(check(*auth, std::string("alice"), std::string("wrong")).code(),
            Status::Code::kUnauthenticated);
  EXPECT_EQ(check(*auth, std::string("carol"), std::string("pw")).code(),
            Status::Code::kUnauthenticated);
  EXPECT_EQ(check(*auth, std::string("alice"), std::nullopt).code(),
            Status::Code::kUnauthenticated);
  EXPECT_EQ(check(*auth, std::string("bob"), std::string("pw")).code(),
            Status::Code::kUnauthenticated);
  bool synchronous = true;
  EXPECT_TRUE(check(*auth, std::string("alice"), std::string("pw"), &synchronous).is_ok());
  EXPECT_FALSE(synchronous);  // hashed on the thread pool
  EXPECT_TRUE(check(*auth, std::string("alice"), std::string("pw"), &synchronous).is_ok());
  EXPECT_TRUE(synchronous);  // remembered
  EXPECT_FALSE(check(*auth, std::string("alice"), std::string("pw2"), &synchronous).is_ok());
  EXPECT_FALSE(synchronous);
}

TEST_F(FileAuthTest, ReloadAddsUsersAndKeepsTheOldFilesWhenBroken) {
  write(passwd_, line("alice", "pw"));
  write(acl_, "user alice\ntopic readwrite a/#\n");
  auto auth = open({.password_file = passwd_, .acl_file = acl_});
  auto authorizer = auth->make_authorizer();
  ClientIdentity alice{.client_id = "c", .username = "alice", .has_username = true};
  EXPECT_TRUE(authorizer->authorize_publish(alice, "a/1", 0, false).is_ok());
  EXPECT_FALSE(authorizer->authorize_publish(alice, "b/1", 0, false).is_ok());
  EXPECT_FALSE(check(*auth, std::string("bob"), std::string("pw2")).is_ok());

  write(passwd_, line("alice", "pw") + line("bob", "pw2"));
  write(acl_, "user alice\ntopic readwrite b/#\n");
  EXPECT_TRUE(auth->reload().is_ok());
  EXPECT_TRUE(check(*auth, std::string("bob"), std::string("pw2")).is_ok());
  EXPECT_TRUE(authorizer->authorize_publish(alice, "b/1", 0, false).is_ok());
  EXPECT_FALSE(authorizer->authorize_publish(alice, "a/1", 0, false).is_ok());

  write(acl_, "user alice\nbogus line\n");
  std::remove(passwd_.c_str());
  EXPECT_FALSE(auth->reload().is_ok());
  EXPECT_TRUE(check(*auth, std::string("bob"), std::string("pw2")).is_ok());   // old passwords
  EXPECT_TRUE(authorizer->authorize_publish(alice, "b/1", 0, false).is_ok());  // old ACL
  EXPECT_EQ(authorizer->authorize_subscribe(alice, "c/#", 0).code(),
            Status::Code::kPermissionDenied);
}

TEST_F(FileAuthTest, BrokenFilesFailTheStart) {
  write(acl_, "topic maybe x\n");
  EXPECT_FALSE(FileAuth::open(&loop_, {.acl_file = acl_}).is_ok());
  EXPECT_FALSE(FileAuth::open(&loop_, {.password_file = dir_ + "/missing"}).is_ok());
}

}  // namespace
}  // namespace topicdb::plugins
