#include "tests/integration/mqtt_packets.h"

#include <cstdio>

namespace topicdb::itest {

uint16_t Packet::packet_id() const {
  if (body.size() < 2) return 0;
  return static_cast<uint16_t>((body[0] << 8) | body[1]);
}

Bytes encode_remaining_length(size_t length) {
  Bytes out;
  do {
    uint8_t byte = length % 128;
    length /= 128;
    if (length > 0) byte |= 0x80;
    out.push_back(byte);
  } while (length > 0);
  return out;
}

void append_u16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xFF));
}

void append_string(Bytes& out, std::string_view s) {
  append_u16(out, static_cast<uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes make_packet(uint8_t first_byte, const Bytes& body) {
  Bytes out{first_byte};
  Bytes len = encode_remaining_length(body.size());
  out.insert(out.end(), len.begin(), len.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes connect_packet(const ConnectSpec& spec) {
  Bytes body;
  append_string(body, spec.protocol_name);
  body.push_back(spec.protocol_level);
  uint8_t flags = 0;
  if (spec.clean_session) flags |= 0x02;
  if (spec.will) {
    flags |= 0x04;
    flags |= static_cast<uint8_t>((spec.will->qos & 0x03) << 3);
    if (spec.will->retain) flags |= 0x20;
  }
  if (spec.password) flags |= 0x40;
  if (spec.username) flags |= 0x80;
  flags |= spec.extra_flags;
  body.push_back(flags);
  append_u16(body, spec.keep_alive);
  append_string(body, spec.client_id);
  if (spec.will) {
    append_string(body, spec.will->topic);
    append_string(body, spec.will->payload);
  }
  if (spec.username) append_string(body, *spec.username);
  if (spec.password) append_string(body, *spec.password);
  return make_packet(static_cast<uint8_t>((kConnect << 4) | (spec.header_flags & 0x0F)), body);
}

Bytes publish_packet(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
                     bool dup, uint16_t packet_id) {
  Bytes body;
  append_string(body, topic);
  if (qos > 0) append_u16(body, packet_id);
  body.insert(body.end(), payload.begin(), payload.end());
  uint8_t first = static_cast<uint8_t>(kPublish << 4);
  if (dup) first |= 0x08;
  first |= static_cast<uint8_t>((qos & 0x03) << 1);
  if (retain) first |= 0x01;
  return make_packet(first, body);
}

Bytes subscribe_packet(uint16_t packet_id,
                       const std::vector<std::pair<std::string, uint8_t>>& filters,
                       uint8_t header_flags) {
  Bytes body;
  append_u16(body, packet_id);
  for (const auto& [filter, qos] : filters) {
    append_string(body, filter);
    body.push_back(qos);
  }
  return make_packet(static_cast<uint8_t>((kSubscribe << 4) | (header_flags & 0x0F)), body);
}

Bytes unsubscribe_packet(uint16_t packet_id, const std::vector<std::string>& filters) {
  Bytes body;
  append_u16(body, packet_id);
  for (const auto& filter : filters) append_string(body, filter);
  return make_packet(static_cast<uint8_t>((kUnsubscribe << 4) | 0x02), body);
}

namespace {
Bytes id_only_packet(uint8_t first, uint16_t packet_id) {
  Bytes body;
  append_u16(body, packet_id);
  return make_packet(first, body);
}
}  // namespace

Bytes puback_packet(uint16_t packet_id) { return id_only_packet(kPuback << 4, packet_id); }
Bytes pubrec_packet(uint16_t packet_id) { return id_only_packet(kPubrec << 4, packet_id); }
Bytes pubrel_packet(uint16_t packet_id, uint8_t header_flags) {
  return id_only_packet(static_cast<uint8_t>((kPubrel << 4) | (header_flags & 0x0F)), packet_id);
}
Bytes pubcomp_packet(uint16_t packet_id) { return id_only_packet(kPubcomp << 4, packet_id); }
Bytes pingreq_packet() { return Bytes{kPingreq << 4, 0x00}; }
Bytes disconnect_packet() { return Bytes{kDisconnect << 4, 0x00}; }

std::optional<PublishView> parse_publish(const Packet& packet) {
  if (packet.type() != kPublish) return std::nullopt;
  PublishView view;
  view.qos = (packet.flags() >> 1) & 0x03;
  view.dup = (packet.flags() & 0x08) != 0;
  view.retain = (packet.flags() & 0x01) != 0;
  const Bytes& b = packet.body;
  if (b.size() < 2) return std::nullopt;
  size_t topic_len = static_cast<size_t>((b[0] << 8) | b[1]);
  size_t pos = 2;
  if (b.size() < pos + topic_len) return std::nullopt;
  view.topic.assign(b.begin() + static_cast<std::ptrdiff_t>(pos),
                    b.begin() + static_cast<std::ptrdiff_t>(pos + topic_len));
  pos += topic_len;
  if (view.qos > 0) {
    if (b.size() < pos + 2) return std::nullopt;
    view.packet_id = static_cast<uint16_t>((b[pos] << 8) | b[pos + 1]);
    pos += 2;
  }
  view.payload.assign(b.begin() + static_cast<std::ptrdiff_t>(pos), b.end());
  return view;
}

std::string hex(const Bytes& bytes, size_t max_bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
    if (!out.empty()) out += ' ';
    out += buf;
  }
  if (bytes.size() > max_bytes) out += " ...";
  return out;
}

std::string describe(const Packet& packet) {
  static const char* const kNames[] = {"RESERVED0", "CONNECT",  "CONNACK",     "PUBLISH",
                                       "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                       "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                       "PINGREQ",   "PINGRESP", "DISCONNECT",  "RESERVED15"};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s(flags=0x%x, %zu body bytes", kNames[packet.type()],
                packet.flags(), packet.body.size());
  std::string out = buf;
  if (auto pub = parse_publish(packet)) {
    out += ", topic='" + pub->topic + "', qos=" + std::to_string(pub->qos) +
           ", dup=" + std::to_string(pub->dup) + ", retain=" + std::to_string(pub->retain) +
           ", id=" + std::to_string(pub->packet_id) + ", payload='" + pub->payload.substr(0, 64) +
           "'";
  } else {
    out += ": " + hex(packet.body, 16);
  }
  return out + ")";
}

}  // namespace topicdb::itest
