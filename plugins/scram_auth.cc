#include "plugins/scram_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <vector>

#include "plugins/password_file.h"

namespace topicdb::plugins {

namespace {

using broker::AuthExchange;
constexpr size_t kKeyBytes = 32;  // SHA-256

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return {};
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  std::string out(kKeyBytes, '\0');
  size_t len = 0;
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, k, key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                reinterpret_cast<unsigned char*>(out.data()), out.size(), &len) == nullptr ||
      len != kKeyBytes) {
    return {};
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(kKeyBytes, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return out;
}

std::string salted_password(std::string_view password, std::string_view salt, int iterations) {
  std::string out(kKeyBytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return {};
  }
  return out;
}

// Splits "a=1,b=2" into its attributes (each "x=value").
std::vector<std::string_view> attributes(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// RFC 5802 §5.1 saslname: "=2C" is ',', "=3D" is '='; any other '=' is malformed.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
    } else if (s.substr(i, 3) == "=2C") {
      out += ',';
      i += 2;
    } else if (s.substr(i, 3) == "=3D") {
      out += '=';
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

AuthExchange::Step fail(std::string reason) {
  AuthExchange::Step step;
  step.outcome = AuthExchange::Outcome::kFailure;
  step.reason = std::move(reason);
  return step;
}

class ScramExchange final : public AuthExchange {
 public:
  ScramExchange(ScramKeyLookup lookup, std::optional<std::string> connect_user,
                std::string fixed_nonce)
      : lookup_(std::move(lookup)),
        connect_user_(std::move(connect_user)),
        fixed_nonce_(std::move(fixed_nonce)) {}

  Step on_client_data(std::string_view data) override {
    State was = state_;
    state_ = State::kFinished;  // any failure below ends the exchange
    if (was == State::kAwaitingClientFirst) return on_client_first(data);
    if (was == State::kAwaitingClientFinal) return on_client_final(data);
    return fail("authentication exchange already finished");
  }

 private:
  enum class State { kAwaitingClientFirst, kAwaitingClientFinal, kFinished };

  Step on_client_first(std::string_view msg) {
    // gs2-header: "n,," or "y,," (no channel binding, no authzid), then client-first-bare.
    if (!(msg.starts_with("n,,") || msg.starts_with("y,,"))) {
      return fail("SCRAM: channel binding and authorization identities are not supported");
    }
    gs2_header_ = std::string(msg.substr(0, 3));
    client_first_bare_ = std::string(msg.substr(3));
    auto attrs = attributes(client_first_bare_);
    if (attrs.size() < 2 || !attrs[0].starts_with("n=") || !attrs[1].starts_with("r=") ||
        attrs[1].size() < 3) {
      return fail("SCRAM: malformed client-first-message");
    }
    for (size_t i = 2; i < attrs.size(); ++i) {
      if (attrs[i].starts_with("m=")) return fail("SCRAM: unsupported mandatory extension");
    }
    auto user = decode_saslname(attrs[0].substr(2));
    if (!user || user->empty()) return fail("SCRAM: malformed user name");
    // The ACL applies to the CONNECT's User Name: it must be the user who proves itself.
    if (!connect_user_ || *connect_user_ != *user) {
      return fail("SCRAM: the CONNECT's User Name must be the SCRAM user");
    }
    std::optional<ScramKeys> keys = lookup_(*user);
    known_user_ = keys.has_value();
    if (!known_user_) {
      // Answer as for a real user, so the reply does not tell which names exist.
      keys = ScramKeys{kDefaultScramIterations, sha256("topicdb-scram-decoy" + *user).substr(0, 16),
                       random_bytes(kKeyBytes), random_bytes(kKeyBytes)};
    }
    keys_ = std::move(*keys);
    std::string server_part = fixed_nonce_.empty() ? base64_encode(random_bytes(18)) : fixed_nonce_;
    if (server_part.empty()) return fail("SCRAM: no random bytes for the nonce");
    nonce_ = std::string(attrs[1].substr(2)) + server_part;
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(keys_.salt) +
                    ",i=" + std::to_string(keys_.iterations);
    state_ = State::kAwaitingClientFinal;
    Step step;
    step.outcome = Outcome::kContinue;
    step.data = server_first_;
    return step;
  }

  Step on_client_final(std::string_view msg) {
    size_t proof_at = msg.rfind(",p=");
    if (proof_at == std::string_view::npos) return fail("SCRAM: client-final-message has no proof");
    std::string_view without_proof = msg.substr(0, proof_at);
    auto attrs = attributes(without_proof);
    if (attrs.size() < 2 || attrs[0] != "c=" + base64_encode(gs2_header_) ||
        attrs[1] != "r=" + nonce_) {
      return fail("SCRAM: channel binding or nonce does not match");
    }
    auto proof = base64_decode(msg.substr(proof_at + 3));
    if (!proof.is_ok() || proof->size() != kKeyBytes) return fail("SCRAM: malformed proof");
    const std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
    std::string signature = hmac(keys_.stored_key, auth_message);
    if (signature.size() != kKeyBytes) return fail("SCRAM: HMAC failed");
    std::string client_key(kKeyBytes, '\0');
    for (size_t i = 0; i < kKeyBytes; ++i) client_key[i] = (*proof)[i] ^ signature[i];
    std::string stored = sha256(client_key);
    if (!known_user_ || stored.size() != kKeyBytes ||
        CRYPTO_memcmp(stored.data(), keys_.stored_key.data(), kKeyBytes) != 0) {
      return fail("SCRAM: unknown user or wrong password");
    }
    Step step;
    step.outcome = Outcome::kSuccess;
    step.data = "v=" + base64_encode(hmac(keys_.server_key, auth_message));
    return step;
  }

  ScramKeyLookup lookup_;
  std::optional<std::string> connect_user_;
  std::string fixed_nonce_;
  State state_ = State::kAwaitingClientFirst;
  bool known_user_ = false;
  ScramKeys keys_;
  std::string gs2_header_, client_first_bare_, server_first_, nonce_;
};

class ScramAuthPlugin final : public broker::AuthPlugin {
 public:
  ScramAuthPlugin(ScramKeyLookup lookup, std::string nonce)
      : lookup_(std::move(lookup)), nonce_(std::move(nonce)) {}
  const std::string& method() const override { return method_; }
  std::unique_ptr<AuthExchange> begin(const std::string&,
                                      const std::optional<std::string>& username) override {
    return std::make_unique<ScramExchange>(lookup_, username, nonce_);
  }

 private:
  const std::string method_ = kScramMethod;
  ScramKeyLookup lookup_;
  std::string nonce_;
};

}  // namespace

Result<ScramKeys> parse_scram_keys(std::string_view text) {
  constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
  if (!text.starts_with(kPrefix)) return Status::invalid_argument("not SCRAM-SHA-256 keys");
  text.remove_prefix(kPrefix.size());
  size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return Status::invalid_argument("malformed SCRAM keys");
  std::string_view first = text.substr(0, dollar), second = text.substr(dollar + 1);
  size_t c1 = first.find(':'), c2 = second.find(':');
  if (c1 == std::string_view::npos || c2 == std::string_view::npos) {
    return Status::invalid_argument("malformed SCRAM keys");
  }
  ScramKeys keys;
  std::string_view iter = first.substr(0, c1);
  auto [p, ec] = std::from_chars(iter.data(), iter.data() + iter.size(), keys.iterations);
  if (ec != std::errc() || p != iter.data() + iter.size() || keys.iterations < 1) {
    return Status::invalid_argument("bad SCRAM iteration count");
  }
  auto salt = base64_decode(first.substr(c1 + 1));
  auto stored = base64_decode(second.substr(0, c2));
  auto server = base64_decode(second.substr(c2 + 1));
  if (!salt.is_ok() || !stored.is_ok() || !server.is_ok() || stored->size() != kKeyBytes ||
      server->size() != kKeyBytes) {
    return Status::invalid_argument("bad SCRAM salt or keys");
  }
  keys.salt = std::move(*salt);
  keys.stored_key = std::move(*stored);
  keys.server_key = std::move(*server);
  return keys;
}

std::string format_scram_keys(const ScramKeys& k) {
  return "SCRAM-SHA-256$" + std::to_string(k.iterations) + ":" + base64_encode(k.salt) + "$" +
         base64_encode(k.stored_key) + ":" + base64_encode(k.server_key);
}

Result<ScramKeys> make_scram_keys(std::string_view password, int iterations) {
  if (iterations < 1) return Status::invalid_argument("iterations must be at least 1");
  ScramKeys k;
  k.iterations = iterations;
  k.salt = random_bytes(16);
  std::string salted = salted_password(password, k.salt, iterations);
  if (k.salt.empty() || salted.empty()) return Status::internal("SCRAM key derivation failed");
  k.stored_key = sha256(hmac(salted, "Client Key"));
  k.server_key = hmac(salted, "Server Key");
  return k;
}

std::string scram_client_proof(std::string_view password, std::string_view salt, int iterations,
                               std::string_view auth_message) {
  std::string salted = salted_password(password, salt, iterations);
  std::string client_key = hmac(salted, "Client Key");
  std::string signature = hmac(sha256(client_key), auth_message);
  if (client_key.size() != kKeyBytes || signature.size() != kKeyBytes) return {};
  for (size_t i = 0; i < kKeyBytes; ++i) client_key[i] ^= signature[i];
  return client_key;
}

std::string scram_server_signature(std::string_view password, std::string_view salt, int iterations,
                                   std::string_view auth_message) {
  return hmac(hmac(salted_password(password, salt, iterations), "Server Key"), auth_message);
}

std::unique_ptr<broker::AuthPlugin> make_scram_auth(ScramKeyLookup lookup,
                                                    std::string server_nonce) {
  return std::make_unique<ScramAuthPlugin>(std::move(lookup), std::move(server_nonce));
}

}  // namespace topicdb::plugins
