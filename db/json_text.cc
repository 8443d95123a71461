#include "db/json_text.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace topicdb::db {
namespace {

// Whether `s` is well-formed UTF-8 in nlohmann's sense (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). Only strings with a byte >= 0x80 get here.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < lo || second > hi) return false;
    for (size_t k = 2; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += extra + 1;
  }
  return true;
}

void append_string(std::string* out, const std::string& s) {
  // Scanned 8 bytes at a time (bit tricks on a 64-bit word, as in "Bit Twiddling Hacks"):
  // this scan was most of a record's dump. A word's high bits flag, exactly, whether one of
  // its bytes is below 0x20, a quote or a backslash; `non_ascii` whether one is >= 0x80.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto zero_byte_bits = [](uint64_t v) { return (v - kOnes) & ~v; };
  uint64_t needs_escape = 0;
  uint64_t non_ascii = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, sizeof(word));
    non_ascii |= word;
    needs_escape |= ((word - kOnes * 0x20) & ~word) | zero_byte_bits(word ^ (kOnes * '"')) |
                    zero_byte_bits(word ^ (kOnes * '\\'));
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    non_ascii |= c;
    if (c < 0x20 || c == '"' || c == '\\') needs_escape |= kHigh;
  }
  needs_escape &= kHigh;
  non_ascii &= kHigh;
  if (non_ascii != 0 && !valid_utf8(s)) {
    // Rare (a parsed request cannot hold one): nlohmann's own replacement rules.
    *out += Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  out->push_back('"');
  if (needs_escape == 0) {
    out->append(s);
  } else {
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:
          if (c < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
            out->append(escape, sizeof(escape));
          } else {
            out->push_back(ch);
          }
      }
    }
  }
  out->push_back('"');
}

template <typename Integer>
void append_integer(std::string* out, Integer n) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), n);
  out->append(buffer, end);
}

}  // namespace

void append_json(std::string* out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      const auto& object = value.get_ref<const Json::object_t&>();
      out->push_back('{');
      bool first = true;
      for (const auto& [key, member] : object) {
        if (!first) out->push_back(',');
        first = false;
        append_string(out, key);
        out->push_back(':');
        append_json(out, member);
      }
      out->push_back('}');
      return;
    }
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& element : value.get_ref<const Json::array_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        append_json(out, element);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return;
    case Json::value_t::number_integer:
      append_integer(out, value.get<Json::number_integer_t>());
      return;
    case Json::value_t::number_unsigned:
      append_integer(out, value.get<Json::number_unsigned_t>());
      return;
    case Json::value_t::null:
      out->append("null");
      return;
    case Json::value_t::number_float:  // nlohmann's shortest round-trip form
    case Json::value_t::binary:
    case Json::value_t::discarded:
      *out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
  }
}

}  // namespace topicdb::db
