// PluginChain and LoadedPlugin with plugins made in the test (descriptors over C-style
// functions): order and deny-wins, defers, pending basic authentication, $DB vetoes, hooks
// beyond a plugin's struct_size, ABI checks, and answers outside the ABI becoming refusals.
#include "plugins/plugin_chain.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace topicdb::plugins {
namespace {

// What a fake plugin answers; its ctx.
struct Fake {
  int authorize_result = TOPICDB_DEFER;
  std::string deny_topic;  // authorize DENY for exactly this topic
  int basic_result = TOPICDB_DEFER;
  std::string deny_user;  // basic_auth DENY for this user
  topicdb_auth_done pending_done = nullptr;
  void* pending_ctx = nullptr;
  int db_result = TOPICDB_ALLOW;
  int db_code = 0;
  const char* db_message = nullptr;
  std::vector<std::string> seen;  // observer calls
  bool destroyed = false;
};

std::string str(topicdb_str s) { return std::string(s.data, s.len); }

int fake_authorize(void* ctx, const topicdb_client*, int, topicdb_str topic, int, int) {
  auto* f = static_cast<Fake*>(ctx);
  if (!f->deny_topic.empty() && str(topic) == f->deny_topic) return TOPICDB_DENY;
  return f->authorize_result;
}

int fake_basic(void* ctx, const topicdb_client* client, topicdb_str, int, topicdb_auth_done done,
               void* done_ctx) {
  auto* f = static_cast<Fake*>(ctx);
  if (f->basic_result == TOPICDB_PENDING) {
    f->pending_done = done;
    f->pending_ctx = done_ctx;
    return TOPICDB_PENDING;
  }
  if (!f->deny_user.empty() && str(client->username) == f->deny_user) return TOPICDB_DENY;
  return f->basic_result;
}

int fake_db_before(void* ctx, const topicdb_client*, const topicdb_db_write* w, int* code,
                   const char** message) {
  auto* f = static_cast<Fake*>(ctx);
  f->seen.push_back("before " + str(w->operation) + " " + str(w->entity));
  *code = f->db_code;
  *message = f->db_message;
  return f->db_result;
}

void fake_on_publish(void* ctx, const topicdb_client* c, topicdb_str topic, topicdb_str, int qos,
                     int) {
  static_cast<Fake*>(ctx)->seen.push_back("publish " + str(c->client_id) + " " + str(topic) + " " +
                                          std::to_string(qos));
}

int garbage_auth_start(void*, const topicdb_client*, void** exchange) {
  *exchange = nullptr;
  return 0;
}
int garbage_auth_step(void*, void*, topicdb_str, const char** out, size_t* out_len, const char**) {
  *out = nullptr;
  *out_len = 7;
  return TOPICDB_AUTH_SUCCESS;
}

void fake_destroy(void* ctx) { static_cast<Fake*>(ctx)->destroyed = true; }

topicdb_plugin descriptor(const char* name) {
  topicdb_plugin d{};
  d.abi_version = TOPICDB_PLUGIN_ABI_VERSION;
  d.struct_size = sizeof(topicdb_plugin);
  d.name = name;
  d.destroy = fake_destroy;
  d.basic_auth = fake_basic;
  d.authorize = fake_authorize;
  d.db_before_write = fake_db_before;
  d.on_publish = fake_on_publish;
  return d;
}

broker::ClientIdentity who(std::string_view user = "ann") {
  broker::ClientIdentity c;
  c.client_id = "c1";
  c.username = user;
  c.has_username = true;
  c.version = mqtt::ProtocolVersion::kV5;
  return c;
}

class PluginChainTest : public ::testing::Test {
 protected:
  // Descriptors must outlive the plugins: kept here.
  std::shared_ptr<PluginChain> chain_of(std::vector<std::pair<topicdb_plugin, Fake*>> plugins) {
    std::vector<std::unique_ptr<LoadedPlugin>> loaded;
    for (auto& [d, fake] : plugins) {
      descriptors_.push_back(std::make_unique<topicdb_plugin>(d));
      auto p = LoadedPlugin::from_descriptor(descriptors_.back().get(), fake, d.name);
      EXPECT_TRUE(p.is_ok()) << p.status().to_string();
      if (p.is_ok()) loaded.push_back(std::move(*p));
    }
    return PluginChain::make(std::move(loaded));
  }
  std::vector<std::unique_ptr<topicdb_plugin>> descriptors_;
};

TEST_F(PluginChainTest, DenyWinsWhateverTheOrderAndAllDefersAllow) {
  Fake allow{.authorize_result = TOPICDB_ALLOW};
  Fake deny{.deny_topic = "x/secret"};
  auto chain = chain_of({{descriptor("allow"), &allow}, {descriptor("deny"), &deny}});
  EXPECT_TRUE(chain->authorize(who(), TOPICDB_ACCESS_PUBLISH, "x/open", 1, false).is_ok());
  Status refused = chain->authorize(who(), TOPICDB_ACCESS_PUBLISH, "x/secret", 1, false);
  EXPECT_EQ(refused.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(refused.message().find("deny"), std::string::npos) << refused.message();

  Fake defer1, defer2;
  auto deferring = chain_of({{descriptor("d1"), &defer1}, {descriptor("d2"), &defer2}});
  EXPECT_TRUE(deferring->authorize(who(), TOPICDB_ACCESS_SUBSCRIBE, "#", 0, false).is_ok());
}

TEST_F(PluginChainTest, AnAnswerOutsideTheAbiIsARefusal) {
  Fake garbage{.authorize_result = 42, .basic_result = -7, .db_result = 99, .db_code = 200};
  auto chain = chain_of({{descriptor("garbage"), &garbage}});
  EXPECT_EQ(chain->authorize(who(), TOPICDB_ACCESS_PUBLISH, "a", 0, false).code(),
            Status::Code::kPermissionDenied);
  std::optional<Status> verdict;
  chain->basic_auth(who(), "pw", [&](Status s) { verdict = s; });
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->code(), Status::Code::kPermissionDenied);
  auto veto = chain->before_db_write(who(), {"create", "e", "", "{}"});
  ASSERT_TRUE(veto);
  EXPECT_EQ(veto->code, 403);
  EXPECT_NE(veto->message.find("garbage failed"), std::string::npos) << veto->message;
}

TEST_F(PluginChainTest, PendingBasicAuthenticationResumesTheChain) {
  Fake pending{.basic_result = TOPICDB_PENDING};
  Fake denier{.deny_user = "eve"};
  auto chain = chain_of({{descriptor("pending"), &pending}, {descriptor("denier"), &denier}});
  for (const char* user : {"ann", "eve"}) {
    std::optional<Status> verdict;
    chain->basic_auth(who(user), "pw", [&](Status s) { verdict = s; });
    EXPECT_FALSE(verdict) << "answered before the pending plugin did";
    ASSERT_NE(pending.pending_done, nullptr);
    pending.pending_done(pending.pending_ctx, TOPICDB_ALLOW, nullptr);
    ASSERT_TRUE(verdict);
    if (std::string(user) == "ann") {
      EXPECT_TRUE(verdict->is_ok()) << verdict->to_string();
    } else {
      EXPECT_EQ(verdict->code(), Status::Code::kUnauthenticated) << "the later plugin denies";
    }
  }
}

TEST_F(PluginChainTest, DbVetoKeepsClientErrorCodesOnlyAndStopsAtTheFirstVeto) {
  Fake conflict{.db_result = TOPICDB_DENY, .db_code = 409, .db_message = "taken elsewhere"};
  Fake later;
  auto chain = chain_of({{descriptor("first"), &conflict}, {descriptor("later"), &later}});
  auto veto = chain->before_db_write(who(), {"update", "orders", "o1", "{}"});
  ASSERT_TRUE(veto);
  EXPECT_EQ(veto->code, 409);
  EXPECT_EQ(veto->message, "taken elsewhere");
  EXPECT_TRUE(later.seen.empty()) << "asked after a veto";

  conflict.db_code = 500;  // not a client error: becomes 403
  conflict.db_message = nullptr;
  veto = chain->before_db_write(who(), {"update", "orders", "o1", "{}"});
  ASSERT_TRUE(veto);
  EXPECT_EQ(veto->code, 403);
  EXPECT_EQ(veto->message, "refused by plugin first");

  conflict.db_result = TOPICDB_ALLOW;
  EXPECT_FALSE(chain->before_db_write(who(), {"delete", "orders", "o1", "{}"}));
  EXPECT_EQ(later.seen, (std::vector<std::string>{"before delete orders"}));
}

TEST_F(PluginChainTest, HooksBeyondThePluginsStructSizeAreAbsent) {
  Fake old_plugin;
  topicdb_plugin d = descriptor("old");
  d.struct_size = offsetof(topicdb_plugin, authorize);  // built before authorize existed
  auto chain = chain_of({{d, &old_plugin}});
  EXPECT_EQ(chain->make_authorizer(), nullptr);
  EXPECT_EQ(chain->make_observer(), nullptr);
  EXPECT_NE(chain->make_authenticator(), nullptr);  // basic_auth lies within its size
}

TEST_F(PluginChainTest, ObserversSeeAcceptedPublishes) {
  Fake watcher;
  auto chain = chain_of({{descriptor("watcher"), &watcher}});
  auto observer = chain->make_observer();
  ASSERT_NE(observer, nullptr);
  observer->on_message_published(who(), "a/b", "payload", 1, false);
  EXPECT_EQ(watcher.seen, (std::vector<std::string>{"publish c1 a/b 1"}));
}

TEST_F(PluginChainTest, ReleasingTheChainDestroysThePlugin) {
  Fake fake;
  auto chain = chain_of({{descriptor("p"), &fake}});
  auto authorizer = chain->make_authorizer();
  chain.reset();
  EXPECT_FALSE(fake.destroyed) << "the authorizer still uses it";
  authorizer.reset();
  EXPECT_TRUE(fake.destroyed);
}

TEST_F(PluginChainTest, GarbageEnhancedAuthDataIsAFailure) {
  Fake fake;
  topicdb_plugin d = descriptor("garbage-auth");
  d.auth_method = "GARBAGE";
  d.auth_start = garbage_auth_start;
  d.auth_step = garbage_auth_step;
  auto chain = chain_of({{d, &fake}});
  auto methods = chain->make_auth_plugins();
  ASSERT_EQ(methods.size(), 1u);
  EXPECT_EQ(methods[0]->method(), "GARBAGE");
  auto exchange = methods[0]->begin("c1", std::string("ann"));
  broker::AuthExchange::Step step = exchange->on_client_data("hi");
  EXPECT_EQ(step.outcome, broker::AuthExchange::Outcome::kFailure);
  EXPECT_TRUE(step.data.empty());
}

TEST(LoadedPluginTest, AnotherAbiVersionOrATooSmallDescriptorIsRefused) {
  Fake fake;
  topicdb_plugin d = descriptor("future");
  d.abi_version = 2;
  auto future = LoadedPlugin::from_descriptor(&d, &fake, "future");
  ASSERT_FALSE(future.is_ok());
  EXPECT_NE(future.status().message().find("ABI version 2"), std::string::npos)
      << future.status().message();
  d.abi_version = TOPICDB_PLUGIN_ABI_VERSION;
  d.struct_size = 8;
  auto tiny = LoadedPlugin::from_descriptor(&d, &fake, "tiny");
  ASSERT_FALSE(tiny.is_ok());
  EXPECT_NE(tiny.status().message().find("too small"), std::string::npos);
  auto missing = LoadedPlugin::load("/nonexistent/plugin.so", {});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("cannot load plugin /nonexistent/plugin.so"),
            std::string::npos);
}

}  // namespace
}  // namespace topicdb::plugins
