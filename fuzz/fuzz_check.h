// Checks shared by the libFuzzer targets: a failed property aborts with a message (libFuzzer
// then saves the input), and the decode -> encode -> decode round trip of whole packets.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker/codec/packets.h"

namespace topicdb::mqtt::fuzz {

// Prints `what` and aborts: libFuzzer reports a deadly signal and writes the crashing input.
[[noreturn]] void fail(std::string_view what);

#define TOPICDB_FUZZ_CHECK(cond, what)              \
  do {                                              \
    if (!(cond)) ::topicdb::mqtt::fuzz::fail(what); \
  } while (0)

// Decodes one packet with the given first byte and body as a connection would. A rejection
// must be one of the decoder's documented error codes; an accepted packet must re-encode to
// bytes that decode again and re-encode to the same bytes (the encoding is canonical).
void check_packet(uint8_t first_byte, std::string_view body, ProtocolVersion version);

}  // namespace topicdb::mqtt::fuzz
