// Framing: the fixed header (MQTT 3.1.1 §2.2, MQTT 5 §2.1) and the CONNECT level peek.
#include <string>

#include "broker/codec/codec.h"
#include "broker/codec/wire.h"

namespace topicdb::mqtt {

Result<FrameStatus> parse_frame_header(std::string_view data, uint32_t max_packet_size,
                                       FrameHeader* header) {
  if (data.empty()) return FrameStatus::kNeedMore;
  const auto first = static_cast<uint8_t>(data[0]);
  // Type 0 is reserved in both versions; refusing it at the first byte stops a peer that
  // is not speaking MQTT before it can make us wait for a body.
  if ((first >> 4) == 0) return Status::invalid_argument("packet type 0 is reserved");
  uint32_t remaining = 0;
  // MQTT 3.1.1 §2.2.3 / MQTT 5 §1.5.5: the remaining length takes at most four bytes.
  for (size_t i = 0; i < 4; ++i) {
    if (1 + i >= data.size()) return FrameStatus::kNeedMore;
    const auto b = static_cast<uint8_t>(data[1 + i]);
    remaining |= uint32_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) != 0) continue;
    header->first_byte = first;
    header->remaining_length = remaining;
    header->header_size = static_cast<uint32_t>(2 + i);
    if (header->total_size() > max_packet_size) {
      return Status::resource_exhausted("packet of " + std::to_string(header->total_size()) +
                                        " bytes exceeds the maximum packet size of " +
                                        std::to_string(max_packet_size));
    }
    return FrameStatus::kComplete;
  }
  return Status::invalid_argument("remaining length longer than four bytes");
}

uint8_t peek_connect_protocol_level(std::string_view body) {
  WireReader r(body);
  std::string_view name;
  uint8_t level = 0;
  if (!r.read_prefixed(&name) || !r.read_u8(&level)) return 0;
  return level;
}

}  // namespace topicdb::mqtt
