// Fitting what the broker sends into the Maximum Packet Size an MQTT 5 client declared
// (MQTT-3.1.2-24: the limit covers the whole packet, fixed header included). Every sender of
// a packet with optional properties encodes through encode_within_limit.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "broker/codec/codec.h"

namespace topicdb::broker {

// Removes the next property whose absence means the same (or a stricter) thing to the
// client, in the order they go: reason string and user properties (MQTT 5 §3.2.2.3.9,
// §3.4.2.2.2, §3.14.2.2.3: "the sender MUST NOT send this property if it would increase the
// size beyond the Maximum Packet Size"), then, in a CONNACK, the four "... Available" flags
// (absent = 1, which is what we send), Topic Alias Maximum (absent = 0: the client may use
// no aliases) and Response Information (a client that gets none builds its own topics).
// False when nothing optional is left.
bool drop_optional_property(mqtt::Properties& properties, bool connack);

// Encodes `packet` (appending to `out`) in at most `limit` bytes (0 = no limit), dropping
// optional properties from `packet` until it fits. False, with `out` unchanged, when even
// the smallest form is too large: the caller must not send it (and closes the connection,
// since the exchange cannot go on without it).
template <typename P>
bool encode_within_limit(P& packet, mqtt::ProtocolVersion version, uint32_t limit,
                         std::string* out) {
  constexpr bool kConnack = std::is_same_v<P, mqtt::ConnackPacket>;
  std::string encoded;
  for (;;) {
    encoded.clear();
    if constexpr (std::is_same_v<P, mqtt::AuthPacket>) {
      mqtt::encode(packet, &encoded);
    } else {
      mqtt::encode(packet, version, &encoded);
    }
    if (limit == 0 || encoded.size() <= limit) break;
    if (!drop_optional_property(packet.properties, kConnack)) return false;
  }
  out->append(encoded);
  return true;
}

}  // namespace topicdb::broker
