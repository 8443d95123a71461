// The input layout shared by the libFuzzer targets and the seed-corpus generator: a selector
// byte (protocol version and packet kind) in front of the bytes under test.
#pragma once

#include <array>
#include <cstdint>

#include "broker/codec/packets.h"

namespace topicdb::mqtt::fuzz {

// Selector bits 0-1: the connection's protocol level. 0 = 3 (MQTT 3.1), 1 = 4 (3.1.1),
// 2 and 3 = 5. CONNECT carries its own level in its body ("MQIsdp" 3 for 3.1), so the
// CONNECT seeds and targets reach 3.1 by input whatever the selector says.
constexpr uint8_t kMqtt31Level = 3;

// The ProtocolVersion a 3.1 connection decodes its other packets with. 3.1 has 3.1.1's
// packet layout; when ProtocolVersion gains a 3.1 value, name it here and every target runs
// under it. (Not static_cast<ProtocolVersion>(3) today: the decoders test some rules with
// `== kV311` and others with `== kV5`, so an unnamed third value would mix the layouts.)
constexpr ProtocolVersion kMqtt31Connection = ProtocolVersion::kV311;

inline ProtocolVersion version_from_selector(uint8_t selector) {
  switch (selector & 0x03) {
    case 0:
      return kMqtt31Connection;
    case 1:
      return ProtocolVersion::kV311;
    default:
      return ProtocolVersion::kV5;
  }
}

inline uint8_t selector_for(uint8_t protocol_level, uint8_t kind) {
  const uint8_t version_bits = protocol_level == kMqtt31Level ? 0 : protocol_level == 4 ? 1 : 2;
  return static_cast<uint8_t>(version_bits | (kind << 2));
}

// Selector bits 2-5 ("kind"): the packet type within a target's family (modulo its size), or
// for PUBLISH the fixed-header flags (DUP, QoS, RETAIN).
inline uint8_t kind_from_selector(uint8_t selector) { return (selector >> 2) & 0x0F; }

// The families of the per-packet targets; every packet type is in exactly one.
constexpr std::array<PacketType, 4> kSubscribeFamily = {
    PacketType::kSubscribe, PacketType::kSuback, PacketType::kUnsubscribe, PacketType::kUnsuback};
constexpr std::array<PacketType, 9> kAckFamily = {
    PacketType::kConnack,  PacketType::kPuback,     PacketType::kPubrec,
    PacketType::kPubrel,   PacketType::kPubcomp,    PacketType::kPingreq,
    PacketType::kPingresp, PacketType::kDisconnect, PacketType::kAuth};

// The fixed-header flags a packet type must carry (MQTT 3.1.1 §2.2.2, MQTT 5 §2.1.3), so the
// per-packet targets spend their time in the body decoders; the stream target covers the rest.
inline uint8_t required_flags(PacketType type) {
  return type == PacketType::kPubrel || type == PacketType::kSubscribe ||
                 type == PacketType::kUnsubscribe
             ? 0x02
             : 0x00;
}

}  // namespace topicdb::mqtt::fuzz
