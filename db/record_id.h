// RecordIdGenerator: server-assigned record ids, UUIDv7 text (RFC 9562 §5.7): 48 bits of Unix
// milliseconds first, so ids sort by creation time, then random bits.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "base/clock.h"

namespace topicdb::db {

class RecordIdGenerator {
 public:
  // `clock` (borrowed) gives the time (wall_ms); the random part comes from a generator
  // seeded once from std::random_device.
  explicit RecordIdGenerator(Clock* clock);
  // Lowercase 8-4-4-4-12 hex. Within one millisecond ids still increase: the 12-bit rand_a
  // field is a counter started at a random value each millisecond (RFC 9562 §6.2, method 1);
  // when it overflows the timestamp is borrowed from the next millisecond.
  std::string next();

  // The text of the UUIDv7 for these parts (for tests).
  static std::string format(uint64_t unix_ms, uint16_t rand_a, uint64_t rand_b);

 private:
  Clock* clock_;
  std::mt19937_64 random_;
  uint64_t last_ms_ = 0;
  uint16_t counter_ = 0;
};

}  // namespace topicdb::db
