// libFuzzer target: a connection's byte stream. The first byte selects the protocol level
// (fuzz_input.h); the rest is split into packets by parse_frame_header and each is decoded
// and round-tripped, so every packet type is reached through the real framing path, fixed-
// header flag checks included.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/codec/codec.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

namespace topicdb::mqtt::fuzz {
namespace {

void fuzz_one(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const ProtocolVersion version = version_from_selector(data[0]);
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!stream.empty()) {
    FrameHeader h;
    Result<FrameStatus> fs = parse_frame_header(stream, 1 << 16, &h);
    if (!fs.is_ok() || *fs != FrameStatus::kComplete || h.total_size() > stream.size()) break;
    // The body in an allocation of its own, so ASan sees any read past its end.
    const std::string body(stream.substr(h.header_size, h.remaining_length));
    check_packet(h.first_byte, body, version);
    stream.remove_prefix(h.total_size());
  }
}

}  // namespace
}  // namespace topicdb::mqtt::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicdb::mqtt::fuzz::fuzz_one(data, size);
  return 0;
}
