// PUBLISH from clients and the acknowledgement flows of QoS 1 and 2 in both directions
// (MQTT 3.1.1 §3.3-3.7, §4.3).
#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

namespace {
std::string encode_ack(mqtt::PacketType type, uint16_t packet_id, mqtt::ProtocolVersion v) {
  mqtt::AckPacket ack;
  ack.type = type;
  ack.packet_id = packet_id;
  std::string out;
  mqtt::encode(ack, v, &out);
  return out;
}
}  // namespace

void Broker::handle_publish(Connection& c, const mqtt::PublishPacket& p) {
  ++stats_.messages_received;
  Session& session = *c.session;
  if (p.qos == 2 && !session.add_inbound_qos2(p.packet_id)) {
    // A resent QoS 2 PUBLISH whose id we still hold was already delivered onwards: answer
    // PUBREC again, deliver nothing (MQTT-4.3.3-2, exactly once).
    send_after_durable(c, encode_ack(mqtt::PacketType::kPubrec, p.packet_id, c.version), 0);
    return;
  }

  auto message = std::make_shared<Message>();
  message->topic.assign(p.topic);
  message->payload.assign(p.payload);
  message->qos = p.qos;
  message->retain = p.retain;
  message->origin_connection = c.id();

  uint64_t ticket = 0;
  if (p.retain) ticket = store_retained(message);  // MQTT-3.3.1-5..11
  ticket = std::max(ticket, route(message));

  if (p.qos == 1) {
    send_after_durable(c, encode_ack(mqtt::PacketType::kPuback, p.packet_id, c.version), ticket);
  } else if (p.qos == 2) {
    if (session.persistent()) {
      ticket = std::max(ticket, store_->put_inbound_qos2(session.client_id(), p.packet_id));
    }
    send_after_durable(c, encode_ack(mqtt::PacketType::kPubrec, p.packet_id, c.version), ticket);
  }
}

void Broker::handle_ack(Connection& c, const mqtt::AckPacket& a) {
  Session& session = *c.session;
  const bool persistent = session.persistent();
  const std::string& id = session.client_id();
  switch (a.type) {
    case mqtt::PacketType::kPuback: {
      if (auto seq = session.on_puback(a.packet_id)) {
        if (persistent) store_->delete_message(id, *seq);
        fill_window(session);
      }
      break;
    }
    case mqtt::PacketType::kPubrec: {
      if (auto seq = session.on_pubrec(a.packet_id)) {
        if (persistent) {
          store_->update_message_state(id, *seq, a.packet_id, StoredMessage::State::kPubrelSent);
        }
      }
      // Answer even an unknown id so the client can finish its side of the flow.
      c.send(encode_ack(mqtt::PacketType::kPubrel, a.packet_id, c.version));
      break;
    }
    case mqtt::PacketType::kPubcomp: {
      if (auto seq = session.on_pubcomp(a.packet_id)) {
        if (persistent) store_->delete_message(id, *seq);
        fill_window(session);
      }
      break;
    }
    case mqtt::PacketType::kPubrel: {
      if (session.remove_inbound_qos2(a.packet_id) && persistent) {
        store_->delete_inbound_qos2(id, a.packet_id);
      }
      // MQTT-4.3.3-2: PUBCOMP even for an id already released (our PUBCOMP may have been lost).
      send_after_durable(c, encode_ack(mqtt::PacketType::kPubcomp, a.packet_id, c.version), 0);
      break;
    }
    default:
      break;
  }
}

}  // namespace topicdb::broker
