#include "app/auth_setup.h"

#include <csignal>

#include "base/log.h"
#include "plugins/builtin_file_auth.h"

namespace topicdb::app {

Result<std::unique_ptr<AuthSetup>> AuthSetup::load(const Config& config, uv_loop_t* loop) {
  std::unique_ptr<AuthSetup> setup(new AuthSetup());
  std::vector<std::unique_ptr<plugins::LoadedPlugin>> loaded;
  if (!config.password_file.empty() || !config.acl_file.empty() ||
      !config.allow_anonymous.value_or(true)) {
    plugins::FileAuthOptions options;
    options.password_file = config.password_file;
    options.acl_file = config.acl_file;
    options.allow_anonymous = config.allow_anonymous;
    auto auth = plugins::FileAuth::open(loop, std::move(options));
    if (!auth.is_ok()) return auth.status();
    setup->auth_ = std::move(*auth);
    auto builtin = plugins::make_file_auth_plugin(setup->auth_);
    if (!builtin.is_ok()) return builtin.status();
    loaded.push_back(std::move(*builtin));
    log::info("authentication: password file {}, ACL file {}, anonymous clients {}",
              config.password_file.empty() ? "none" : config.password_file,
              config.acl_file.empty() ? "none" : config.acl_file,
              setup->auth_->allow_anonymous() ? "allowed" : "refused");
  }
  for (const PluginConfig& p : config.plugins) {
    auto plugin = plugins::LoadedPlugin::load(p.path, p.options);
    if (!plugin.is_ok()) return plugin.status();
    log::info("plugin {} loaded from {}", (*plugin)->name(), p.path);
    loaded.push_back(std::move(*plugin));
  }
  if (!loaded.empty()) {
    setup->chain_ = plugins::PluginChain::make(std::move(loaded));
    if (setup->chain_->has_db_hooks())
      setup->db_hooks_ = std::make_unique<PluginDbHooks>(setup->chain_);
  }
  if (setup->auth_) setup->watch_sighup(loop);
  return setup;
}

void AuthSetup::install(broker::Broker& broker) {
  if (!chain_) return;  // nothing to check: the broker's defaults let everyone in
  if (auto authenticator = chain_->make_authenticator()) {
    broker.set_authenticator(std::move(authenticator));
  }
  for (auto& method : chain_->make_auth_plugins()) broker.add_auth_plugin(std::move(method));
  if (auto authorizer = chain_->make_authorizer()) broker.set_authorizer(std::move(authorizer));
  if (auto observer = chain_->make_observer()) broker.set_observer(std::move(observer));
}

void AuthSetup::watch_sighup(uv_loop_t* loop) {
  sighup_ = new uv_signal_t;
  uv_signal_init(loop, sighup_);
  sighup_->data = auth_.get();
  uv_signal_start(
      sighup_,
      [](uv_signal_t* handle, int) {
        log::info("received SIGHUP, rereading the password and ACL files");
        static_cast<plugins::FileAuth*>(handle->data)->reload();
      },
      SIGHUP);
  uv_unref(reinterpret_cast<uv_handle_t*>(sighup_));
}

AuthSetup::~AuthSetup() {
  if (sighup_ == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(sighup_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
}

}  // namespace topicdb::app
