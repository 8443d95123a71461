// libFuzzer target: the fixed header (parse_frame_header) and the CONNECT level peek, on raw
// bytes as they arrive from a socket.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/codec/codec.h"
#include "fuzz/fuzz_check.h"

namespace topicdb::mqtt::fuzz {
namespace {

void fuzz_one(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // A small limit as well as none, so the kResourceExhausted path is reached too.
  for (uint32_t limit : {uint32_t{0xFFFFFFFF}, uint32_t{64}}) {
    FrameHeader h;
    Result<FrameStatus> fs = parse_frame_header(in, limit, &h);
    if (!fs.is_ok()) {
      const Status::Code code = fs.status().code();
      TOPICDB_FUZZ_CHECK(
          code == Status::Code::kInvalidArgument || code == Status::Code::kResourceExhausted,
          "parse_frame_header failed with an undocumented code");
      continue;
    }
    if (*fs == FrameStatus::kNeedMore) {
      // At most five header bytes are ever needed (MQTT 3.1.1 §2.2.3).
      TOPICDB_FUZZ_CHECK(size < 5, "parse_frame_header wants more than five header bytes");
      continue;
    }
    TOPICDB_FUZZ_CHECK(h.header_size >= 2 && h.header_size <= 5 && h.header_size <= size,
                       "header size out of range");
    TOPICDB_FUZZ_CHECK(h.remaining_length <= 268'435'455, "remaining length above the maximum");
    TOPICDB_FUZZ_CHECK(h.first_byte == data[0] && h.type() != PacketType{0},
                       "first byte not kept or type 0 accepted");
    TOPICDB_FUZZ_CHECK(h.total_size() <= limit, "packet above the limit accepted");
    if (h.total_size() <= size && h.type() == PacketType::kConnect) {
      (void)peek_connect_protocol_level(in.substr(h.header_size, h.remaining_length));
    }
  }
}

}  // namespace
}  // namespace topicdb::mqtt::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicdb::mqtt::fuzz::fuzz_one(data, size);
  return 0;
}
