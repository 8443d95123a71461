// AuthSetup: the plugins of `topicdb serve`: the built-in one with the password file, the ACL
// file, SCRAM and the anonymous rule (plugins/builtin_file_auth.h), then every --plugin
// library, all behind the C ABI and one PluginChain. It puts the chain's seams into the
// broker and the db adapter, and rereads both files on SIGHUP without dropping a connection.
// Without files, plugins and with anonymous access on, it installs nothing.
#pragma once

#include <memory>

#include <uv.h>

#include "app/config.h"
#include "app/plugin_db_hooks.h"
#include "base/status.h"
#include "broker/broker.h"
#include "plugins/file_auth.h"
#include "plugins/plugin_chain.h"

namespace topicdb::app {

class AuthSetup {
 public:
  // Loads the files and the plugins, in order; an unreadable file or a plugin that cannot
  // load is a one-line error. Call before the broker is made, so the plugins outlive it.
  static Result<std::unique_ptr<AuthSetup>> load(const Config& config, uv_loop_t* loop);
  // Installs the broker's Authenticator, Authorizer, enhanced methods and observer. Call
  // before the broker listens.
  void install(broker::Broker& broker);
  // The $DB hooks for DbTopicHandler's options; null when no plugin has any. Owned here.
  db::adapter::DbRequestHooks* db_hooks() const { return db_hooks_.get(); }
  // Closes the SIGHUP watcher; its memory is freed by the loop's next run.
  ~AuthSetup();
  AuthSetup(const AuthSetup&) = delete;
  AuthSetup& operator=(const AuthSetup&) = delete;

 private:
  AuthSetup() = default;
  void watch_sighup(uv_loop_t* loop);

  std::shared_ptr<plugins::FileAuth> auth_;      // null: no files, anonymous allowed
  std::shared_ptr<plugins::PluginChain> chain_;  // null: no plugin at all
  std::unique_ptr<PluginDbHooks> db_hooks_;
  uv_signal_t* sighup_ = nullptr;  // unreferenced: it never keeps the loop running
};

}  // namespace topicdb::app
