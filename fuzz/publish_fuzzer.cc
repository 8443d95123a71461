// libFuzzer target: the PUBLISH body decoder under MQTT 3.1, 3.1.1 and 5. The selector's
// kind bits are the fixed-header flags (DUP, QoS, RETAIN), invalid ones included.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

namespace topicdb::mqtt::fuzz {
namespace {

void fuzz_one(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto first_byte = static_cast<uint8_t>((static_cast<uint8_t>(PacketType::kPublish) << 4) |
                                               kind_from_selector(data[0]));
  check_packet(first_byte, body, version_from_selector(data[0]));
}

}  // namespace
}  // namespace topicdb::mqtt::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicdb::mqtt::fuzz::fuzz_one(data, size);
  return 0;
}
