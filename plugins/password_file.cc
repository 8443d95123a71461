#include "plugins/password_file.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <fstream>
#include <memory>
#include <sstream>
#include "plugins/text_util.h"

namespace topicdb::plugins {

namespace {

constexpr size_t kDigestBytes = 64;  // SHA-512
constexpr std::string_view kScramLinePrefix = "#scram ";
// mosquitto 2.1's Argon2id parameters: one pass over 46 MiB, one lane.
constexpr uint32_t kArgon2TimeCost = 1;
constexpr uint32_t kArgon2MemoryKiB = 47104;
constexpr uint32_t kArgon2Lanes = 1;
constexpr size_t kArgon2SaltBytes = 16;
constexpr size_t kArgon2HashBytes = 32;

// Splits "a$b$c" (after the leading "$kind$") into its fields.
std::vector<std::string_view> split_dollar(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find('$', start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

bool valid_salt_size(size_t n) { return n == 12 || n == kDigestBytes; }

Result<std::string> sha512_salted(std::string_view password, std::string_view salt) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string out(kDigestBytes, '\0');
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), password.data(), password.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kDigestBytes) {
    return Status::internal("SHA-512 failed");
  }
  return out;
}

Result<std::string> pbkdf2_sha512(std::string_view password, std::string_view salt,
                                  int iterations) {
  std::string out(kDigestBytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), openssl_bytes(salt),
                        static_cast<int>(salt.size()), iterations, EVP_sha512(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return Status::internal("PBKDF2 failed");
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), openssl_bytes(in),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return Status::invalid_argument("bad base64");
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), openssl_bytes(text),
                          static_cast<int>(text.size()));
  if (n < 0) return Status::invalid_argument("bad base64");
  // EVP_DecodeBlock counts padding as zero bytes.
  size_t pad = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

Result<PasswordHash> parse_password_hash(std::string_view text) {
  PasswordHash h;
  h.encoded = std::string(text);
  if (text.starts_with("$argon2id$")) {
    // libargon2 parses the rest when verifying; check the shape now so a broken line is
    // reported at load time: $argon2id$v=19$m=..,t=..,p=..$SALT$HASH.
    if (split_dollar(text.substr(1)).size() != 5) {
      return Status::invalid_argument("malformed $argon2id$ hash");
    }
    h.kind = PasswordHashKind::kArgon2id;
    return h;
  }
  std::vector<std::string_view> f;
  if (text.starts_with("$7$")) {
    f = split_dollar(text.substr(3));
    if (f.size() != 3) return Status::invalid_argument("$7$ needs ITERATIONS$SALT$HASH");
    h.kind = PasswordHashKind::kPbkdf2Sha512;
    auto [p, ec] = std::from_chars(f[0].data(), f[0].data() + f[0].size(), h.iterations);
    if (ec != std::errc() || p != f[0].data() + f[0].size() || h.iterations < 1) {
      return Status::invalid_argument("bad iteration count in $7$ hash");
    }
    f.erase(f.begin());
  } else if (text.starts_with("$6$")) {
    f = split_dollar(text.substr(3));
    if (f.size() != 2) return Status::invalid_argument("$6$ needs SALT$HASH");
    h.kind = PasswordHashKind::kSha512;
  } else {
    return Status::invalid_argument("unknown password hash type (expected $7$, $6$ or $argon2id$)");
  }
  auto salt = base64_decode(f[0]);
  if (!salt.is_ok() || !valid_salt_size(salt->size())) {
    return Status::invalid_argument("bad salt (base64 of 12 or 64 bytes)");
  }
  auto digest = base64_decode(f[1]);
  if (!digest.is_ok() || digest->size() != kDigestBytes) {
    return Status::invalid_argument("bad hash (base64 of 64 bytes)");
  }
  h.salt = std::move(*salt);
  h.digest = std::move(*digest);
  return h;
}

