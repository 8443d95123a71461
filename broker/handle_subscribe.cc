// SUBSCRIBE and UNSUBSCRIBE (MQTT 3.1.1 §3.8-3.11, MQTT 5 §3.8-3.11): subscription options,
// subscription identifiers, shared subscriptions, and retained messages for new
// subscriptions.
#include "base/log.h"
#include "broker/broker.h"
#include "broker/protected_topics.h"
#include "broker/reason_codes.h"

namespace topicdb::broker {

void Broker::handle_subscribe(Connection& c, const mqtt::SubscribePacket& p) {
  Session& session = *c.session;
  const bool v5 = c.version == mqtt::ProtocolVersion::kV5;
  uint32_t subscription_id =
      p.properties.subscription_identifiers.empty() ? 0 : p.properties.subscription_identifiers[0];
  mqtt::SubackPacket ack;
  ack.packet_id = p.packet_id;
  uint64_t ticket = 0;
  struct Granted {
    std::string filter;
    uint8_t qos;
    uint8_t retain_handling;
    bool existed;
  };
  std::vector<Granted> granted;
  const ClientIdentity who = identity_of(c);
  for (const mqtt::SubscriptionRequest& r : p.subscriptions) {
    auto shared = parse_shared_filter(r.filter);
    if (!shared.is_ok()) {
      ack.reason_codes.push_back(
          suback_refusal_code(mqtt::reason::kTopicFilterInvalid, v5, session.mqtt31, r.qos));
      continue;
    }
    if (shared->has_value() && r.no_local) {
      // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error.
      protocol_violation(c, "no-local on a shared subscription", mqtt::reason::kProtocolError);
      return;
    }
    uint8_t qos = std::min<uint8_t>(r.qos, 2);
    const std::string_view topic_filter =
        shared->has_value() ? (*shared)->filter : std::string_view(r.filter);
    if (Status allowed = authorize_subscription(who, std::string(topic_filter), qos);
        !allowed.is_ok()) {
      log::debug("subscription of '{}' to '{}' refused: {}", session.client_id(), r.filter,
                 allowed.to_string());
      ack.reason_codes.push_back(
          suback_refusal_code(reason_code_for(allowed), v5, session.mqtt31, r.qos));
      continue;
    }
    uint8_t options = qos;
    if (v5) {
      if (r.no_local) options |= subscription_option::kNoLocal;
      if (r.retain_as_published) options |= subscription_option::kRetainAsPublished;
      options |=
          static_cast<uint8_t>(r.retain_handling << subscription_option::kRetainHandlingShift);
    }
    // MQTT-3.8.4-3: an identical filter replaces the old subscription.
    bool existed = router_.subscribe(session, r.filter, options, subscription_id);
    if (session.persistent()) {
      ticket = store_->put_subscription(session.client_id(), {r.filter, options, subscription_id});
    }
    ack.reason_codes.push_back(qos);
    // MQTT 5 §4.8.2: retained messages are not sent for shared subscriptions.
    if (!shared->has_value()) granted.push_back({r.filter, qos, r.retain_handling, existed});
  }
  std::string out;
  mqtt::encode(ack, c.version, &out);
  send_after_durable(c, std::move(out), ticket, false);
  // MQTT-3.3.1-6 / MQTT 5 §3.3.1.3: retained messages for the new subscription, as its
  // Retain Handling says: 0 always, 1 only if it is new, 2 never.
  for (const Granted& g : granted) {
    if (g.retain_handling == 2 || (g.retain_handling == 1 && g.existed)) continue;
    router_.send_retained(session, g.filter, g.qos, subscription_id);
  }
}

// The protections no authorizer can lift, the authorizer, then, for a filter under a
// reserved prefix, that prefix's handler ("$DB/{entity}/events/#" may be subscribed to,
// request topics may not).
Status Broker::authorize_subscription(const ClientIdentity& who, const std::string& filter,
                                      uint8_t qos) {
  TDB_RETURN_IF_ERROR(check_response_subscription(who.client_id, filter));
  TDB_RETURN_IF_ERROR(authorizer_->authorize_subscribe(who, filter, qos));
  if (ReservedTopicHandler* handler = reserved_.find(filter)) {
    return handler->authorize_subscribe(who, filter);
  }
  return Status::ok();
}

void Broker::handle_unsubscribe(Connection& c, const mqtt::UnsubscribePacket& p) {
  Session& session = *c.session;
  uint64_t ticket = 0;
  mqtt::UnsubackPacket ack;
  ack.packet_id = p.packet_id;
  for (const std::string& filter : p.filters) {
    bool existed = router_.unsubscribe(session, filter);
    if (existed && session.persistent()) {
      ticket = store_->delete_subscription(session.client_id(), filter);
    }
    if (c.version == mqtt::ProtocolVersion::kV5) {
      ack.reason_codes.push_back(existed ? mqtt::reason::kSuccess
                                         : mqtt::reason::kNoSubscriptionExisted);
    }
  }
  std::string out;
  mqtt::encode(ack, c.version, &out);
  send_after_durable(c, std::move(out), ticket, false);
}

}  // namespace topicdb::broker
