// Deterministic mutation fuzzing of the decoder: corrupted and truncated packets must be
// rejected cleanly (never crash, never read out of bounds: run under ASan/UBSan), and
// anything accepted must survive a re-encode / re-decode unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "broker/codec/codec.h"
#include "tests/broker/codec/codec_test_util.h"
#include "tests/broker/codec/sample_packets.h"

namespace topicdb::mqtt {
namespace {

using codec_test::dump;
using mqtt::encode_any;
using codec_test::hex;

// Valid packets of every type in the given version, to mutate.
std::vector<std::string> seeds(ProtocolVersion v) {
  std::vector<std::string> out;
  for (const Packet& packet : codec_test::sample_packets(v)) {
    std::string wire;
    encode_any(packet, v, &wire);
    out.push_back(std::move(wire));
  }
  return out;
}

// Frames and decodes `wire` the way a connection would; on success checks the round trip.
void check_one(const std::string& wire, ProtocolVersion v) {
  FrameHeader h;
  Result<FrameStatus> fs = parse_frame_header(wire, 1 << 20, &h);
  if (!fs.is_ok() || *fs != FrameStatus::kComplete || h.total_size() > wire.size()) return;
  // Copy the body into its own allocation so ASan catches any read past its end.
  const std::string body = wire.substr(h.header_size, h.remaining_length);
  Result<Packet> r = decode_packet(h, body, v);
  if (!r.is_ok()) {
    const Status::Code code = r.status().code();
    EXPECT_TRUE(code == Status::Code::kInvalidArgument || code == Status::Code::kProtocolError ||
                code == Status::Code::kUnsupported)
        << hex(wire);
    return;
  }
  std::string again;
  encode_any(*r, v, &again);
  Result<Packet> r2 = codec_test::decode_wire(again, v);
  ASSERT_TRUE(r2.is_ok()) << hex(wire) << " re-encoded as " << hex(again) << ": "
                          << r2.status().to_string();
  EXPECT_EQ(dump(*r2), dump(*r)) << hex(wire);
}

void fuzz(ProtocolVersion v, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> base = seeds(v);
  for (const std::string& s : base) check_one(s, v);
  for (int i = 0; i < 20'000; ++i) {
    std::string w = base[rng() % base.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !w.empty(); ++e) {
      const size_t at = rng() % w.size();
      switch (rng() % 4) {
        case 0:  // flip one bit
          w[at] = static_cast<char>(w[at] ^ (1 << (rng() % 8)));
          break;
        case 1:  // replace a byte
          w[at] = static_cast<char>(rng() & 0xFF);
          break;
        case 2:  // truncate, keeping the header's claimed length (body too short)
          w.resize(at);
          break;
        case 3:  // insert a byte
          w.insert(w.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(rng() & 0xFF));
          break;
      }
    }
    // Re-frame with the true body length half of the time, so that the body-level checks
    // (not only the length mismatch) get exercised.
    if (rng() % 2 == 0 && w.size() >= 2 && (static_cast<uint8_t>(w[1]) & 0x80) == 0) {
      w[1] = static_cast<char>(std::min<size_t>(w.size() - 2, 127));
      w.resize(2 + static_cast<uint8_t>(w[1]));
    }
    check_one(w, v);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(CodecFuzzTest, MutatedV311PacketsAreHandled) { fuzz(ProtocolVersion::kV311, 311); }

TEST(CodecFuzzTest, MutatedV5PacketsAreHandled) { fuzz(ProtocolVersion::kV5, 5); }

}  // namespace
}  // namespace topicdb::mqtt
