// Header-only helpers for the MQTT 5 integration tests (v5_*_test.cc):
//
//   V5Test      - BrokerTest with `--sys-interval 0` plus per-fixture flags (v5_flags()).
//   V5Client    - a raw MQTT 5 client built on RawClient and the project's own codec
//                 (topicdb::mqtt::encode / decode_packet): exact reason codes and properties.
// Paho and mosquitto-tool wrappers in MQTT 5 mode are in v5_tools.h.
//
// Everything waits with a timeout; nothing here talks to anything but 127.0.0.1.
#ifndef TOPICDB_TESTS_INTEGRATION_V5_CLIENT_H_
#define TOPICDB_TESTS_INTEGRATION_V5_CLIENT_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "broker/codec/codec.h"
#include "broker/codec/packets.h"
#include "broker/codec/properties.h"
#include "tests/integration/broker_process.h"
#include "tests/integration/fixture.h"
#include "tests/integration/raw_client.h"

namespace topicdb::itest::v5 {

namespace m = ::topicdb::mqtt;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr m::ProtocolVersion kV5 = m::ProtocolVersion::kV5;

// --- fixture ----------------------------------------------------------------------------

class V5Test : public BrokerTest {
 protected:
  std::vector<std::string> broker_args() const override {
    std::vector<std::string> args = {"--sys-interval", "0"};
    auto extra = v5_flags();
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // Extra flags of a fixture (e.g. {"--receive-maximum", "2"}).
  virtual std::vector<std::string> v5_flags() const { return {}; }
};

// --- formatting ---------------------------------------------------------------------------

inline std::string hex_of(std::string_view s, size_t max = 48) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto b = static_cast<uint8_t>(s[i]);
    out += kHex[b >> 4];
    out += kHex[b & 0x0F];
  }
  if (s.size() > max) out += "...";
  return out;
}

inline std::string reason_hex(uint8_t code) {
  std::ostringstream os;
  os << "0x" << std::hex << (code < 16 ? "0" : "") << static_cast<int>(code);
  return os.str();
}

inline std::string describe(const m::Properties& p) {
  std::ostringstream os;
  os << "{";
  if (p.payload_format_indicator) os << " pfi=" << int{*p.payload_format_indicator};
  if (p.message_expiry_interval) os << " expiry=" << *p.message_expiry_interval;
  if (p.content_type) os << " content_type='" << *p.content_type << "'";
  if (p.response_topic) os << " response_topic='" << *p.response_topic << "'";
  if (p.correlation_data) os << " correlation=" << hex_of(*p.correlation_data);
  for (uint32_t id : p.subscription_identifiers) os << " sub_id=" << id;
  if (p.session_expiry_interval) os << " session_expiry=" << *p.session_expiry_interval;
  if (p.assigned_client_identifier) os << " assigned_id='" << *p.assigned_client_identifier << "'";
  if (p.server_keep_alive) os << " server_keep_alive=" << *p.server_keep_alive;
  if (p.response_information) os << " response_info='" << *p.response_information << "'";
  if (p.reason_string) os << " reason='" << *p.reason_string << "'";
  if (p.receive_maximum) os << " receive_max=" << *p.receive_maximum;
  if (p.topic_alias_maximum) os << " alias_max=" << *p.topic_alias_maximum;
  if (p.topic_alias) os << " alias=" << *p.topic_alias;
  if (p.maximum_packet_size) os << " max_packet=" << *p.maximum_packet_size;
  for (const auto& [k, v] : p.user_properties) os << " user[" << k << "]=" << v;
  os << " }";
  return os.str();
}

// An owned PUBLISH as received by a V5Client.
struct Message {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;
  m::Properties props;
};

inline std::string describe(const Message& msg) {
  std::ostringstream os;
  os << "PUBLISH{topic='" << msg.topic << "', payload='" << msg.payload.substr(0, 40)
     << (msg.payload.size() > 40 ? "...'" : "'") << " (" << msg.payload.size()
     << " bytes), qos=" << int{msg.qos} << ", retain=" << msg.retain << ", dup=" << msg.dup
     << ", id=" << msg.packet_id << ", props=" << describe(msg.props) << "}";
  return os.str();
}

// One received packet, decoded with the project's codec. `packet` borrows from `*body` (a
// PublishPacket's topic and payload are views), so keep the Received alive while using it.
struct Received {
  uint8_t first_byte = 0;
  std::shared_ptr<const std::string> body;
  m::Packet packet;
  std::string error;  // non-empty when the codec could not decode the bytes

