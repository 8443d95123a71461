// The built-in file-auth plugin through the C ABI and PluginChain, as the broker asks it: the
// hooks it offers follow the files, a password verified on the thread pool answers through
// the pending completion, the ACL denies, $DB operations are deferred, SCRAM is offered.
#include "plugins/builtin_file_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "plugins/plugin_chain.h"

namespace topicdb::plugins {
namespace {

class BuiltinFileAuthTest : public ::testing::Test {
 protected:
  BuiltinFileAuthTest() {
    uv_loop_init(&loop_);
    char tmpl[] = "/tmp/topicdb-builtin-auth-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/passwd") << "ann:" << *make_pbkdf2_hash("secret", 1000) << "\n";
    std::ofstream(dir_ + "/acl") << "user ann\ntopic readwrite ann/#\n";
  }
  ~BuiltinFileAuthTest() override {
    chain_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    std::remove((dir_ + "/passwd").c_str());
    std::remove((dir_ + "/acl").c_str());
    rmdir(dir_.c_str());
  }
  void make(bool with_acl) {
    FileAuthOptions o;
    o.password_file = dir_ + "/passwd";
    if (with_acl) o.acl_file = dir_ + "/acl";
    auto auth = FileAuth::open(&loop_, std::move(o));
    ASSERT_TRUE(auth.is_ok()) << auth.status().to_string();
    auto plugin = make_file_auth_plugin(*auth);
    ASSERT_TRUE(plugin.is_ok()) << plugin.status().to_string();
    std::vector<std::unique_ptr<LoadedPlugin>> plugins;
    plugins.push_back(std::move(*plugin));
    chain_ = PluginChain::make(std::move(plugins));
  }
  Status login(const std::string& user, const std::string& password) {
    broker::ClientIdentity who;
    who.client_id = "c1";
    who.username = user;
    who.has_username = true;
    std::optional<Status> verdict;
    chain_->basic_auth(who, password, [&](Status s) { verdict = s; });
    while (!verdict) uv_run(&loop_, UV_RUN_ONCE);
    return *verdict;
  }
  static broker::ClientIdentity ann() {
    broker::ClientIdentity who;
    who.client_id = "c1";
    who.username = "ann";
    who.has_username = true;
    return who;
  }

  uv_loop_t loop_;
  std::string dir_;
  std::shared_ptr<PluginChain> chain_;
};

TEST_F(BuiltinFileAuthTest, PasswordsGoThroughThePendingCompletion) {
  make(false);
  EXPECT_TRUE(login("ann", "secret").is_ok());
  EXPECT_EQ(login("ann", "wrong").code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(login("nobody", "secret").code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(chain_->make_authorizer(), nullptr) << "no ACL file: no authorize hook";
  auto methods = chain_->make_auth_plugins();
  ASSERT_EQ(methods.size(), 1u);
  EXPECT_EQ(methods[0]->method(), kScramMethod);
}

TEST_F(BuiltinFileAuthTest, TheAclDeniesAndDbOperationsAreDeferred) {
  make(true);
  auto authorizer = chain_->make_authorizer();
  ASSERT_NE(authorizer, nullptr);
  EXPECT_TRUE(authorizer->authorize_publish(ann(), "ann/x", 1, false).is_ok());
  EXPECT_EQ(authorizer->authorize_publish(ann(), "bob/x", 1, false).code(),
            Status::Code::kPermissionDenied);
  EXPECT_EQ(authorizer->authorize_subscribe(ann(), "#", 0).code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(chain_->authorize(ann(), TOPICDB_ACCESS_DB, "$DB/orders/create", 0, false).is_ok());
}

}  // namespace
}  // namespace topicdb::plugins
