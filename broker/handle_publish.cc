// PUBLISH from clients and the acknowledgement flows of QoS 1 and 2 in both directions
// (MQTT 3.1.1 §3.3-3.7, §4.3; MQTT 5 §3.3-3.7, topic aliases §3.3.2.3.4, flow control §4.9).
#include "base/log.h"
#include "broker/broker.h"
#include "broker/reason_codes.h"

namespace topicdb::broker {

namespace {

// Properties a subscriber receives unchanged (MQTT 5 §3.3.2.3): everything but the topic
// alias, subscription identifiers and the expiry interval, which are per delivery.
mqtt::Properties forwarded_properties(const mqtt::Properties& in) {
  mqtt::Properties out;
  out.payload_format_indicator = in.payload_format_indicator;
  out.content_type = in.content_type;
  out.response_topic = in.response_topic;
  out.correlation_data = in.correlation_data;
  out.user_properties = in.user_properties;
  return out;
}

}  // namespace

// Resolves a topic alias (MQTT 5 §3.3.2.3.4): a non-empty topic sets the alias, an empty
// one uses it. Returns false after disconnecting the client for a bad alias.
bool Broker::resolve_topic_alias(Connection& c, const mqtt::PublishPacket& p, std::string* topic) {
  if (!p.properties.topic_alias) {
    topic->assign(p.topic);
    return true;
  }
  uint16_t alias = *p.properties.topic_alias;
  if (alias == 0 || alias > options_.topic_alias_maximum) {
    protocol_violation(c, "topic alias " + std::to_string(alias) + " out of range",
                       mqtt::reason::kTopicAliasInvalid);
    return false;
  }
  std::vector<std::string>& inbound = c.aliases().inbound;
  if (inbound.size() < alias) inbound.resize(alias);
  if (!p.topic.empty()) {
    inbound[alias - 1].assign(p.topic);
    topic->assign(p.topic);
    return true;
  }
  if (inbound[alias - 1].empty()) {
    protocol_violation(c, "topic alias " + std::to_string(alias) + " was never set",
                       mqtt::reason::kProtocolError);
    return false;
  }
  *topic = inbound[alias - 1];
  return true;
}

void Broker::handle_publish(Connection& c, const mqtt::PublishPacket& p) {
  ++stats_.messages_received;
  ++stats_.of(c.transport).messages_received[p.qos < 3 ? p.qos : 2];
  Session& session = *c.session;
  const bool v5 = c.version == mqtt::ProtocolVersion::kV5;
  if (p.qos == 2 && session.has_inbound_qos2(p.packet_id)) {
    // A resent QoS 2 PUBLISH whose id we still hold was already delivered onwards (or is
    // with its reserved-topic handler): answer PUBREC again, deliver nothing (MQTT-4.3.3-2,
    // exactly once).
    auto running = reserved_running_.find({session.client_id(), p.packet_id});
    if (running != reserved_running_.end()) {
      RunningReserved& r = running->second;
      if (r.connection_id == c.id()) {
        acks_.reserve_again(c, r.token, 0);
      } else {  // resent after a reconnect: the answer goes to this connection now
        r.connection_id = c.id();
        r.token = acks_.reserve(c, 0, /*is_puback=*/false);
      }
      return;
    }
    send_after_durable(c, encode_ack(mqtt::PacketType::kPubrec, p.packet_id, 0, c.version), 0,
                       false);
    return;
  }
  if (v5 && p.qos > 0 &&
      c.deferred_pubacks + session.inbound_qos2_count() >= options_.receive_maximum) {
    // MQTT 5 §3.3.4: more unacknowledged QoS 1/2 PUBLISHes than our Receive Maximum.
    protocol_violation(c, "receive maximum exceeded", mqtt::reason::kReceiveMaximumExceeded);
    return;
  }
  if (!p.properties.subscription_identifiers.empty()) {
    // MQTT-3.3.4-6: subscription identifiers travel only from server to client.
    protocol_violation(c, "PUBLISH from a client carries a subscription identifier",
                       mqtt::reason::kProtocolError);
    return;
  }
  std::string topic;
  if (!resolve_topic_alias(c, p, &topic)) return;
  ReservedTopicHandler* handler = reserved_.find(topic);
  if (handler == nullptr || !handler->authorizes_publish()) {
    if (Status allowed = authorizer_->authorize_publish(identity_of(c), topic, p.qos, p.retain);
        !allowed.is_ok()) {
      log::debug("publish of '{}' to '{}' refused: {}", session.client_id(), topic,
                 allowed.to_string());
      refuse_publish(c, p, allowed);
      return;
    }
  }
  if (observer_ != nullptr) {
    observer_->on_message_published(identity_of(c), topic, p.payload, p.qos, p.retain);
  }
  if (handler != nullptr) {
    dispatch_reserved(c, p, std::move(topic), *handler);
    return;
  }

  auto message = std::make_shared<Message>();
  message->topic = std::move(topic);
  message->payload.assign(p.payload);
  message->qos = p.qos;
  message->retain = p.retain;
  message->origin = &session;
  if (v5) {
    message->properties = forwarded_properties(p.properties);
    if (p.properties.message_expiry_interval) {
      message->expiry_at_ms =
          clock_->wall_ms() + int64_t{*p.properties.message_expiry_interval} * 1000;
    }
  }

  uint64_t ticket = 0;
  if (p.retain) ticket = router_.retain(message);  // MQTT-3.3.1-5..11
  PublishContext context;
  context.publisher = &session;
  RouteResult routed = router_.route(message, context);
  if (routed.congested != nullptr) hold_publisher(c, *routed.congested);
  ticket = std::max(ticket, routed.ticket);
  // MQTT 5 §3.4.2.1: 0x10 tells the publisher nobody received it.
  uint8_t reason = routed.deliveries == 0 ? mqtt::reason::kNoMatchingSubscribers : 0;

  if (p.qos == 1) {
    send_after_durable(c, encode_ack(mqtt::PacketType::kPuback, p.packet_id, reason, c.version),
                       ticket, true);
  } else if (p.qos == 2) {
    session.add_inbound_qos2(p.packet_id);
    if (session.persistent()) {
      ticket = std::max(ticket, store_->put_inbound_qos2(session.client_id(), p.packet_id));
    }
    send_after_durable(c, encode_ack(mqtt::PacketType::kPubrec, p.packet_id, reason, c.version),
                       ticket, false);
  }
}

// A refused PUBLISH is dropped. MQTT 5 tells the publisher why; a PUBREC of 0x80 or above
// ends the QoS 2 flow and frees the id (MQTT 5 §2.2.1, §4.3.3), so nothing is remembered.
// 3.1.1 has no refusal code: the publisher gets its usual acknowledgement.
void Broker::refuse_publish(Connection& c, const mqtt::PublishPacket& p, const Status& why) {
  const uint8_t reason = reason_code_for(why);
  if (p.qos == 1) {
    send_after_durable(c, encode_ack(mqtt::PacketType::kPuback, p.packet_id, reason, c.version), 0,
                       false);
  } else if (p.qos == 2) {
    send_after_durable(c, encode_ack(mqtt::PacketType::kPubrec, p.packet_id, reason, c.version), 0,
                       false);
  }
}

void Broker::handle_ack(Connection& c, const mqtt::AckPacket& a) {
  handle_ack(c, a.type, a.packet_id, a.reason_code);
}

void Broker::handle_ack(Connection& c, mqtt::PacketType type, uint16_t packet_id,
                        uint8_t reason_code) {
  struct {
    mqtt::PacketType type;
    uint16_t packet_id;
    uint8_t reason_code;
  } a{type, packet_id, reason_code};
  Session& session = *c.session;
  const bool persistent = session.persistent();
  const std::string& id = session.client_id();
  switch (a.type) {
    case mqtt::PacketType::kPuback: {
      if (auto seq = session.on_puback(a.packet_id)) {
        if (persistent) store_->delete_message(id, *seq);
        router_.fill_window(session);
        release_waiters(session, false);
      }
      break;
    }
    case mqtt::PacketType::kPubrec: {
      if (a.reason_code >= 0x80) {
        // MQTT 5 §4.3.3: a PUBREC with an error ends the flow; no PUBREL follows.
        router_.discard_outgoing(session, a.packet_id);
        router_.fill_window(session);
        break;
      }
      auto seq = session.on_pubrec(a.packet_id);
      if (seq && persistent) {
        store_->update_message_state(id, *seq, a.packet_id, StoredMessage::State::kPubrelSent);
      }
      // Answer even an unknown id so the client can finish its side of the flow.
      c.send(encode_ack(mqtt::PacketType::kPubrel, a.packet_id,
                        seq ? 0 : mqtt::reason::kPacketIdentifierNotFound, c.version));
      break;
    }
    case mqtt::PacketType::kPubcomp: {
      if (auto seq = session.on_pubcomp(a.packet_id)) {
        if (persistent) store_->delete_message(id, *seq);
        router_.fill_window(session);
        release_waiters(session, false);
      }
      break;
    }
    case mqtt::PacketType::kPubrel: {
      bool known = session.remove_inbound_qos2(a.packet_id);
      if (known && persistent) store_->delete_inbound_qos2(id, a.packet_id);
      // MQTT-4.3.3-2: PUBCOMP even for an id already released (our PUBCOMP may have been lost).
      send_after_durable(c,
                         encode_ack(mqtt::PacketType::kPubcomp, a.packet_id,
                                    known ? 0 : mqtt::reason::kPacketIdentifierNotFound, c.version),
                         0, false);
      break;
    }
    default:
      break;
  }
}

}  // namespace topicdb::broker
