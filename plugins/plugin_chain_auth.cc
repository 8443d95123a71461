// PluginChain's authentication: basic authentication asked of each plugin in turn (a plugin
// may answer later, TOPICDB_PENDING), and each plugin's enhanced method as a broker
// AuthPlugin.
#include <limits>

#include "base/log.h"
#include "plugins/plugin_chain.h"

namespace topicdb::plugins {

namespace {

constexpr size_t kNotWaiting = std::numeric_limits<size_t>::max();

class ChainAuthenticator final : public broker::Authenticator {
 public:
  explicit ChainAuthenticator(std::shared_ptr<PluginChain> chain) : chain_(std::move(chain)) {}
  void check(const broker::ClientIdentity& client, std::optional<std::string_view> password,
             Verdict done) override {
    chain_->basic_auth(client, password, std::move(done));
  }

 private:
  std::shared_ptr<PluginChain> chain_;
};

// One login going through the chain. Owns copies of what it hands to plugins, since a
// pending plugin answers after the broker's views are gone.
class BasicAuthRun : public std::enable_shared_from_this<BasicAuthRun> {
 public:
  BasicAuthRun(std::shared_ptr<PluginChain> chain, const broker::ClientIdentity& who,
               std::optional<std::string_view> password, broker::Authenticator::Verdict done)
      : chain_(std::move(chain)),
        client_id_(who.client_id),
        username_(who.username),
        address_(who.address),
        has_username_(who.has_username),
        version_(who.version),
        done_(std::move(done)) {
    if (password) password_ = std::string(*password);
  }

  // Asks the plugins from `next_` on until one answers later, one refuses, or all agreed.
  void run() {
    while (next_ < chain_->size()) {
      const size_t index = next_++;
      const LoadedPlugin& p = chain_->plugin(index);
      if (p.hooks().basic_auth == nullptr) continue;
      broker::ClientIdentity who{client_id_, username_, has_username_, version_, address_};
      const topicdb_client client = to_c_client(who);
      auto* pending = new Pending{shared_from_this(), index};
      waiting_for_ = index;
      const std::string_view password = password_ ? *password_ : std::string_view();
      const int rc = p.hooks().basic_auth(p.ctx(), &client, {password.data(), password.size()},
                                          password_ ? 1 : 0, &BasicAuthRun::on_done, pending);
      if (rc == TOPICDB_PENDING) return;  // on_done continues (it may already have)
      if (waiting_for_ != index) {
        // It answered through `done` during the call and also returned: the answer given
        // through `done` stands (and already moved the run on).
        return;
      }
      delete pending;  // not pending: the plugin must not call done
      waiting_for_ = kNotWaiting;
      if (!take(index, rc, nullptr)) return;
    }
    finish(Status::ok());
  }

 private:
  struct Pending {
    std::shared_ptr<BasicAuthRun> run;
    size_t index;
  };

  static void on_done(void* ctx, int result, const char* reason) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(ctx));
    BasicAuthRun& run = *pending->run;
    if (run.waiting_for_ != pending->index || run.finished_) return;
    run.waiting_for_ = kNotWaiting;
    if (run.take(pending->index, result, reason)) run.run();
  }

  // Applies one plugin's answer; false when it ended the run.
  bool take(size_t index, int rc, const char* reason) {
    const std::string& name = chain_->plugin(index).name();
    const std::string why =
        reason != nullptr && reason[0] != '\0' ? std::string(reason) : "refused by plugin " + name;
    switch (rc) {
      case TOPICDB_ALLOW:
      case TOPICDB_DEFER:
        return true;
      case TOPICDB_DENY:
        finish(Status::unauthenticated(why));
        return false;
      case TOPICDB_NOT_AUTHORIZED:
        finish(Status::permission_denied(why));
        return false;
      default:
        log::error("plugin {}: basic_auth answered {}, not a result of the ABI: refused", name, rc);
        finish(Status::permission_denied("plugin " + name + " failed"));
        return false;
    }
  }

  void finish(Status verdict) {
    if (finished_) return;
    finished_ = true;
    auto done = std::move(done_);
    done(std::move(verdict));
  }

  std::shared_ptr<PluginChain> chain_;
  std::string client_id_, username_, address_;
  bool has_username_;
  mqtt::ProtocolVersion version_;
  std::optional<std::string> password_;
  broker::Authenticator::Verdict done_;
  size_t next_ = 0;
  size_t waiting_for_ = kNotWaiting;
  bool finished_ = false;
};

