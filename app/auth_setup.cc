#include "app/auth_setup.h"

#include <csignal>

#include "base/log.h"

namespace topicdb::app {

Result<std::unique_ptr<AuthSetup>> AuthSetup::install(const Config& config, uv_loop_t* loop,
                                                      broker::Broker& broker) {
  std::unique_ptr<AuthSetup> setup(new AuthSetup());
  if (config.password_file.empty() && config.acl_file.empty() &&
      config.allow_anonymous.value_or(true)) {
    return setup;  // nothing to check: the broker's defaults let everyone in
  }
  plugins::FileAuthOptions options;
  options.password_file = config.password_file;
  options.acl_file = config.acl_file;
  options.allow_anonymous = config.allow_anonymous;
  auto auth = plugins::FileAuth::open(loop, std::move(options));
  if (!auth.is_ok()) return auth.status();
  setup->auth_ = std::move(*auth);
  if (auto authenticator = setup->auth_->make_authenticator()) {
    broker.set_authenticator(std::move(authenticator));
  }
  if (auto scram = setup->auth_->make_scram_plugin()) broker.add_auth_plugin(std::move(scram));
  if (auto authorizer = setup->auth_->make_authorizer()) {
    broker.set_authorizer(std::move(authorizer));
  }
  log::info("authentication: password file {}, ACL file {}, anonymous clients {}",
            config.password_file.empty() ? "none" : config.password_file,
            config.acl_file.empty() ? "none" : config.acl_file,
            setup->auth_->allow_anonymous() ? "allowed" : "refused");

  setup->sighup_ = new uv_signal_t;
  uv_signal_init(loop, setup->sighup_);
  setup->sighup_->data = setup->auth_.get();
  uv_signal_start(
      setup->sighup_,
      [](uv_signal_t* handle, int) {
        log::info("received SIGHUP, rereading the password and ACL files");
        static_cast<plugins::FileAuth*>(handle->data)->reload();
      },
      SIGHUP);
  uv_unref(reinterpret_cast<uv_handle_t*>(setup->sighup_));
  return setup;
}

AuthSetup::~AuthSetup() {
  if (sighup_ == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(sighup_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
}

}  // namespace topicdb::app