  m::PacketType type() const { return static_cast<m::PacketType>(first_byte >> 4); }
  template <typename T>
  const T* get() const {
    return error.empty() ? std::get_if<T>(&packet) : nullptr;
  }
};

inline const char* type_name(m::PacketType t) {
  static constexpr const char* kNames[] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                           "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                           "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                           "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
  return kNames[static_cast<uint8_t>(t) & 0x0F];
}

inline Message to_message(const m::PublishPacket& p) {
  Message msg;
  msg.topic.assign(p.topic);
  msg.payload.assign(p.payload);
  msg.qos = p.qos;
  msg.retain = p.retain;
  msg.dup = p.dup;
  msg.packet_id = p.packet_id;
  msg.props = p.properties;
  return msg;
}

inline std::string describe(const Received& r) {
  std::ostringstream os;
  os << type_name(r.type());
  if (!r.error.empty()) {
    os << "(undecodable: " << r.error << "; body " << hex_of(*r.body) << ")";
    return os.str();
  }
  if (auto* p = r.get<m::PublishPacket>()) return describe(to_message(*p));
  if (auto* a = r.get<m::AckPacket>()) {
    os << "{id=" << a->packet_id << ", reason=" << reason_hex(a->reason_code)
       << ", props=" << describe(a->properties) << "}";
  } else if (auto* c = r.get<m::ConnackPacket>()) {
    os << "{session_present=" << c->session_present << ", reason=" << reason_hex(c->reason_code)
       << ", props=" << describe(c->properties) << "}";
  } else if (auto* d = r.get<m::DisconnectPacket>()) {
    os << "{reason=" << reason_hex(d->reason_code) << ", props=" << describe(d->properties) << "}";
  } else if (auto* s = r.get<m::SubackPacket>()) {
    os << "{id=" << s->packet_id << ", codes=";
    for (uint8_t code : s->reason_codes) os << reason_hex(code) << " ";
    os << "}";
  } else if (auto* u = r.get<m::UnsubackPacket>()) {
    os << "{id=" << u->packet_id << ", codes=";
    for (uint8_t code : u->reason_codes) os << reason_hex(code) << " ";
    os << "}";
  }
  return os.str();
}

// --- encoding helpers ---------------------------------------------------------------------

