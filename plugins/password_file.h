// PasswordFile: users and password hashes in mosquitto's password file format, so a file
// made by mosquitto_passwd works unchanged. One "user:hash" per line, '#' starts a comment:
//
//   $7$ITERATIONS$SALT$HASH  PBKDF2-HMAC-SHA512, SALT and HASH in base64 (with padding),
//                            a 12-byte salt (mosquitto 2.0; 2.1 also writes 64), a 64-byte
//                            hash; what `topicdb passwd` writes
//   $6$SALT$HASH             SHA-512(password || salt), mosquitto before 1.6: read, never
//                            written (a fast hash: re-add such users)
//   $argon2id$v=19$m=..,t=..,p=..$SALT$HASH
//                            Argon2id in the PHC string format (mosquitto 2.1's default),
//                            verified with libargon2
//
// As mosquitto does, a line with a hash it cannot read drops that user (with a warning)
// instead of failing the whole file. A line "#scram USER:SCRAM-SHA-256$..." (a comment to
// mosquitto) holds USER's SCRAM-SHA-256 keys (plugins/scram_auth.h).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "plugins/scram_auth.h"

namespace topicdb::plugins {

enum class PasswordHashKind { kSha512, kPbkdf2Sha512, kArgon2id };

// One stored password hash, parsed.
struct PasswordHash {
  PasswordHashKind kind = PasswordHashKind::kPbkdf2Sha512;
  int iterations = 0;   // $7$ only
  std::string salt;     // raw bytes ($6$, $7$)
  std::string digest;   // raw 64 bytes ($6$, $7$)
  std::string encoded;  // the text as stored; Argon2id verifies from it
};

// mosquitto_passwd 2.1's PBKDF2 default (2.0 wrote 101), and OWASP's for PBKDF2-HMAC-SHA512.
inline constexpr int kDefaultPbkdf2Iterations = 210000;
// Salt bytes of a new $7$ hash: mosquitto 2.0 reads only 12-byte salts.
inline constexpr size_t kPbkdf2SaltBytes = 12;

Result<PasswordHash> parse_password_hash(std::string_view text);
// True when `password` matches; the digests are compared in constant time. Slow on purpose
// ($7$, Argon2id): keep it off the event loop.
bool verify_password(const PasswordHash& stored, std::string_view password);
// "$7$ITERATIONS$SALT$HASH" for `password` with a fresh random salt.
Result<std::string> make_pbkdf2_hash(std::string_view password,
                                     int iterations = kDefaultPbkdf2Iterations);
// "$argon2id$v=19$m=47104,t=1,p=1$SALT$HASH" (mosquitto 2.1's parameters).
Result<std::string> make_argon2id_hash(std::string_view password);

class PasswordFile {
 public:
  // Parses a password file's text; entries that cannot be read are skipped and described
  // in `warnings` (may be null).
  static PasswordFile parse(std::string_view text, std::vector<std::string>* warnings);
  // Reads and parses `path`; an error only when the file cannot be read.
  static Result<PasswordFile> load(const std::string& path, std::vector<std::string>* warnings);

  // The hash stored for `user`, or null.
  const PasswordHash* find(std::string_view user) const;
  // The SCRAM-SHA-256 keys of `user`, or null.
  const ScramKeys* find_scram(std::string_view user) const;
  size_t size() const { return users_.size(); }
  // The iteration count most $7$ entries use (0 without any): what a decoy check for an
  // unknown user should cost, so timing does not tell which names exist.
  int usual_pbkdf2_iterations() const { return usual_iterations_; }

 private:
  std::unordered_map<std::string, PasswordHash> users_;
  std::unordered_map<std::string, ScramKeys> scram_;
  int usual_iterations_ = 0;
};

// Base64 (RFC 4648, with padding, no line breaks), as mosquitto's files use it.
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace topicdb::plugins
