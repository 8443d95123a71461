// AUTH: enhanced authentication at CONNECT and re-authentication later (MQTT 5 §4.12),
// with the judging done by an AuthPlugin.
#include "base/log.h"
#include "broker/broker.h"
#include "broker/packet_fit.h"

namespace topicdb::broker {

void Broker::add_auth_plugin(std::unique_ptr<AuthPlugin> plugin) {
  auth_plugins_.push_back(std::move(plugin));
}

AuthPlugin* Broker::find_auth_plugin(const std::string& method) const {
  for (const auto& plugin : auth_plugins_) {
    if (plugin->method() == method) return plugin.get();
  }
  return nullptr;
}

void Broker::send_auth(Connection& c, uint8_t reason_code, const std::string& data) {
  mqtt::AuthPacket auth;
  auth.reason_code = reason_code;
  auth.properties.authentication_method = c.auth().method;
  if (!data.empty()) auth.properties.authentication_data = data;
  std::string out;
  // MQTT-3.1.2-24: AUTH has nothing optional to drop (the method is required, the data is
  // the exchange itself): one that does not fit cannot go, and the exchange cannot go on.
  if (!encode_within_limit(auth, c.version, c.client_max_packet_size, &out)) {
    log::info("closing {}: AUTH exceeds its Maximum Packet Size", c.peer());
    c.close(false);
    return;
  }
  c.send(out);
}

// Feeds one piece of client data to the exchange and acts on the plugin's verdict: another
// AUTH round, the CONNACK (or, when re-authenticating, AUTH success), or a refusal.
void Broker::continue_authentication(Connection& c, std::string_view client_data) {
  AuthExchange::Step step = c.auth().exchange->on_client_data(client_data);
  const bool connecting = c.authenticating();
  switch (step.outcome) {
    case AuthExchange::Outcome::kContinue:
      send_auth(c, mqtt::reason::kContinueAuthentication, step.data);
      return;
    case AuthExchange::Outcome::kSuccess:
      c.auth().exchange.reset();
      if (connecting) {
        std::unique_ptr<mqtt::ConnectPacket> connect = std::move(c.auth().pending_connect);
        accept_connect(c, *connect, step.data);
      } else {
        send_auth(c, mqtt::reason::kSuccess, step.data);
      }
      return;
    case AuthExchange::Outcome::kFailure:
      log::info("authentication of {} failed: {}", c.peer(), step.reason);
      c.auth().exchange.reset();
      if (connecting) {
        // A wrong proof is a failed login like a wrong password: slowed per address.
        refuse_failed_login(c, mqtt::reason::kNotAuthorized, step.reason);
      } else {
        disconnect(c, mqtt::reason::kNotAuthorized, step.reason);
      }
      return;
  }
}

void Broker::handle_auth(Connection& c, const mqtt::AuthPacket& a) {
  const std::string method = a.properties.authentication_method.value_or("");
  if (!c.uses_enhanced_auth() || method != c.auth().method) {
    // MQTT 5 §4.12: AUTH without a method chosen at CONNECT, or with another one, is a
    // protocol error.
    protocol_violation(c, "AUTH with an authentication method not chosen at CONNECT",
                       mqtt::reason::kProtocolError);
    return;
  }
  const std::string data = a.properties.authentication_data.value_or("");
  if (c.authenticating() || c.auth().exchange != nullptr) {
    if (a.reason_code != mqtt::reason::kContinueAuthentication) {
      protocol_violation(c, "AUTH during an exchange must continue it",
                         mqtt::reason::kProtocolError);
      return;
    }
    continue_authentication(c, data);
    return;
  }
  if (a.reason_code != mqtt::reason::kReauthenticate) {
    protocol_violation(c, "AUTH outside an exchange must start re-authentication",
                       mqtt::reason::kProtocolError);
    return;
  }
  AuthPlugin* plugin = find_auth_plugin(c.auth().method);
  if (plugin == nullptr || c.session == nullptr) {
    disconnect(c, mqtt::reason::kBadAuthenticationMethod, "authentication method is gone");
    return;
  }
  // The user name of the CONNECT: a method that proves a user (SCRAM) must prove the same one.
  const std::string* username = c.username();
  c.auth().exchange = plugin->begin(
      c.session->client_id(), username ? std::optional<std::string>(*username) : std::nullopt);
  continue_authentication(c, data);
}

}  // namespace topicdb::broker
