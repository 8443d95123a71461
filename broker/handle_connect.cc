// CONNECT: protocol checks, client identifier rules, session takeover and resumption
// (MQTT 3.1.1 §3.1, §3.2).
#include <random>

#include "base/log.h"
#include "broker/broker.h"

namespace topicdb::broker {

void Broker::handle_connect(Connection& c, const mqtt::FrameHeader& header, std::string_view body) {
  uint8_t level = mqtt::peek_connect_protocol_level(body);
  auto decoded = mqtt::decode_packet(header, body, mqtt::ProtocolVersion::kV311);
  if (!decoded.is_ok()) {
    if (decoded.status().code() == Status::Code::kUnsupported) {
      // MQTT-3.1.2-2: answer an unsupported level with return code 1, then close.
      log::info("refusing {}: {}", c.peer(), decoded.status().to_string());
      refuse_connect(c, mqtt::ProtocolVersion::kV311,
                     mqtt::connack_v311::kUnacceptableProtocolVersion);
      return;
    }
    on_malformed(c, decoded.status());  // MQTT-3.1.4-1: close without CONNACK
    return;
  }
  auto& p = std::get<mqtt::ConnectPacket>(*decoded);
  if (p.version == mqtt::ProtocolVersion::kV5 || level == 5) {
    // MQTT 5 sessions are not served yet: say so in the v5 CONNACK form (MQTT 5 §3.2.2.2).
    refuse_connect(c, mqtt::ProtocolVersion::kV5, mqtt::reason::kUnsupportedProtocolVersion);
    return;
  }
  c.version = p.version;
  if (shutting_down_) {
    refuse_connect(c, c.version, mqtt::connack_v311::kServerUnavailable);
    return;
  }
  if (p.client_id.empty()) {
    // MQTT-3.1.3-7/8: an empty id is allowed only with a clean session.
    if (!p.clean_start) {
      refuse_connect(c, c.version, mqtt::connack_v311::kIdentifierRejected);
      return;
    }
    p.client_id = assign_client_id();
  }

  // MQTT-3.1.4-2: a second connection with the same id takes over; the first is closed.
  auto it = sessions_.find(p.client_id);
  if (it != sessions_.end() && it->second->connection() != nullptr) {
    Connection* old = it->second->connection();
    log::info("client '{}' taken over by {} (was {})", p.client_id, c.peer(), old->peer());
    old->close(false);
    it = sessions_.find(p.client_id);  // a clean session ended with its connection
  }

  Session* session = nullptr;
  bool session_present = false;
  if (p.clean_start) {
    if (it != sessions_.end()) destroy_session(p.client_id);  // MQTT-3.1.2-6
    session = &create_session(p.client_id, false);
  } else if (it != sessions_.end() && it->second->persistent()) {
    session = it->second.get();
    session_present = true;  // MQTT-3.2.2-2
  } else {
    if (it != sessions_.end()) destroy_session(p.client_id);
    session = &create_session(p.client_id, true);
    store_->put_session(to_stored(*session));
  }

  c.keep_alive_s = p.keep_alive;
  c.will = std::move(p.will);
  c.session = session;
  session->set_connection(&c);
  c.set_connected();
  log::debug("client '{}' connected from {} (clean={}, keep_alive={}s)", p.client_id, c.peer(),
             p.clean_start, p.keep_alive);

  mqtt::ConnackPacket ack;
  ack.session_present = session_present;
  ack.reason_code = mqtt::connack_v311::kAccepted;
  std::string out;
  mqtt::encode(ack, c.version, &out);
  c.send(out);
  resume_session(*session, c);
}

void Broker::refuse_connect(Connection& c, mqtt::ProtocolVersion v, uint8_t code) {
  mqtt::ConnackPacket ack;
  ack.reason_code = code;
  std::string out;
  mqtt::encode(ack, v, &out);
  c.send(out);
  c.close(true);  // MQTT-3.2.2-5: close after a non-zero return code
}

// MQTT-4.4.0-1: on reconnect, unacknowledged PUBLISH packets are sent again with DUP set and
// PUBRELs are repeated, in their original order; then queued messages fill the window.
void Broker::resume_session(Session& session, Connection& c) {
  for (const Session::Outgoing& entry : session.inflight()) {
    if (entry.state == StoredMessage::State::kPubrelSent) {
      mqtt::AckPacket pubrel;
      pubrel.type = mqtt::PacketType::kPubrel;
      pubrel.packet_id = entry.packet_id;
      std::string out;
      mqtt::encode(pubrel, c.version, &out);
      c.send(out);
    } else {
      send_publish(c, entry, true);
    }
  }
  fill_window(session);
}

std::string Broker::assign_client_id() {
  static const uint64_t kProcessSalt = std::random_device{}() * 0x9E3779B97F4A7C15ULL;
  char buf[40];
  snprintf(buf, sizeof(buf), "topicdb-%016llx-%llu", static_cast<unsigned long long>(kProcessSalt),
           static_cast<unsigned long long>(++assigned_id_counter_));
  return buf;
}

}  // namespace topicdb::broker
