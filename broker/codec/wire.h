// Low-level MQTT wire primitives (MQTT 3.1.1 §1.5, MQTT 5 §1.5): big-endian integers, the
// variable byte integer, and length-prefixed strings / binary data. The reader is
// bounds-checked and never copies; the writers append to a std::string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace topicdb::mqtt {

// Largest value a variable byte integer can carry in its 4 bytes (MQTT 5 §1.5.5).
constexpr uint32_t kMaxVariableByteInteger = 268'435'455;

// A cursor over a borrowed byte range. Every read either succeeds and advances, or fails
// (returns false) and leaves the cursor where it was, so callers can turn "ran past the end"
// into a malformed-packet error at one place.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }

  [[nodiscard]] bool read_u8(uint8_t* out) {
    if (remaining() < 1) return false;
    *out = byte_at(pos_);
    pos_ += 1;
    return true;
  }

  [[nodiscard]] bool read_u16(uint16_t* out) {
    if (remaining() < 2) return false;
    *out = static_cast<uint16_t>((byte_at(pos_) << 8) | byte_at(pos_ + 1));
    pos_ += 2;
    return true;
  }

  [[nodiscard]] bool read_u32(uint32_t* out) {
    if (remaining() < 4) return false;
    *out = (uint32_t{byte_at(pos_)} << 24) | (uint32_t{byte_at(pos_ + 1)} << 16) |
           (uint32_t{byte_at(pos_ + 2)} << 8) | uint32_t{byte_at(pos_ + 3)};
    pos_ += 4;
    return true;
  }

  // A variable byte integer of at most four bytes; a fifth continuation byte fails.
  [[nodiscard]] bool read_varint(uint32_t* out) {
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i) {
      if (pos_ + i >= data_.size()) return false;
      const uint8_t b = byte_at(pos_ + i);
      value |= uint32_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80) == 0) {
        pos_ += i + 1;
        *out = value;
        return true;
      }
    }
    return false;
  }

  [[nodiscard]] bool read_bytes(size_t n, std::string_view* out) {
    if (remaining() < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  // Two-byte length followed by that many bytes: both "Binary Data" and, before UTF-8
  // validation, "UTF-8 Encoded String".
  [[nodiscard]] bool read_prefixed(std::string_view* out) {
    const size_t saved = pos_;
    uint16_t len = 0;
    if (!read_u16(&len)) return false;
    if (!read_bytes(len, out)) {
      pos_ = saved;
      return false;
    }
    return true;
  }

  // Everything not read yet (e.g. a PUBLISH payload).
  std::string_view take_rest() {
    std::string_view rest = data_.substr(pos_);
    pos_ = data_.size();
    return rest;
  }

 private:
  uint8_t byte_at(size_t i) const { return static_cast<uint8_t>(data_[i]); }

  std::string_view data_;
  size_t pos_ = 0;
};

// Number of bytes the variable byte integer encoding of `value` takes (1..4).
constexpr size_t varint_size(uint32_t value) {
  return value < 128u ? 1 : value < 16'384u ? 2 : value < 2'097'152u ? 3 : 4;
}

inline void put_u8(uint8_t v, std::string* out) { out->push_back(static_cast<char>(v)); }

inline void put_u16(uint16_t v, std::string* out) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
  out->append(b, 2);
}

inline void put_u32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF),
                     static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
  out->append(b, 4);
}

// Precondition: value <= kMaxVariableByteInteger.
inline void put_varint(uint32_t value, std::string* out) {
  do {
    uint8_t b = value & 0x7F;
    value >>= 7;
    if (value != 0) b |= 0x80;
    out->push_back(static_cast<char>(b));
  } while (value != 0);
}

// Two-byte length then the bytes. Precondition: s.size() <= 65535 (callers validate
// lengths; the encoder has no error path).
inline void put_prefixed(std::string_view s, std::string* out) {
  put_u16(static_cast<uint16_t>(s.size()), out);
  out->append(s.data(), s.size());
}

}  // namespace topicdb::mqtt
