// SUBSCRIBE and UNSUBSCRIBE (MQTT 3.1.1 §3.8-3.11, MQTT 5 §3.8-3.11): subscription options,
// subscription identifiers, shared subscriptions, and retained messages for new
// subscriptions.
#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

namespace {
// The SUBACK code for a subscription the broker does not make. MQTT 3.1 has no failure code
// (0x80 came with 3.1.1), so a 3.1 client gets the QoS it asked for, as mosquitto answers a
// denied 3.1 subscription, and simply receives nothing for that filter.
uint8_t refused_subscription_code(const Session& session, bool v5, uint8_t requested_qos,
                                  uint8_t v5_reason) {
  if (v5) return v5_reason;
  if (session.mqtt31) return std::min<uint8_t>(requested_qos, 2);
  return 0x80;  // MQTT 3.1.1 §3.9.3: Failure
}
}  // namespace

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
  for (const mqtt::SubscriptionRequest& r : p.subscriptions) {
    auto shared = parse_shared_filter(r.filter);
    if (!shared.is_ok()) {
      ack.reason_codes.push_back(
          refused_subscription_code(session, v5, r.qos, mqtt::reason::kTopicFilterInvalid));
      continue;
    }
    if (shared->has_value() && r.no_local) {
      // MQTT-3.8.3-4: No Local on a shared subscription is a protocol error.
      protocol_violation(c, "no-local on a shared subscription", mqtt::reason::kProtocolError);
      return;
    }
    uint8_t qos = std::min<uint8_t>(r.qos, 2);
    uint8_t options = qos;
    if (v5) {
      if (r.no_local) options |= subscription_option::kNoLocal;
      if (r.retain_as_published) options |= subscription_option::kRetainAsPublished;
      options |=
          static_cast<uint8_t>(r.retain_handling << subscription_option::kRetainHandlingShift);
    }
    // MQTT-3.8.4-3: an identical filter replaces the old subscription.
    bool existed = add_subscription(session, r.filter, options, subscription_id);
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
    send_retained(session, g.filter, g.qos, subscription_id);
  }
}

bool Broker::add_subscription(Session& session, const std::string& filter, uint8_t options,
                              uint32_t subscription_id) {
  bool existed = session.subscriptions().count(filter) > 0;
  session.subscriptions()[filter] = {options, subscription_id};
  auto shared = parse_shared_filter(filter);
  if (shared.is_ok() && shared->has_value()) {
    auto& group = shared_groups_[filter];
    if (!group) {
      group = std::make_unique<SharedGroup>(filter, std::string((*shared)->filter));
      topic_tree_.subscribe(group->filter(), {nullptr, 0, 0, group.get()});
    }
    group->add({&session, options, subscription_id});
  } else {
    topic_tree_.subscribe(filter, {&session, options, subscription_id, nullptr});
  }
  return existed;
}

bool Broker::remove_subscription(Session& session, const std::string& filter) {
  if (session.subscriptions().erase(filter) == 0) return false;
  auto group_it = shared_groups_.find(filter);
  if (group_it != shared_groups_.end()) {
    SharedGroup& group = *group_it->second;
    group.remove(&session);
    if (group.empty()) {
      topic_tree_.unsubscribe(group.filter(), {nullptr, 0, 0, &group});
      shared_groups_.erase(group_it);
    }
  } else {
    topic_tree_.unsubscribe(filter, {&session});
  }
  return true;
}

void Broker::send_retained(Session& session, const std::string& filter, uint8_t granted_qos,
                           uint32_t subscription_id) {
  std::vector<MessagePtr> matches;
  int64_t now = clock_->wall_ms();
  retained_.match(filter, [&](const MessagePtr& m) {
    if (m->expiry_at_ms == 0 || m->expiry_at_ms > now) matches.push_back(m);
  });
  std::vector<uint32_t> ids;
  if (subscription_id != 0) ids.push_back(subscription_id);
  for (const MessagePtr& m : matches) {
    // Retained messages sent for a new subscription keep RETAIN set (MQTT-3.3.1-8).
    deliver(session, m, std::min(m->qos, granted_qos), /*retain=*/true, ids, "");
  }
}

void Broker::handle_unsubscribe(Connection& c, const mqtt::UnsubscribePacket& p) {
  Session& session = *c.session;
  uint64_t ticket = 0;
  mqtt::UnsubackPacket ack;
  ack.packet_id = p.packet_id;
  for (const std::string& filter : p.filters) {
    bool existed = remove_subscription(session, filter);
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
