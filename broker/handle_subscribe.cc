// SUBSCRIBE and UNSUBSCRIBE (MQTT 3.1.1 §3.8-3.11): the topic tree, the session's own list,
// the store for persistent sessions, and retained messages for new subscriptions.
#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

void Broker::handle_subscribe(Connection& c, const mqtt::SubscribePacket& p) {
  Session& session = *c.session;
  mqtt::SubackPacket ack;
  ack.packet_id = p.packet_id;
  uint64_t ticket = 0;
  std::vector<std::pair<std::string, uint8_t>> granted;
  for (const mqtt::SubscriptionRequest& r : p.subscriptions) {
    uint8_t qos = std::min<uint8_t>(r.qos, 2);
    uint8_t options = qos;
    session.subscriptions()[r.filter] = {options, 0};
    // MQTT-3.8.4-3: an identical filter replaces the old subscription.
    topic_tree_.subscribe(r.filter, {&session, options, 0});
    if (session.persistent()) {
      ticket = store_->put_subscription(session.client_id(), {r.filter, options, 0});
    }
    ack.reason_codes.push_back(qos);
    granted.emplace_back(r.filter, qos);
  }
  std::string out;
  mqtt::encode(ack, c.version, &out);
  send_after_durable(c, std::move(out), ticket);
  // MQTT-3.3.1-6: retained messages matching a new subscription are sent to it.
  for (const auto& [filter, qos] : granted) send_retained(session, filter, qos);
}

void Broker::send_retained(Session& session, const std::string& filter, uint8_t granted_qos) {
  std::vector<MessagePtr> matches;
  int64_t now = clock_->wall_ms();
  retained_.match(filter, [&](const MessagePtr& m) {
    if (m->expiry_at_ms == 0 || m->expiry_at_ms > now) matches.push_back(m);
  });
  for (const MessagePtr& m : matches) {
    deliver(session, m, std::min(m->qos, granted_qos), /*retain=*/true);
  }
}

void Broker::handle_unsubscribe(Connection& c, const mqtt::UnsubscribePacket& p) {
  Session& session = *c.session;
  uint64_t ticket = 0;
  mqtt::UnsubackPacket ack;
  ack.packet_id = p.packet_id;
  for (const std::string& filter : p.filters) {
    bool existed = session.subscriptions().erase(filter) > 0;
    if (existed) {
      topic_tree_.unsubscribe(filter, &session);
      if (session.persistent()) ticket = store_->delete_subscription(session.client_id(), filter);
    }
    if (c.version == mqtt::ProtocolVersion::kV5) {
      ack.reason_codes.push_back(existed ? mqtt::reason::kSuccess
                                         : mqtt::reason::kNoSubscriptionExisted);
    }
  }
  std::string out;
  mqtt::encode(ack, c.version, &out);
  send_after_durable(c, std::move(out), ticket);
}

}  // namespace topicdb::broker
