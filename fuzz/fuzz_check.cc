// The shared checks of the libFuzzer targets (see fuzz_check.h).
#include "fuzz/fuzz_check.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <variant>

#include "base/status.h"
#include "broker/codec/codec.h"
#include "broker/codec/encode_any.h"

namespace topicdb::mqtt::fuzz {
namespace {

bool is_decoder_error(Status::Code code) {
  return code == Status::Code::kInvalidArgument || code == Status::Code::kProtocolError ||
         code == Status::Code::kUnsupported;
}

// Frames and decodes bytes the encoder produced; they must be exactly one valid packet.
Packet decode_encoded(const std::string& wire, ProtocolVersion version) {
  FrameHeader h;
  Result<FrameStatus> fs = parse_frame_header(wire, 0xFFFFFFFF, &h);
  TOPICDB_FUZZ_CHECK(fs.is_ok() && *fs == FrameStatus::kComplete,
                     "the encoder wrote a fixed header that does not parse");
  TOPICDB_FUZZ_CHECK(h.total_size() == wire.size(),
                     "the encoder's remaining length differs from the bytes it wrote");
  Result<Packet> r = decode_packet(h, std::string_view(wire).substr(h.header_size), version);
  if (!r.is_ok()) fail("a re-encoded packet does not decode: " + r.status().to_string());
  return std::move(*r);
}

}  // namespace

void fail(std::string_view what) {
  std::fprintf(stderr, "topicdb fuzz check failed: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

void check_packet(uint8_t first_byte, std::string_view body, ProtocolVersion version) {
  FrameHeader header;
  header.first_byte = first_byte;
  header.remaining_length = static_cast<uint32_t>(body.size());
  header.header_size = 2;  // not read by decode_packet
  Result<Packet> r = decode_packet(header, body, version);
  if (!r.is_ok()) {
    if (!is_decoder_error(r.status().code())) {
      fail("decode_packet failed with an undocumented code: " + r.status().to_string());
    }
    return;
  }
  std::string wire;
  encode_any(*r, version, &wire);
  if (const auto* publish = std::get_if<PublishPacket>(&*r)) {
    TOPICDB_FUZZ_CHECK(encoded_publish_size(*publish, version) == wire.size(),
                       "encoded_publish_size differs from the encoded PUBLISH");
    std::string head;
    encode_publish_header(*publish, version, &head);
    head.append(publish->payload);
    TOPICDB_FUZZ_CHECK(head == wire, "encode_publish_header + payload differs from encode");
  }
  // `again` borrows from `wire` (a PUBLISH), which stays alive until the end.
  const Packet again = decode_encoded(wire, version);
  std::string rewire;
  encode_any(again, version, &rewire);
  TOPICDB_FUZZ_CHECK(rewire == wire, "decode -> encode -> decode -> encode is not stable");
}

}  // namespace topicdb::mqtt::fuzz
