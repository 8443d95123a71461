// PluginChain: the broker's side of the C plugin ABI. It holds the plugins in the order they
// were configured (built-in first) and turns them into the broker's seams: Authenticator,
// Authorizer, AuthPlugins (enhanced methods), BrokerObserver, and the $DB write checks the
// app wires into the db adapter. The broker talks to plugins only through here.
//
// Plugins are asked in order and deny wins: one DENY refuses, whatever the others said; when
// every plugin defers, what the broker does without plugins applies (allow). A hook that
// answers outside the ABI (an unknown result, a NULL where data was promised) is a refusal,
// logged with the plugin's name; it never takes the broker down.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "broker/auth_plugin.h"
#include "broker/authenticator.h"
#include "broker/authorizer.h"
#include "broker/broker_observer.h"
#include "plugins/loaded_plugin.h"
#include "plugins/topicdb_plugin.h"

namespace topicdb::plugins {

// A $DB write as plugins see it (topicdb_db_write). Views, valid during the call.
struct DbWrite {
  std::string_view operation;  // "create", "update", "delete", "schema_set", "index_add"
  std::string_view entity;
  std::string_view id;
  std::string_view body;  // the request's JSON object
};

// A plugin's veto of a $DB write: the error answer the client gets.
struct DbVeto {
  int code = 403;
  std::string message;
};

// topicdb_client for `who`, borrowing its views.
topicdb_client to_c_client(const broker::ClientIdentity& who);

class PluginChain : public std::enable_shared_from_this<PluginChain> {
 public:
  static std::shared_ptr<PluginChain> make(std::vector<std::unique_ptr<LoadedPlugin>> plugins);

  size_t size() const { return plugins_.size(); }
  const LoadedPlugin& plugin(size_t i) const { return *plugins_[i]; }

  // The broker's seams, each null (or empty) when no plugin offers the hook. They share this
  // chain, which lives as long as the last of them.
  std::unique_ptr<broker::Authenticator> make_authenticator();
  std::unique_ptr<broker::Authorizer> make_authorizer();
  std::vector<std::unique_ptr<broker::AuthPlugin>> make_auth_plugins();
  std::unique_ptr<broker::BrokerObserver> make_observer();
  bool has_db_hooks() const;
  // Whether any plugin offers `hook` (e.g. &topicdb_plugin::db_before_write).
  template <typename Hook>
  bool offers(Hook topicdb_plugin::*hook) const {
    for (const auto& p : plugins_)
      if (p->hooks().*hook != nullptr) return true;
    return false;
  }

  // Basic authentication through every plugin with basic_auth, in order (the pending ones
  // answer later). `done` runs once on the loop thread: ok, kUnauthenticated (DENY) or
  // kPermissionDenied (NOT_AUTHORIZED, or a plugin that failed).
  void basic_auth(const broker::ClientIdentity& client, std::optional<std::string_view> password,
                  broker::Authenticator::Verdict done);
  // One authorization check (access: TOPICDB_ACCESS_*). ok or kPermissionDenied.
  Status authorize(const broker::ClientIdentity& client, int access, std::string_view topic,
                   int qos, bool retain);
  // The $DB write hooks: the first veto, or nullopt when every plugin lets it through.
  std::optional<DbVeto> before_db_write(const broker::ClientIdentity& client, const DbWrite& write);
  void after_db_write(const broker::ClientIdentity& client, const DbWrite& write,
                      std::string_view result_json);
  // Observers (BrokerObserver forwards here).
  void on_connect(const broker::ClientIdentity& client);
  void on_disconnect(const broker::ClientIdentity& client);
  void on_publish(const broker::ClientIdentity& client, std::string_view topic,
                  std::string_view payload, uint8_t qos, bool retain);

 private:
  explicit PluginChain(std::vector<std::unique_ptr<LoadedPlugin>> plugins)
      : plugins_(std::move(plugins)) {}

  std::vector<std::unique_ptr<LoadedPlugin>> plugins_;
};

}  // namespace topicdb::plugins
