// The MQTT wire codec: framing (fixed header and remaining length), decoding of whole
// packets with every well-formedness rule of MQTT 3.1.1 and 5.0, and encoding.
// Pure functions over bytes: no sockets, no broker state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "broker/codec/packets.h"

namespace topicdb::mqtt {

// The fixed header of one packet (MQTT 3.1.1 §2.2).
struct FrameHeader {
  uint8_t first_byte = 0;         // packet type (high nibble) and flags (low nibble)
  uint32_t remaining_length = 0;  // bytes after the fixed header
  uint32_t header_size = 0;       // 2..5 bytes: type byte plus remaining-length bytes
  PacketType type() const { return static_cast<PacketType>(first_byte >> 4); }
  uint8_t flags() const { return first_byte & 0x0F; }
  size_t total_size() const { return size_t{header_size} + remaining_length; }
};

// The outcome of looking at the start of a byte stream.
enum class FrameStatus { kNeedMore, kComplete };

// Parses the fixed header at the start of `data`. Sets *header and returns kComplete once the
// whole header is present (the body may still be incomplete: compare header->total_size()
// with the bytes at hand). Fails with kInvalidArgument (malformed) for a remaining length
// encoded in more than four bytes or a packet type 0, and with kResourceExhausted when the
// whole packet (header + remaining length) would exceed max_packet_size: that check is made
// from the header alone, before anything is allocated for the body.
Result<FrameStatus> parse_frame_header(std::string_view data, uint32_t max_packet_size,
                                       FrameHeader* header);

// Reads the protocol level of a CONNECT body without decoding the rest, so the broker can
// answer an unsupported version with a CONNACK of the right form. Returns 0 if unreadable.
uint8_t peek_connect_protocol_level(std::string_view body);

// Decodes one whole packet. `body` holds exactly header.remaining_length bytes. `version` is
// the connection's negotiated protocol (ignored for CONNECT, which carries its own).
// Errors: kInvalidArgument = malformed packet (MQTT 5 reason 0x81), kProtocolError = protocol
// error (0x82), kUnsupported = unsupported protocol name or level in CONNECT.
// A PublishPacket borrows topic and payload from `body`.
Result<Packet> decode_packet(const FrameHeader& header, std::string_view body,
                             ProtocolVersion version);

// Encoders append the whole packet (fixed header included) to *out.
void encode(const ConnectPacket& p, std::string* out);  // used by tests and the bench tool
void encode(const ConnackPacket& p, ProtocolVersion v, std::string* out);
void encode(const PublishPacket& p, ProtocolVersion v, std::string* out);
void encode(const AckPacket& p, ProtocolVersion v, std::string* out);
void encode(const SubscribePacket& p, ProtocolVersion v, std::string* out);
void encode(const SubackPacket& p, ProtocolVersion v, std::string* out);
void encode(const UnsubscribePacket& p, ProtocolVersion v, std::string* out);
void encode(const UnsubackPacket& p, ProtocolVersion v, std::string* out);
void encode(const PingreqPacket& p, std::string* out);
void encode(const PingrespPacket& p, std::string* out);
void encode(const DisconnectPacket& p, ProtocolVersion v, std::string* out);
void encode(const AuthPacket& p, std::string* out);

// Appends everything of a PUBLISH except its payload: fixed header (remaining length counts
// the payload), topic, packet id (qos > 0) and v5 properties. With the payload appended
// after it this equals encode(p, v, out); it lets one payload buffer be shared by many
// subscribers while each gets its own header.
void encode_publish_header(const PublishPacket& p, ProtocolVersion v, std::string* out);

// Size of the whole encoded PUBLISH, for maximum-packet-size checks before encoding.
size_t encoded_publish_size(const PublishPacket& p, ProtocolVersion v);

}  // namespace topicdb::mqtt