// An exchange with one plugin's enhanced method.
class PluginExchange final : public broker::AuthExchange {
 public:
  PluginExchange(std::shared_ptr<PluginChain> chain, const LoadedPlugin* plugin, void* exchange,
                 bool started)
      : chain_(std::move(chain)), plugin_(plugin), exchange_(exchange), started_(started) {}
  ~PluginExchange() override {
    if (started_ && plugin_->hooks().auth_end != nullptr) {
      plugin_->hooks().auth_end(plugin_->ctx(), exchange_);
    }
  }

  Step on_client_data(std::string_view data) override {
    Step step;
    if (!started_) {
      step.reason = "plugin " + plugin_->name() + " refused to start the exchange";
      return step;
    }
    const char* out = nullptr;
    size_t out_len = 0;
    const char* reason = nullptr;
    const int rc = plugin_->hooks().auth_step(plugin_->ctx(), exchange_, {data.data(), data.size()},
                                              &out, &out_len, &reason);
    if (out == nullptr && out_len != 0) {
      log::error("plugin {}: auth_step gave {} bytes of data at NULL: refused", plugin_->name(),
                 out_len);
      step.reason = "plugin " + plugin_->name() + " failed";
      return step;
    }
    if (reason != nullptr) step.reason = reason;
    switch (rc) {
      case TOPICDB_AUTH_CONTINUE:
        step.outcome = Outcome::kContinue;
        break;
      case TOPICDB_AUTH_SUCCESS:
        step.outcome = Outcome::kSuccess;
        break;
      case TOPICDB_AUTH_FAILURE:
        step.outcome = Outcome::kFailure;
        break;
      default:
        log::error("plugin {}: auth_step answered {}, not an outcome of the ABI: refused",
                   plugin_->name(), rc);
        step.reason = "plugin " + plugin_->name() + " failed";
        return step;
    }
    if (out_len != 0) step.data.assign(out, out_len);
    return step;
  }

 private:
  std::shared_ptr<PluginChain> chain_;  // keeps the plugin loaded while the exchange lives
  const LoadedPlugin* plugin_;
  void* exchange_;
  bool started_;
};

class PluginAuthMethod final : public broker::AuthPlugin {
 public:
  PluginAuthMethod(std::shared_ptr<PluginChain> chain, const LoadedPlugin* plugin)
      : chain_(std::move(chain)), plugin_(plugin), method_(plugin->auth_method()) {}
  const std::string& method() const override { return method_; }
  std::unique_ptr<broker::AuthExchange> begin(const std::string& client_id,
                                              const std::optional<std::string>& username) override {
    broker::ClientIdentity who;
    who.client_id = client_id;
    if (username) {
      who.username = *username;
      who.has_username = true;
    }
    who.version = mqtt::ProtocolVersion::kV5;  // enhanced authentication is MQTT 5 only
    const topicdb_client client = to_c_client(who);
    void* exchange = nullptr;
    const int rc = plugin_->hooks().auth_start(plugin_->ctx(), &client, &exchange);
    if (rc != 0)
      log::info("plugin {}: auth_start refused '{}' ({})", plugin_->name(), client_id, rc);
    return std::make_unique<PluginExchange>(chain_, plugin_, exchange, rc == 0);
  }

 private:
  std::shared_ptr<PluginChain> chain_;
  const LoadedPlugin* plugin_;
  std::string method_;
};

}  // namespace

std::unique_ptr<broker::Authenticator> PluginChain::make_authenticator() {
  if (!offers(&topicdb_plugin::basic_auth)) return nullptr;
  return std::make_unique<ChainAuthenticator>(shared_from_this());
}

std::vector<std::unique_ptr<broker::AuthPlugin>> PluginChain::make_auth_plugins() {
  std::vector<std::unique_ptr<broker::AuthPlugin>> out;
  for (const auto& p : plugins_) {
    if (!p->auth_method().empty()) {
      out.push_back(std::make_unique<PluginAuthMethod>(shared_from_this(), p.get()));
    }
  }
  return out;
}

void PluginChain::basic_auth(const broker::ClientIdentity& client,
                             std::optional<std::string_view> password,
                             broker::Authenticator::Verdict done) {
  std::make_shared<BasicAuthRun>(shared_from_this(), client, password, std::move(done))->run();
}

}  // namespace topicdb::plugins
