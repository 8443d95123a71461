// libFuzzer target: the CONNECT body decoder (protocol name and level, flags, will, user
// name, password, v5 properties). The CONNECT body carries its own protocol level, so levels
// 3 ("MQIsdp", MQTT 3.1), 4 and 5 are all reached by input; the selector byte only sets the
// connection's level, which CONNECT ignores.
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
  check_packet(static_cast<uint8_t>(PacketType::kConnect) << 4, body,
               version_from_selector(data[0]));
}

}  // namespace
}  // namespace topicdb::mqtt::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicdb::mqtt::fuzz::fuzz_one(data, size);
  return 0;
}
