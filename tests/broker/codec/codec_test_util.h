// Helpers for the codec tests: a hand-rolled byte builder (independent of the encoder, so
// decoder tests do not trust the code under test), whole-packet decoding, and a canonical
// text dump of packets so that round trips compare every field with readable diffs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "base/status.h"
#include "broker/codec/codec.h"
#include "broker/codec/encode_any.h"
#include "broker/codec/packets.h"

namespace topicdb::mqtt::codec_test {

constexpr uint32_t kNoLimit = 0xFFFFFFFF;
constexpr ProtocolVersion kV311 = ProtocolVersion::kV311;
constexpr ProtocolVersion kV5 = ProtocolVersion::kV5;

// Builds wire bytes field by field.
class Bytes {
 public:
  Bytes& u8(uint8_t v) {
    s_.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(v & 0xFF); }
  Bytes& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(v & 0xFFFF); }
  Bytes& varint(uint32_t v) {
    do {
      uint8_t b = v % 128;
      v /= 128;
      if (v > 0) b |= 0x80;
      u8(b);
    } while (v > 0);
    return *this;
  }
  // Two-byte length prefix then the bytes (UTF-8 string or binary data).
  Bytes& str(std::string_view v) {
    u16(static_cast<uint16_t>(v.size()));
    return raw(v);
  }
  Bytes& raw(std::string_view v) {
    s_.append(v);
    return *this;
  }
  // A property block: variable byte integer length, then the given property bytes.
  Bytes& props(const Bytes& content) {
    varint(static_cast<uint32_t>(content.size()));
    return raw(content.str());
  }
  size_t size() const { return s_.size(); }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

// A whole packet: first byte, remaining length, body.
inline std::string frame(uint8_t first_byte, const Bytes& body) {
  Bytes b;
  b.u8(first_byte).varint(static_cast<uint32_t>(body.size())).raw(body.str());
  return b.str();
}

// parse_frame_header + decode_packet on a buffer holding exactly one packet. A decoded
// PUBLISH borrows from `wire`, so keep it alive while using the result.
inline Result<Packet> decode_wire(std::string_view wire, ProtocolVersion v) {
  FrameHeader h;
  Result<FrameStatus> fs = parse_frame_header(wire, kNoLimit, &h);
  if (!fs.is_ok()) return fs.status();
  if (*fs != FrameStatus::kComplete || h.total_size() != wire.size()) {
    return Status::internal("test bytes are not exactly one packet");
  }
  return decode_packet(h, wire.substr(h.header_size), v);
}

inline Status::Code decode_code(std::string_view wire, ProtocolVersion v) {
  return decode_wire(wire, v).status().code();
}

inline std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto b = static_cast<uint8_t>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

// Canonical dumps: every field, so equal dumps mean equal packets.
inline std::string dump(const Properties& p) {
  std::ostringstream o;
  auto opt = [&o](const char* name, const auto& v) {
    if (!v) return;
    o << name << '=';
    if constexpr (std::is_same_v<std::decay_t<decltype(*v)>, std::string>) {
      o << hex(*v);
    } else {
      o << uint64_t{*v};
    }
    o << ';';
  };
  opt("pfi", p.payload_format_indicator);
  opt("mei", p.message_expiry_interval);
  opt("ct", p.content_type);
  opt("rt", p.response_topic);
  opt("cd", p.correlation_data);
  for (uint32_t id : p.subscription_identifiers) o << "sid=" << id << ';';
  opt("sei", p.session_expiry_interval);
  opt("aci", p.assigned_client_identifier);
  opt("ska", p.server_keep_alive);
  opt("am", p.authentication_method);
  opt("ad", p.authentication_data);
  opt("rpi", p.request_problem_information);
  opt("wdi", p.will_delay_interval);
  opt("rri", p.request_response_information);
  opt("ri", p.response_information);
  opt("sr", p.server_reference);
  opt("rs", p.reason_string);
  opt("rm", p.receive_maximum);
  opt("tam", p.topic_alias_maximum);
  opt("ta", p.topic_alias);
  opt("mq", p.maximum_qos);
  opt("ra", p.retain_available);
  for (const auto& [k, v] : p.user_properties) o << "up=" << hex(k) << ':' << hex(v) << ';';
  opt("mps", p.maximum_packet_size);
  opt("wsa", p.wildcard_subscription_available);
  opt("sia", p.subscription_identifier_available);
  opt("ssa", p.shared_subscription_available);
  return o.str();
}

inline std::string dump(const Packet& packet) {
  std::ostringstream o;
  std::visit(
      [&o](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, ConnectPacket>) {
          o << "CONNECT v" << int{static_cast<uint8_t>(p.version)} << " clean=" << p.clean_start
            << " ka=" << p.keep_alive << " id=" << hex(p.client_id);
          if (p.will) {
            o << " will{" << hex(p.will->topic) << ',' << hex(p.will->payload)
              << ",q=" << int{p.will->qos} << ",r=" << p.will->retain << ','
              << dump(p.will->properties) << '}';
          }
          if (p.username) o << " user=" << hex(*p.username);
          if (p.password) o << " pass=" << hex(*p.password);
        } else if constexpr (std::is_same_v<T, ConnackPacket>) {
          o << "CONNACK sp=" << p.session_present << " rc=" << int{p.reason_code};
        } else if constexpr (std::is_same_v<T, PublishPacket>) {
          o << "PUBLISH t=" << hex(p.topic) << " q=" << int{p.qos} << " r=" << p.retain
            << " d=" << p.dup << " id=" << p.packet_id << " pl=" << hex(p.payload);
        } else if constexpr (std::is_same_v<T, AckPacket>) {
          o << "ACK type=" << int{static_cast<uint8_t>(p.type)} << " id=" << p.packet_id
            << " rc=" << int{p.reason_code};
        } else if constexpr (std::is_same_v<T, SubscribePacket>) {
          o << "SUBSCRIBE id=" << p.packet_id;
          for (const auto& s : p.subscriptions) {
            o << " {" << hex(s.filter) << ",q=" << int{s.qos} << ",nl=" << s.no_local
              << ",rap=" << s.retain_as_published << ",rh=" << int{s.retain_handling} << '}';
          }
        } else if constexpr (std::is_same_v<T, SubackPacket> || std::is_same_v<T, UnsubackPacket>) {
          o << (std::is_same_v<T, SubackPacket> ? "SUBACK" : "UNSUBACK") << " id=" << p.packet_id
            << " codes=";
          for (uint8_t c : p.reason_codes) o << int{c} << ',';
        } else if constexpr (std::is_same_v<T, UnsubscribePacket>) {
          o << "UNSUBSCRIBE id=" << p.packet_id;
          for (const auto& f : p.filters) o << ' ' << hex(f);
        } else if constexpr (std::is_same_v<T, PingreqPacket>) {
          o << "PINGREQ";
        } else if constexpr (std::is_same_v<T, PingrespPacket>) {
          o << "PINGRESP";
        } else if constexpr (std::is_same_v<T, DisconnectPacket>) {
          o << "DISCONNECT rc=" << int{p.reason_code};
        } else if constexpr (std::is_same_v<T, AuthPacket>) {
          o << "AUTH rc=" << int{p.reason_code};
        }
        if constexpr (!std::is_same_v<T, PingreqPacket> && !std::is_same_v<T, PingrespPacket>) {
          o << " props{" << dump(p.properties) << '}';
        }
      },
      packet);
  return o.str();
}

}  // namespace topicdb::mqtt::codec_test
