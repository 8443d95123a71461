// Small helpers the file-based plugins share (password file, ACL file, challenge auth).
#pragma once

#include <string_view>

namespace topicdb::plugins {

// `s` without leading and trailing spaces, tabs and line ends.
inline std::string_view trim_space(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The bytes of `s` for an OpenSSL call. Never null: an empty string_view may hold a null
// pointer, which EVP_MAC_init reads as "keep the previous key" rather than "empty key".
inline const unsigned char* openssl_bytes(std::string_view s) {
  static const unsigned char kEmpty[1] = {0};
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace topicdb::plugins
