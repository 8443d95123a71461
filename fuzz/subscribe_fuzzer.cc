// libFuzzer target: SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK bodies under MQTT 3.1,
// 3.1.1 and 5; the selector's kind bits pick the type (fuzz_input.h, kSubscribeFamily).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

namespace topicdb::mqtt::fuzz {
namespace {

void fuzz_one(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const PacketType type = kSubscribeFamily[kind_from_selector(data[0]) % kSubscribeFamily.size()];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_packet(static_cast<uint8_t>((static_cast<uint8_t>(type) << 4) | required_flags(type)), body,
               version_from_selector(data[0]));
}

}  // namespace
}  // namespace topicdb::mqtt::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicdb::mqtt::fuzz::fuzz_one(data, size);
  return 0;
}
