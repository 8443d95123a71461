#include "db/record_id.h"

namespace topicdb::db {

RecordIdGenerator::RecordIdGenerator(Clock* clock) : clock_(clock) {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device()};
  random_.seed(seed);
}

std::string RecordIdGenerator::next() {
  int64_t wall = clock_->wall_ms();
  uint64_t ms = wall > 0 ? static_cast<uint64_t>(wall) : 0;
  if (ms > last_ms_) {
    last_ms_ = ms;
    // Top bit clear leaves room to count up within the millisecond.
    counter_ = static_cast<uint16_t>(random_() & 0x7ff);
  } else if (++counter_ > 0xfff) {
    ++last_ms_;  // the clock went back or 2048+ ids in one ms: stay increasing
    counter_ = static_cast<uint16_t>(random_() & 0x7ff);
  }
  return format(last_ms_, counter_, random_());
}

std::string RecordIdGenerator::format(uint64_t unix_ms, uint16_t rand_a, uint64_t rand_b) {
  uint8_t bytes[16];
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(unix_ms >> (8 * (5 - i)));
  bytes[6] = static_cast<uint8_t>(0x70 | ((rand_a >> 8) & 0x0f));  // version 7
  bytes[7] = static_cast<uint8_t>(rand_a);
  for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(rand_b >> (8 * (7 - i)));
  bytes[8] = static_cast<uint8_t>(0x80 | (bytes[8] & 0x3f));  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += kHex[bytes[i] >> 4];
    text += kHex[bytes[i] & 0x0f];
  }
  return text;
}

}  // namespace topicdb::db