bool verify_password(const PasswordHash& stored, std::string_view password) {
  if (stored.kind == PasswordHashKind::kArgon2id) {
    return argon2id_verify(stored.encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
  }
  Result<std::string> digest = stored.kind == PasswordHashKind::kPbkdf2Sha512
                                   ? pbkdf2_sha512(password, stored.salt, stored.iterations)
                                   : sha512_salted(password, stored.salt);
  return digest.is_ok() && digest->size() == stored.digest.size() &&
         CRYPTO_memcmp(digest->data(), stored.digest.data(), digest->size()) == 0;
}

Result<std::string> make_pbkdf2_hash(std::string_view password, int iterations) {
  if (iterations < 1) return Status::invalid_argument("iterations must be at least 1");
  std::string salt(kPbkdf2SaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    return Status::internal("no random bytes for the salt");
  }
  auto digest = pbkdf2_sha512(password, salt, iterations);
  if (!digest.is_ok()) return digest.status();
  return "$7$" + std::to_string(iterations) + "$" + base64_encode(salt) + "$" +
         base64_encode(*digest);
}

Result<std::string> make_argon2id_hash(std::string_view password) {
  std::string salt(kArgon2SaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    return Status::internal("no random bytes for the salt");
  }
  std::string encoded(argon2_encodedlen(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes,
                                        kArgon2SaltBytes, kArgon2HashBytes, Argon2_id) +
                          1,
                      '\0');
  int rc = argon2id_hash_encoded(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes, password.data(),
                                 password.size(), salt.data(), salt.size(), kArgon2HashBytes,
                                 encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Status::internal(std::string("argon2: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

PasswordFile PasswordFile::parse(std::string_view text, std::vector<std::string>* warnings) {
  PasswordFile file;
  int line_no = 0;
  auto warn = [&](const std::string& what) {
    if (warnings) warnings->push_back("line " + std::to_string(line_no) + ": " + what);
  };
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    line = trim_space(line);
    if (line.starts_with(kScramLinePrefix)) {
      std::string_view rest = line.substr(kScramLinePrefix.size());
      size_t colon = rest.find(':');
      auto keys = colon == std::string_view::npos
                      ? Result<ScramKeys>(Status::invalid_argument("no ':' between user and keys"))
                      : parse_scram_keys(rest.substr(colon + 1));
      if (!keys.is_ok()) {
        warn("SCRAM keys: " + keys.status().message() + "; line ignored");
        continue;
      }
      file.scram_[std::string(trim_space(rest.substr(0, colon)))] = std::move(*keys);
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      warn("no ':' between user and hash; line ignored");
      continue;
    }
    std::string user(trim_space(line.substr(0, colon)));
    std::string_view hash_text = trim_space(line.substr(colon + 1));
    if (user.empty()) {
      warn("empty user name; line ignored");
      continue;
    }
    auto hash = parse_password_hash(hash_text);
    if (!hash.is_ok()) {
      warn("user '" + user + "': " + hash.status().message() + "; user ignored");
      continue;
    }
    if (file.users_.contains(user)) warn("user '" + user + "' appears again; the later line wins");
    file.users_[user] = std::move(*hash);
  }
  std::unordered_map<int, size_t> counts;
  size_t best = 0;
  for (const auto& [user, hash] : file.users_) {
    if (hash.kind != PasswordHashKind::kPbkdf2Sha512) continue;
    size_t n = ++counts[hash.iterations];
    if (n > best) {
      best = n;
      file.usual_iterations_ = hash.iterations;
    }
  }
  return file;
}

Result<PasswordFile> PasswordFile::load(const std::string& path,
                                        std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot read password file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::io_error("cannot read password file '" + path + "'");
  return parse(text.str(), warnings);
}

const ScramKeys* PasswordFile::find_scram(std::string_view user) const {
  auto it = scram_.find(std::string(user));
  return it == scram_.end() ? nullptr : &it->second;
}

const PasswordHash* PasswordFile::find(std::string_view user) const {
  auto it = users_.find(std::string(user));
  return it == users_.end() ? nullptr : &it->second;
}

}  // namespace topicdb::plugins
