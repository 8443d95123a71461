// encode_any: encodes whichever packet a decoded mqtt::Packet holds, for code that handles
// packets generically (round-trip tests, the fuzzers, the seed-corpus generator). The broker
// itself always knows the packet type it sends and calls encode() directly.
#pragma once

#include <string>
#include <type_traits>
#include <variant>

#include "broker/codec/codec.h"

namespace topicdb::mqtt {

// CONNECT, PINGREQ, PINGRESP and AUTH encode the same in every version (CONNECT carries its
// own level; AUTH exists only in MQTT 5); every other packet is encoded for `v`.
inline void encode_any(const Packet& packet, ProtocolVersion v, std::string* out) {
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, ConnectPacket> || std::is_same_v<T, PingreqPacket> ||
                      std::is_same_v<T, PingrespPacket> || std::is_same_v<T, AuthPacket>) {
          encode(p, out);
        } else {
          encode(p, v, out);
        }
      },
      packet);
}

}  // namespace topicdb::mqtt
