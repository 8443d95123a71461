// libFuzzer target: the MQTT 5 property block decoder. The first byte picks the packet
// context (each allows its own properties); an accepted block must re-encode to
// properties_wire_size bytes that decode to equal properties.
#include <cstddef>
#include <cstdint>
#include <string>

#include "broker/codec/property_codec.h"
#include "broker/codec/wire.h"
#include "fuzz/fuzz_check.h"

namespace topicdb::mqtt::fuzz {
namespace {

constexpr uint8_t kContexts = static_cast<uint8_t>(PropertyContext::kAuth) + 1;

void fuzz_one(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const auto context = static_cast<PropertyContext>(data[0] % kContexts);
  const std::string block(reinterpret_cast<const char*>(data) + 1, size - 1);
  WireReader r(block);
  Properties props;
  Status s = decode_properties(&r, context, &props);
  if (!s.is_ok()) {
    TOPICDB_FUZZ_CHECK(
        s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kProtocolError,
        "decode_properties failed with an undocumented code");
    return;
  }
  std::string wire;
  encode_properties(props, &wire);
  TOPICDB_FUZZ_CHECK(wire.size() == properties_wire_size(props),
                     "properties_wire_size differs from the encoded block");
  WireReader again(wire);
  Properties decoded;
  TOPICDB_FUZZ_CHECK(decode_properties(&again, context, &decoded).is_ok(),
                     "a re-encoded property block does not decode");
  TOPICDB_FUZZ_CHECK(again.empty(), "a re-encoded property block has trailing bytes");
  TOPICDB_FUZZ_CHECK(decoded == props, "a property block changed in the round trip");
}

}  // namespace
}  // namespace topicdb::mqtt::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicdb::mqtt::fuzz::fuzz_one(data, size);
  return 0;
}
