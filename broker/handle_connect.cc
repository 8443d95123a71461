// CONNECT: protocol checks, client identifier rules, enhanced authentication, session
// takeover, clean start and session expiry (MQTT 3.1.1 §3.1-3.2, MQTT 5 §3.1-3.2, §4.12;
// MQTT 3.1 where it differs).
#include <random>

#include "base/log.h"
#include "broker/broker.h"
#include "broker/packet_fit.h"
#include "broker/reason_codes.h"
#include "broker/reserved_names.h"

namespace topicdb::broker {

void Broker::handle_connect(Connection& c, const mqtt::FrameHeader& header, std::string_view body) {
  uint8_t level = mqtt::peek_connect_protocol_level(body);
  auto decoded = mqtt::decode_packet(header, body, mqtt::ProtocolVersion::kV311);
  if (!decoded.is_ok()) {
    const Status& status = decoded.status();
    if (status.code() == Status::Code::kUnsupported) {
      // MQTT-3.1.2-2 (3.1.1: return code 1) / MQTT 5 §3.1.2.2 (0x84), then close.
      log::info("refusing {}: {}", c.peer(), status.to_string());
      if (level == 5) {
        refuse_connect(c, mqtt::ProtocolVersion::kV5, mqtt::reason::kUnsupportedProtocolVersion);
      } else {
        refuse_connect(c, mqtt::ProtocolVersion::kV311,
                       mqtt::connack_v311::kUnacceptableProtocolVersion);
      }
      return;
    }
    ++stats_.malformed_packets;
    if (level == 5) {
      // MQTT 5 lets the server say why before closing (§3.2.2.2).
      c.version = mqtt::ProtocolVersion::kV5;
      log::info("refusing {}: {}", c.peer(), status.to_string());
      refuse_connect(c, c.version, reason_code_for(status), status.message());
      return;
    }
    protocol_violation(c, status.to_string(), 0);  // MQTT-3.1.4-1: close without CONNACK
    return;
  }
  auto p =
      std::make_unique<mqtt::ConnectPacket>(std::get<mqtt::ConnectPacket>(std::move(*decoded)));
  c.version = p->version;
  const bool v5 = c.version == mqtt::ProtocolVersion::kV5;
  if (v5) {
    c.client_max_packet_size = p->properties.maximum_packet_size.value_or(0);
    c.client_topic_alias_max = p->properties.topic_alias_maximum.value_or(0);
    c.request_problem_information = p->properties.request_problem_information.value_or(1) == 1;
  }
  if (shutting_down_) {
    refuse_connect(c, c.version,
                   v5 ? mqtt::reason::kServerUnavailable : mqtt::connack_v311::kServerUnavailable);
    return;
  }
  // Enhanced authentication binds to the identifier the client sent (it cannot know one we
  // assign before CONNACK).
  const std::string sent_client_id = p->client_id;
  if (p->client_id.empty()) {
    // 3.1.1 (MQTT-3.1.3-7/8): an empty id only with a clean session. MQTT 5 (§3.1.3.1): the
    // server assigns one and returns it in CONNACK. MQTT 3.1 (§3.1 "Client Identifier")
    // wants 1 to 23 characters: empty is refused whatever the session (3.1 has no assigned
    // ids), but longer ids are accepted, as mosquitto does: the limit protects nothing here.
    const bool mqtt31 = p->protocol_level == mqtt::kMqtt31ProtocolLevel;
    if (mqtt31 || (!v5 && !p->clean_start)) {
      refuse_connect(c, c.version, mqtt::connack_v311::kIdentifierRejected);
      return;
    }
    p->client_id = assign_client_id();
    c.client_id_assigned = v5;
  }

  if (c.transport_username()) {
    // --tls-cert-as-username (mosquitto's use_identity_as_username): the certificate the
    // handshake verified authenticates the client, so no password is checked, and its CN is
    // the user name the authorizer sees. An enhanced method would authenticate a name that
    // the CN then replaces, so it is refused rather than run for nothing.
    if (p->properties.authentication_method) {
      refuse_connect(c, c.version, mqtt::reason::kBadAuthenticationMethod,
                     "the client certificate authenticates on this listener");
      return;
    }
    accept_connect(c, *p, std::nullopt);
    return;
  }
  if (p->properties.authentication_method) {
    c.auth().method = *p->properties.authentication_method;
    AuthPlugin* plugin = find_auth_plugin(c.auth().method);
    if (plugin == nullptr) {
      // MQTT 5 §4.12: an unsupported method is refused with 0x8C.
      refuse_connect(c, c.version, mqtt::reason::kBadAuthenticationMethod,
                     "authentication method '" + c.auth().method + "' is not supported");
      return;
    }
    c.auth().exchange = plugin->begin(sent_client_id, p->username);
    c.auth().pending_connect = std::move(p);
    continue_authentication(c,
                            c.auth().pending_connect->properties.authentication_data.value_or(""));
    return;
  }
  if (authenticator_) {
    check_login(c, std::move(p));
    return;
  }
  accept_connect(c, *p, std::nullopt);
}

void Broker::accept_connect(Connection& c, mqtt::ConnectPacket& p,
                            const std::optional<std::string>& auth_data) {
  const bool v5 = c.version == mqtt::ProtocolVersion::kV5;
  // A user name the transport vouches for (--tls-cert-as-username) replaces CONNECT's.
  if (std::optional<std::string> name = c.transport_username()) {
    c.set_username(std::move(*name));
  } else if (p.username) {
    c.set_username(*p.username);
  }
  // Authorization comes after authentication and before anything of the session is touched;
  // the will's topic is checked now, as mosquitto does, so a refused will refuses the CONNECT.
  ClientIdentity who;
  who.client_id = p.client_id;
  if (const std::string* username = c.username()) {
    who.username = *username;
    who.has_username = true;
  }
  who.version = c.version;
  Status allowed = authorizer_->authorize_connect(who);
  if (allowed.is_ok() && p.will && !handler_authorizes(p.will->topic)) {
    allowed = authorizer_->authorize_publish(who, p.will->topic, p.will->qos, p.will->retain);
  }
  if (!allowed.is_ok()) {
    log::info("refusing {} ('{}'): {}", c.peer(), p.client_id, allowed.to_string());
    refuse_connect(c, c.version, v5 ? reason_code_for(allowed) : connack_v311_code_for(allowed),
                   allowed.message());
    return;
  }
  uint32_t requested_expiry = 0;
  if (v5) {
    requested_expiry = p.properties.session_expiry_interval.value_or(0);
  } else {
    requested_expiry = p.clean_start ? 0 : Session::kNeverExpires;
  }
  uint32_t expiry = std::min(requested_expiry, options_.max_session_expiry_s);

  uint16_t keep_alive = p.keep_alive;
  bool keep_alive_changed = false;
  if (v5 && options_.max_keep_alive_s > 0 &&
      (p.keep_alive == 0 || p.keep_alive > options_.max_keep_alive_s)) {
    keep_alive = options_.max_keep_alive_s;  // MQTT 5 §3.2.2.3.14: Server Keep Alive
    keep_alive_changed = true;
  }
  mqtt::ConnackPacket ack;
  ack.reason_code = 0;
  if (v5) {
    mqtt::Properties& props = ack.properties;
    if (expiry != requested_expiry) props.session_expiry_interval = expiry;
    if (options_.receive_maximum < 65535) props.receive_maximum = options_.receive_maximum;
    props.maximum_packet_size = options_.max_packet_size;
    if (options_.topic_alias_maximum > 0) props.topic_alias_maximum = options_.topic_alias_maximum;
    if (c.client_id_assigned) props.assigned_client_identifier = p.client_id;
    if (keep_alive_changed) props.server_keep_alive = keep_alive;
    props.retain_available = 1;
    props.wildcard_subscription_available = 1;
    props.subscription_identifier_available = 1;
    props.shared_subscription_available = 1;
    if (p.properties.request_response_information.value_or(0) == 1) {
      // A prefix under which this client may build its response topics (MQTT 5 §4.10).
      props.response_information = std::string(reserved::kResponsePrefix) + p.client_id;
    }
    if (c.uses_enhanced_auth()) {
      props.authentication_method = c.auth().method;
      if (auth_data && !auth_data->empty()) props.authentication_data = *auth_data;
    }
  }
  // MQTT-3.1.2-24: the CONNACK too must fit the client's Maximum Packet Size. Decided before
  // anything of an existing session is touched: a CONNACK we cannot send must not take over
  // the client id. Session Present does not change the size; it is set below.
  std::string out;
  if (!encode_within_limit(ack, c.version, c.client_max_packet_size, &out)) {
    log::info("closing {} ('{}'): even the smallest CONNACK exceeds its Maximum Packet Size {}",
              c.peer(), p.client_id, c.client_max_packet_size);
    c.close(false);
    return;
  }

  // MQTT-3.1.4-2 / MQTT 5 §3.1.4: a second connection with the same id takes over; the
  // first is closed (with DISCONNECT 0x8E under MQTT 5).
  auto it = sessions_.find(p.client_id);
  if (it != sessions_.end() && it->second->connection() != nullptr) {
    Connection* old = it->second->connection();
    log::info("client '{}' taken over by {} (was {})", p.client_id, c.peer(), old->peer());
    disconnect(*old, mqtt::reason::kSessionTakenOver, "");
    it = sessions_.find(p.client_id);  // a session with expiry 0 ended with its connection
  }
  // MQTT-3.1.2-8: a new connection for this client id before the will delay has passed
  // cancels the will, whether or not it resumes the session.
  wills_.take(p.client_id);

  // A session belongs to the user who made it: resumed under another user name (or none),
  // its queued messages and subscriptions would reach someone its owner's permissions and
  // record ownership never admitted. That CONNECT starts a new session instead.
  bool other_user = false;
  if (!p.clean_start && it != sessions_.end()) {
    const std::string* before = it->second->username();
    const std::string* now = c.username();
    other_user = before != nullptr && (now == nullptr || *now != *before);
    if (other_user) {
      log::info("client '{}' resumed by another user: its session is discarded", p.client_id);
    }
  }

  Session* session = nullptr;
  bool session_present = false;
  if (p.clean_start || other_user || it == sessions_.end()) {
    if (it != sessions_.end()) destroy_session(p.client_id);  // MQTT-3.1.2-6, MQTT 5 §3.1.2.4
    session = &create_session(p.client_id, expiry);
  } else {
    session = it->second.get();
    session_present = true;  // MQTT-3.2.2-2
    if (session->persistent() && expiry == 0) store_->delete_session(p.client_id);
    session->set_expiry_interval_s(expiry);
  }
  session->version = c.version;
  session->set_username(c.username());
  session->mqtt31 = p.protocol_level == mqtt::kMqtt31ProtocolLevel;
  session->expires_at_ms = 0;
  if (session->persistent()) store_->put_session(to_stored(*session));

  c.keep_alive_s = keep_alive;
  size_t window = options_.max_inflight;
  if (v5 && p.properties.receive_maximum) {
    window = std::min<size_t>(window, *p.properties.receive_maximum);  // MQTT 5 §4.9
  }
  session->set_max_inflight(window);
  if (p.will) c.set_will(std::make_unique<mqtt::Will>(std::move(*p.will)));
  c.session = session;
  session->set_connection(&c);
  c.set_connected(clock_->now_ms());
  if (log::level() <= log::Level::kDebug) {  // peer() costs a syscall: only when logged
    const std::string* user = c.username();
    log::debug("client '{}' connected from {} (v{}, clean={}, expiry={}s, keep_alive={}s, user={})",
               p.client_id, c.peer(), static_cast<int>(p.protocol_level), p.clean_start, expiry,
               c.keep_alive_s, user ? "'" + *user + "'" : std::string("none"));
  }

  // MQTT 3.1's CONNACK has no session present flag: its first byte is reserved (§3.2).
  if (session_present && !session->mqtt31) {
    ack.session_present = true;
    out.clear();
    mqtt::encode(ack, c.version, &out);  // the properties that fit, as decided above
  }
  c.send(out);
  resume_session(*session, c);
  if (observer_ != nullptr) {
    ClientIdentity connected = identity_of(c);
    const std::string address = c.peer();
    connected.address = address;
    observer_->on_client_connected(connected);
  }
}

void Broker::refuse_connect(Connection& c, mqtt::ProtocolVersion v, uint8_t code,
                            const std::string& reason) {
  mqtt::ConnackPacket ack;
  ack.reason_code = code;
  if (v == mqtt::ProtocolVersion::kV5 && !reason.empty()) ack.properties.reason_string = reason;
  std::string out;
  // MQTT-3.1.2-24: the reason string goes first; a refusal that cannot fit is not sent.
  const uint32_t limit = v == mqtt::ProtocolVersion::kV5 ? c.client_max_packet_size : 0;
  if (!encode_within_limit(ack, v, limit, &out)) {
    c.close(false);
    return;
  }
  c.send(out);
  end_after_reason(c);  // MQTT-3.2.2-5 / MQTT 5 §3.2.2.2: close after a refusal
}

// MQTT-4.4.0-1: on reconnect, unacknowledged PUBLISH packets are sent again with DUP set and
// PUBRELs are repeated, in their original order; then queued messages fill the window.
void Broker::resume_session(Session& session, Connection& c) {
  (void)c;
  session.mark_inflight_for_resend();
  router_.fill_window(session);  // resends first, within the client's (possibly new) window
}

std::string Broker::assign_client_id() {
  static const uint64_t kProcessSalt = std::random_device{}() * 0x9E3779B97F4A7C15ULL;
  char buf[48];
  snprintf(buf, sizeof(buf), "topicdb-%016llx-%llu", static_cast<unsigned long long>(kProcessSalt),
           static_cast<unsigned long long>(++assigned_id_counter_));
  return buf;
}

}  // namespace topicdb::broker
