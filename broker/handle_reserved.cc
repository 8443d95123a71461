// PUBLISH on a reserved prefix ($SYS/, $DB/): handed to the prefix's handler instead of the
// topic tree. The publisher's PUBACK/PUBREC waits for the handler's completion and keeps its
// place among the connection's other acknowledgements; a resent QoS 2 PUBLISH whose handler
// is still running waits for the same answer instead of running again.
#include "base/log.h"
#include "broker/broker.h"
#include "broker/reason_codes.h"

namespace topicdb::broker {

void Broker::dispatch_reserved(Connection& c, const mqtt::PublishPacket& p, std::string topic,
                               ReservedTopicHandler& handler) {
  Session& session = *c.session;
  ReservedPublish request;
  request.client_id = session.client_id();
  if (const std::string* username = c.username()) {
    request.username = *username;
    request.has_username = true;
  }
  request.version = c.version;
  request.topic = std::move(topic);
  request.payload.assign(p.payload);
  request.qos = p.qos;
  request.dup = p.dup;
  request.packet_id = p.packet_id;
  request.max_packet_size = c.client_max_packet_size;
  // The retain flag means nothing here: a reserved topic keeps no retained message.
  if (c.version == mqtt::ProtocolVersion::kV5) {
    request.response_topic = p.properties.response_topic;
    request.correlation_data = p.properties.correlation_data;
    request.user_properties = p.properties.user_properties;
  }

  uint64_t token = 0;
  if (p.qos == 1) {
    token = acks_.reserve(c, 0, /*is_puback=*/true);
  } else if (p.qos == 2) {
    // Held like any QoS 2 id until PUBREL, so a resend is recognised (handle_publish).
    session.add_inbound_qos2(p.packet_id);
    uint64_t ticket = 0;
    if (session.persistent()) ticket = store_->put_inbound_qos2(session.client_id(), p.packet_id);
    token = acks_.reserve(c, ticket, /*is_puback=*/false);
    reserved_running_[{session.client_id(), p.packet_id}] = {token, c.id(), token};
  }
  std::weak_ptr<bool> alive = alive_;
  const uint64_t connection_id = c.id();
  const uint16_t packet_id = p.packet_id;
  const uint8_t qos = p.qos;
  std::string client_id = session.client_id();
  handler.on_publish(std::move(request),
                     [this, alive, connection_id, client_id, token, packet_id, qos](Status status) {
                       if (alive.expired()) return;
                       finish_reserved(connection_id, client_id, token, packet_id, qos, status);
                     });
}

void Broker::finish_reserved(uint64_t connection_id, const std::string& client_id, uint64_t token,
                             uint16_t packet_id, uint8_t qos, const Status& status) {
  if (!status.is_ok())
    log::debug("reserved-topic request of '{}' refused: {}", client_id, status.to_string());
  if (qos == 0) return;
  if (qos == 2) {
    auto running = reserved_running_.find({client_id, packet_id});
    // Not ours: the session it came from has ended, and the id may be in use again.
    if (running == reserved_running_.end() || running->second.request != token) return;
    // The PUBLISH may have come again on a newer connection: that one waits for the answer.
    connection_id = running->second.connection_id;
    token = running->second.token;
    reserved_running_.erase(running);
    // A PUBREC of 0x80 or above ends the flow (MQTT 5 §4.3.3): the id is free again.
    auto session = sessions_.find(client_id);
    if (!status.is_ok() && session != sessions_.end() &&
        session->second->remove_inbound_qos2(packet_id) && session->second->persistent()) {
      store_->delete_inbound_qos2(client_id, packet_id);
    }
  }
  auto it = connections_.find(connection_id);
  if (it == connections_.end()) return;  // gone: the request comes again with DUP
  Connection& c = *it->second;
  const mqtt::PacketType type = qos == 1 ? mqtt::PacketType::kPuback : mqtt::PacketType::kPubrec;
  acks_.fill(c, token, encode_ack(type, packet_id, reason_code_for(status), c.version));
}

void Broker::send_will_to_handler(Will will, ReservedTopicHandler& handler) {
  const Message& m = *will.message;
  ReservedPublish request;
  request.client_id = std::move(will.client_id);
  if (will.username) {
    request.username = *will.username;
    request.has_username = true;
  }
  request.version = will.version;
  request.topic = m.topic;
  request.payload = m.payload;
  request.qos = m.qos;
  request.response_topic = m.properties.response_topic;
  request.correlation_data = m.properties.correlation_data;
  request.user_properties = m.properties.user_properties;
  request.is_will = true;
  std::string who = request.client_id;
  handler.on_publish(std::move(request), [who](Status status) {
    if (!status.is_ok()) log::info("will of '{}' refused: {}", who, status.to_string());
  });
}

bool Broker::handler_authorizes(std::string_view topic) const {
  const ReservedTopicHandler* handler = reserved_.find(topic);
  return handler != nullptr && handler->authorizes_publish();
}

}  // namespace topicdb::broker