inline Bytes to_wire(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline std::string encoded(const m::PublishPacket& p) {
  std::string out;
  m::encode(p, kV5, &out);
  return out;
}

inline m::SubscriptionRequest sub(const std::string& filter, uint8_t qos, bool no_local = false,
                                  bool retain_as_published = false, uint8_t retain_handling = 0) {
  m::SubscriptionRequest r;
  r.filter = filter;
  r.qos = qos;
  r.no_local = no_local;
  r.retain_as_published = retain_as_published;
  r.retain_handling = retain_handling;
  return r;
}

// --- the raw MQTT 5 client ----------------------------------------------------------------

class V5Client {
 public:
  explicit V5Client(uint16_t port) : port_(port) {}
  V5Client(const V5Client&) = delete;
  V5Client& operator=(const V5Client&) = delete;

  // QoS 1 PUBLISHes are answered with PUBACK, QoS 2 with PUBREC (and PUBREL with PUBCOMP) as
  // soon as they are read. Turn off to hold acknowledgements back.
  void set_auto_ack(bool on) { auto_ack_ = on; }
  RawClient& raw() { return raw_; }

  static m::ConnectPacket connect_packet(const std::string& client_id, bool clean_start = true,
                                         std::optional<uint32_t> session_expiry = std::nullopt,
                                         uint16_t keep_alive = 60) {
    m::ConnectPacket p;
    p.version = kV5;
    p.client_id = client_id;
    p.clean_start = clean_start;
    p.keep_alive = keep_alive;
    p.properties.session_expiry_interval = session_expiry;
    return p;
  }

  // TCP connect, CONNECT, CONNACK. Fails unless the CONNACK carries `expected_reason`.
  ::testing::AssertionResult connect(const m::ConnectPacket& p, m::ConnackPacket* ack = nullptr,
                                     uint8_t expected_reason = 0) {
    if (auto r = raw_.connect(port_); !r) return r;
    std::string out;
    m::encode(p, &out);
    if (auto r = raw_.send(to_wire(out)); !r) return r;
    auto received = recv(milliseconds(3000));
    if (!received) {
      return ::testing::AssertionFailure()
             << "no CONNACK for '" << p.client_id << "' within 3 s"
             << (raw_.peer_closed() ? " (connection closed by the broker)" : "");
    }
    const auto* connack = received->get<m::ConnackPacket>();
    if (connack == nullptr) {
      return ::testing::AssertionFailure() << "expected CONNACK, got " << describe(*received);
    }
    if (ack) *ack = *connack;
    if (connack->reason_code != expected_reason) {
      return ::testing::AssertionFailure()
             << "CONNACK for '" << p.client_id << "' has reason "
             << reason_hex(connack->reason_code) << ", expected " << reason_hex(expected_reason)
             << ": " << describe(*received);
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult connect(const std::string& client_id, bool clean_start = true,
                                     std::optional<uint32_t> session_expiry = std::nullopt,
                                     bool* session_present = nullptr) {
    m::ConnackPacket ack;
    auto r = connect(connect_packet(client_id, clean_start, session_expiry), &ack);
    if (session_present) *session_present = ack.session_present;
    return r;
  }

  ::testing::AssertionResult send_bytes(const std::string& bytes) {
    return raw_.send(to_wire(bytes));
  }
  ::testing::AssertionResult send(const m::PublishPacket& p) { return send_bytes(encoded(p)); }
  ::testing::AssertionResult send(const m::AckPacket& p) {
    std::string out;
    m::encode(p, kV5, &out);
    return send_bytes(out);
  }
  ::testing::AssertionResult send(const m::DisconnectPacket& p) {
    std::string out;
    m::encode(p, kV5, &out);
    return send_bytes(out);
  }
  ::testing::AssertionResult send(const m::ConnectPacket& p) {
    std::string out;
    m::encode(p, &out);
    return send_bytes(out);
  }

  uint16_t next_packet_id() {
    if (++last_id_ == 0) last_id_ = 1;
    return last_id_;
  }

  // Sends a PUBLISH; for QoS 1 waits for the PUBACK, for QoS 2 runs the whole flow.
  // *reason receives the PUBACK / PUBREC reason code.
  ::testing::AssertionResult publish(const std::string& topic, const std::string& payload,
                                     uint8_t qos = 0, const m::Properties& props = {},
                                     bool retain = false, uint8_t* reason = nullptr) {
    m::PublishPacket p;
    p.topic = topic;
    p.payload = payload;
    p.qos = qos;
    p.retain = retain;
    p.properties = props;
    if (qos > 0) p.packet_id = next_packet_id();
    if (auto r = send(p); !r) return r;
    if (qos == 0) return ::testing::AssertionSuccess();
    auto ack = recv_type(qos == 1 ? m::PacketType::kPuback : m::PacketType::kPubrec);
    if (!ack) {
      return ::testing::AssertionFailure()
             << "no " << (qos == 1 ? "PUBACK" : "PUBREC") << " for PUBLISH to '" << topic
             << "' within 3 s" << (raw_.peer_closed() ? " (connection closed)" : "")
             << pending_text();
    }
    const auto* a = ack->get<m::AckPacket>();
    if (a == nullptr || a->packet_id != p.packet_id) {
      return ::testing::AssertionFailure() << "unexpected ack " << describe(*ack);
    }
    if (reason) *reason = a->reason_code;
    if (qos == 2 && a->reason_code < 0x80) {
      m::AckPacket rel;
      rel.type = m::PacketType::kPubrel;
      rel.packet_id = p.packet_id;
      if (auto r = send(rel); !r) return r;
      auto comp = recv_type(m::PacketType::kPubcomp);
      if (!comp) return ::testing::AssertionFailure() << "no PUBCOMP within 3 s";
    }
    return ::testing::AssertionSuccess();
  }

  // One SUBSCRIBE (with an optional subscription identifier); checks the SUBACK codes when
  // `expected` is non-empty, and returns them in *codes.
  ::testing::AssertionResult subscribe(const std::vector<m::SubscriptionRequest>& requests,
                                       uint32_t subscription_id = 0,
                                       const std::vector<uint8_t>& expected = {},
                                       std::vector<uint8_t>* codes = nullptr) {
    m::SubscribePacket p;
    p.packet_id = next_packet_id();
    p.subscriptions = requests;
    if (subscription_id != 0) p.properties.subscription_identifiers.push_back(subscription_id);
    std::string out;
    m::encode(p, kV5, &out);
    if (auto r = send_bytes(out); !r) return r;
    auto ack = recv_type(m::PacketType::kSuback);
    if (!ack) {
      return ::testing::AssertionFailure()
             << "no SUBACK within 3 s" << (raw_.peer_closed() ? " (connection closed)" : "")
             << pending_text();
    }
    const auto* s = ack->get<m::SubackPacket>();
    if (s == nullptr || s->packet_id != p.packet_id) {
      return ::testing::AssertionFailure() << "unexpected SUBACK " << describe(*ack);
    }
    if (codes) *codes = s->reason_codes;
    if (!expected.empty() && s->reason_codes != expected) {
      return ::testing::AssertionFailure() << "SUBACK codes differ: " << describe(*ack);
    }
    return ::testing::AssertionSuccess();
  }

  // Subscribes to one filter and expects it granted at `qos`.
  ::testing::AssertionResult subscribe(const std::string& filter, uint8_t qos,
                                       uint32_t subscription_id = 0) {
    return subscribe({sub(filter, qos)}, subscription_id, {qos});
  }

  ::testing::AssertionResult unsubscribe(const std::vector<std::string>& filters,
                                         std::vector<uint8_t>* codes) {
    m::UnsubscribePacket p;
    p.packet_id = next_packet_id();
    p.filters = filters;
    std::string out;
    m::encode(p, kV5, &out);
    if (auto r = send_bytes(out); !r) return r;
    auto ack = recv_type(m::PacketType::kUnsuback);
    if (!ack) return ::testing::AssertionFailure() << "no UNSUBACK within 3 s";
    const auto* u = ack->get<m::UnsubackPacket>();
    if (u == nullptr || u->packet_id != p.packet_id) {
      return ::testing::AssertionFailure() << "unexpected UNSUBACK " << describe(*ack);
    }
    if (codes) *codes = u->reason_codes;
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult puback(uint16_t packet_id) {
    m::AckPacket a;
    a.type = m::PacketType::kPuback;
    a.packet_id = packet_id;
    return send(a);
  }

  ::testing::AssertionResult ping() {
    std::string out;
    m::encode(m::PingreqPacket{}, &out);
    if (auto r = send_bytes(out); !r) return r;
    if (!recv_type(m::PacketType::kPingresp)) {
      return ::testing::AssertionFailure()
             << "no PINGRESP within 3 s" << (raw_.peer_closed() ? " (connection closed)" : "");
    }
    return ::testing::AssertionSuccess();
  }

  // Sends DISCONNECT (reason, properties) and waits until the broker closes the connection.
  ::testing::AssertionResult disconnect(uint8_t reason = 0, const m::Properties& props = {}) {
    m::DisconnectPacket d;
    d.reason_code = reason;
    d.properties = props;
    if (auto r = send(d); !r) return r;
    if (!raw_.wait_closed(milliseconds(3000))) {
      return ::testing::AssertionFailure()
             << "broker did not close the connection after DISCONNECT";
    }
    raw_.close();
    return ::testing::AssertionSuccess();
  }

  // Closes the socket without DISCONNECT (abnormal close: wills apply).
  void close() { raw_.close(); }

  // The next packet (pending ones first), decoded. nullopt on timeout or close.
  std::optional<Received> recv(milliseconds timeout = milliseconds(3000)) {
    if (!pending_.empty()) {
      Received r = std::move(pending_.front());
      pending_.pop_front();
      return r;
    }
    return read_one(timeout);
  }

  // The next packet of `type`; others are kept, in order, for later recv() calls.
  std::optional<Received> recv_type(m::PacketType type, milliseconds timeout = milliseconds(3000)) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->type() == type) {
        Received r = std::move(*it);
        pending_.erase(it);
        return r;
      }
    }
    auto deadline = SteadyClock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return std::nullopt;
      auto r = read_one(left);
      if (!r) return std::nullopt;
      if (r->type() == type) return r;
      pending_.push_back(std::move(*r));
    }
  }

  std::optional<Message> recv_publish(milliseconds timeout = milliseconds(3000)) {
    auto r = recv_type(m::PacketType::kPublish, timeout);
    if (!r) return std::nullopt;
    const auto* p = r->get<m::PublishPacket>();
    if (p == nullptr) {
      ADD_FAILURE() << "undecodable PUBLISH: " << describe(*r);
      return std::nullopt;
    }
    return to_message(*p);
  }

  // Collects exactly n PUBLISHes.
  ::testing::AssertionResult recv_publishes(size_t n, std::vector<Message>* out,
                                            milliseconds timeout = milliseconds(5000)) {
    auto deadline = SteadyClock::now() + timeout;
    out->clear();
    while (out->size() < n) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      auto msg = left.count() > 0 ? recv_publish(left) : std::nullopt;
      if (!msg) {
        auto failure = ::testing::AssertionFailure();
        failure << "received " << out->size() << " of " << n << " PUBLISHes within "
                << timeout.count() << " ms:";
        for (const auto& mm : *out) failure << "\n  " << describe(mm);
        return failure;
      }
      out->push_back(std::move(*msg));
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult expect_no_publish(milliseconds window = milliseconds(500)) {
    if (auto msg = recv_publish(window)) {
      return ::testing::AssertionFailure() << "unexpectedly received " << describe(*msg);
    }
    return ::testing::AssertionSuccess();
  }

  // Expects a DISCONNECT from the broker with `reason` (skipping other packets), followed by
  // the broker closing the connection.
  ::testing::AssertionResult expect_disconnect(uint8_t reason,
                                               milliseconds timeout = milliseconds(3000)) {
    auto r = recv_type(m::PacketType::kDisconnect, timeout);
    if (!r) {
      return ::testing::AssertionFailure()
             << "no DISCONNECT (expected reason " << reason_hex(reason) << ") within "
             << timeout.count() << " ms"
             << (raw_.peer_closed() ? "; the broker closed the connection without one" : "")
             << pending_text();
    }
    const auto* d = r->get<m::DisconnectPacket>();
    if (d == nullptr) return ::testing::AssertionFailure() << "bad DISCONNECT " << describe(*r);
    if (d->reason_code != reason) {
      return ::testing::AssertionFailure()
             << "DISCONNECT has reason " << reason_hex(d->reason_code) << ", expected "
             << reason_hex(reason) << ": " << describe(*r);
    }
    if (!raw_.wait_closed(milliseconds(3000))) {
      return ::testing::AssertionFailure() << "connection still open 3 s after DISCONNECT";
    }
    return ::testing::AssertionSuccess();
  }

  // Like expect_disconnect, accepting any of `reasons`; *got receives the one seen.
  ::testing::AssertionResult expect_disconnect_any(const std::vector<uint8_t>& reasons,
                                                   uint8_t* got,
                                                   milliseconds timeout = milliseconds(3000)) {
    auto r = recv_type(m::PacketType::kDisconnect, timeout);
    if (!r) {
      return ::testing::AssertionFailure()
             << "no DISCONNECT within " << timeout.count() << " ms"
             << (raw_.peer_closed() ? "; the broker closed the connection without one" : "");
    }
    const auto* d = r->get<m::DisconnectPacket>();
    if (d == nullptr) return ::testing::AssertionFailure() << "bad DISCONNECT " << describe(*r);
    if (got) *got = d->reason_code;
    if (std::find(reasons.begin(), reasons.end(), d->reason_code) == reasons.end()) {
      return ::testing::AssertionFailure() << "unexpected DISCONNECT reason: " << describe(*r);
    }
    if (!raw_.wait_closed(milliseconds(3000))) {
      return ::testing::AssertionFailure() << "connection still open 3 s after DISCONNECT";
    }
    return ::testing::AssertionSuccess();
  }

  std::string pending_text() const {
    std::string s;
    for (const auto& r : pending_) s += "\n  pending: " + describe(r);
    return s;
  }

 private:
  std::optional<Received> read_one(milliseconds timeout) {
    auto packet = raw_.recv_packet(timeout);
    if (!packet) return std::nullopt;
    Received r;
    r.first_byte = packet->header;
    auto body = std::make_shared<std::string>(packet->body.begin(), packet->body.end());
    r.body = body;
    m::FrameHeader header;
    header.first_byte = packet->header;
    header.remaining_length = static_cast<uint32_t>(body->size());
    auto decoded = m::decode_packet(header, *r.body, kV5);
    if (decoded.is_ok()) {
      r.packet = std::move(*decoded);
    } else {
      r.error = decoded.status().to_string();
    }
    if (auto_ack_) auto_acknowledge(r);
    return r;
  }

  void auto_acknowledge(const Received& r) {
    if (const auto* p = r.get<m::PublishPacket>()) {
      if (p->qos == 0) return;
      m::AckPacket a;
      a.type = p->qos == 1 ? m::PacketType::kPuback : m::PacketType::kPubrec;
      a.packet_id = p->packet_id;
      (void)send(a);
    } else if (const auto* a = r.get<m::AckPacket>(); a && a->type == m::PacketType::kPubrel) {
      m::AckPacket comp;
      comp.type = m::PacketType::kPubcomp;
      comp.packet_id = a->packet_id;
      (void)send(comp);
    }
  }

  uint16_t port_;
  RawClient raw_;
  bool auto_ack_ = true;
  uint16_t last_id_ = 0;
  std::deque<Received> pending_;
};

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

inline milliseconds since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - t);
}

}  // namespace topicdb::itest::v5

#endif  // TOPICDB_TESTS_INTEGRATION_V5_CLIENT_H_
