// Internal to the codec: helpers shared by the per-packet decoders (decoder.cc,
// decode_connect.cc, decode_subscribe.cc). Not part of the public codec interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "broker/codec/packets.h"
#include "broker/codec/wire.h"

namespace topicdb::mqtt::decode_detail {

// Error constructors named after the MQTT 5 reason codes they map to (0x81, 0x82).
inline Status malformed(std::string_view what) {
  return Status::invalid_argument(std::string(what));
}
inline Status protocol_error(std::string_view what) {
  return Status::protocol_error(std::string(what));
}

// A UTF-8 Encoded String (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4): truncation, ill-formed UTF-8
// and U+0000 are all malformed (MQTT-1.5.3-1, MQTT-1.5.3-2).
Status read_utf8(WireReader* r, std::string_view what, std::string_view* out);

// A packet identifier, which must be non-zero (MQTT-2.2.1-3 / MQTT-2.3.1-1).
Status read_packet_id(WireReader* r, std::string_view what, uint16_t* out);

// Bytes left over after the last field of a packet make it malformed.
inline Status expect_end(const WireReader& r, std::string_view what) {
  if (r.empty()) return Status::ok();
  return malformed(std::string(what) + " has " + std::to_string(r.remaining()) +
                   " unexpected trailing bytes");
}

Result<Packet> decode_connect(std::string_view body);
Result<Packet> decode_subscribe(std::string_view body, ProtocolVersion version);
Result<Packet> decode_suback(std::string_view body, ProtocolVersion version);
Result<Packet> decode_unsubscribe(std::string_view body, ProtocolVersion version);
Result<Packet> decode_unsuback(std::string_view body, ProtocolVersion version);

}  // namespace topicdb::mqtt::decode_detail
