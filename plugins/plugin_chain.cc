#include "plugins/plugin_chain.h"

#include "base/log.h"

namespace topicdb::plugins {

namespace {

topicdb_str to_c(std::string_view s) { return topicdb_str{s.data(), s.size()}; }

// MQTT 3.1 decodes as kV311 (packets.h), so plugins see 4 for it too.
int protocol_number(mqtt::ProtocolVersion v) { return v == mqtt::ProtocolVersion::kV5 ? 5 : 4; }

class ChainAuthorizer final : public broker::Authorizer {
 public:
  explicit ChainAuthorizer(std::shared_ptr<PluginChain> chain) : chain_(std::move(chain)) {}
  Status authorize_connect(const broker::ClientIdentity& who) override {
    return chain_->authorize(who, TOPICDB_ACCESS_CONNECT, {}, 0, false);
  }
  Status authorize_publish(const broker::ClientIdentity& who, std::string_view topic, uint8_t qos,
                           bool retain) override {
    return chain_->authorize(who, TOPICDB_ACCESS_PUBLISH, topic, qos, retain);
  }
  Status authorize_subscribe(const broker::ClientIdentity& who, std::string_view filter,
                             uint8_t qos) override {
    return chain_->authorize(who, TOPICDB_ACCESS_SUBSCRIBE, filter, qos, false);
  }

 private:
  std::shared_ptr<PluginChain> chain_;
};

class ChainObserver final : public broker::BrokerObserver {
 public:
  explicit ChainObserver(std::shared_ptr<PluginChain> chain) : chain_(std::move(chain)) {}
  void on_client_connected(const broker::ClientIdentity& who) override { chain_->on_connect(who); }
  void on_client_disconnected(const broker::ClientIdentity& who) override {
    chain_->on_disconnect(who);
  }
  void on_message_published(const broker::ClientIdentity& who, std::string_view topic,
                            std::string_view payload, uint8_t qos, bool retain) override {
    chain_->on_publish(who, topic, payload, qos, retain);
  }

 private:
  std::shared_ptr<PluginChain> chain_;
};

topicdb_db_write to_c_write(const DbWrite& w) {
  return topicdb_db_write{to_c(w.operation), to_c(w.entity), to_c(w.id), to_c(w.body)};
}

}  // namespace

topicdb_client to_c_client(const broker::ClientIdentity& who) {
  topicdb_client c{};
  c.client_id = to_c(who.client_id);
  c.username = to_c(who.username);
  c.has_username = who.has_username ? 1 : 0;
  c.address = to_c(who.address);
  c.protocol_version = protocol_number(who.version);
  return c;
}

std::shared_ptr<PluginChain> PluginChain::make(std::vector<std::unique_ptr<LoadedPlugin>> plugins) {
  return std::shared_ptr<PluginChain>(new PluginChain(std::move(plugins)));
}

std::unique_ptr<broker::Authorizer> PluginChain::make_authorizer() {
  if (!offers(&topicdb_plugin::authorize)) return nullptr;
  return std::make_unique<ChainAuthorizer>(shared_from_this());
}

std::unique_ptr<broker::BrokerObserver> PluginChain::make_observer() {
  if (!offers(&topicdb_plugin::on_connect) && !offers(&topicdb_plugin::on_disconnect) &&
      !offers(&topicdb_plugin::on_publish)) {
    return nullptr;
  }
  return std::make_unique<ChainObserver>(shared_from_this());
}

bool PluginChain::has_db_hooks() const {
  return offers(&topicdb_plugin::db_before_write) || offers(&topicdb_plugin::db_after_write) ||
         offers(&topicdb_plugin::authorize);
}

Status PluginChain::authorize(const broker::ClientIdentity& who, int access, std::string_view topic,
                              int qos, bool retain) {
  const topicdb_client client = to_c_client(who);
  for (const auto& p : plugins_) {
    if (p->hooks().authorize == nullptr) continue;
    const int rc = p->hooks().authorize(p->ctx(), &client, access, to_c(topic), qos, retain);
    if (rc == TOPICDB_ALLOW || rc == TOPICDB_DEFER) continue;
    if (rc == TOPICDB_DENY) return Status::permission_denied("denied by plugin " + p->name());
    log::error("plugin {}: authorize returned {}, not a result of the ABI: refused", p->name(), rc);
    return Status::permission_denied("plugin " + p->name() + " failed");
  }
  return Status::ok();
}

std::optional<DbVeto> PluginChain::before_db_write(const broker::ClientIdentity& who,
                                                   const DbWrite& write) {
  const topicdb_client client = to_c_client(who);
  const topicdb_db_write w = to_c_write(write);
  for (const auto& p : plugins_) {
    if (p->hooks().db_before_write == nullptr) continue;
    int code = 403;
    const char* message = nullptr;
    const int rc = p->hooks().db_before_write(p->ctx(), &client, &w, &code, &message);
    if (rc == TOPICDB_ALLOW || rc == TOPICDB_DEFER) continue;
    DbVeto veto;
    if (rc != TOPICDB_DENY) {
      log::error("plugin {}: db_before_write returned {}, not a result of the ABI: refused",
                 p->name(), rc);
      veto.message = "plugin " + p->name() + " failed";
      return veto;
    }
    // Only client errors: a plugin cannot claim the store failed or the request succeeded.
    veto.code = code >= 400 && code <= 499 ? code : 403;
    veto.message = message != nullptr && message[0] != '\0' ? std::string(message)
                                                            : "refused by plugin " + p->name();
    return veto;
  }
  return std::nullopt;
}

void PluginChain::after_db_write(const broker::ClientIdentity& who, const DbWrite& write,
                                 std::string_view result_json) {
  const topicdb_client client = to_c_client(who);
  const topicdb_db_write w = to_c_write(write);
  for (const auto& p : plugins_) {
    if (p->hooks().db_after_write != nullptr) {
      p->hooks().db_after_write(p->ctx(), &client, &w, to_c(result_json));
    }
  }
}

void PluginChain::on_connect(const broker::ClientIdentity& who) {
  const topicdb_client client = to_c_client(who);
  for (const auto& p : plugins_) {
    if (p->hooks().on_connect != nullptr) p->hooks().on_connect(p->ctx(), &client);
  }
}

void PluginChain::on_disconnect(const broker::ClientIdentity& who) {
  const topicdb_client client = to_c_client(who);
  for (const auto& p : plugins_) {
    if (p->hooks().on_disconnect != nullptr) p->hooks().on_disconnect(p->ctx(), &client);
  }
}

void PluginChain::on_publish(const broker::ClientIdentity& who, std::string_view topic,
                             std::string_view payload, uint8_t qos, bool retain) {
  const topicdb_client client = to_c_client(who);
  for (const auto& p : plugins_) {
    if (p->hooks().on_publish != nullptr) {
      p->hooks().on_publish(p->ctx(), &client, to_c(topic), to_c(payload), qos, retain ? 1 : 0);
    }
  }
}

}  // namespace topicdb::plugins
