#include "plugins/hmac_challenge_auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <initializer_list>
#include <optional>
#include <utility>
#include "plugins/text_util.h"

namespace topicdb::plugins {

namespace {

using broker::AuthExchange;

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// HMAC-SHA256 over the concatenation of `parts`, fed piecewise so no buffer is built.
std::string hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (mac == nullptr) return {};
  std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx(EVP_MAC_CTX_new(mac.get()));
  if (ctx == nullptr) return {};
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), openssl_bytes(key), key.size(), params) != 1) return {};
  for (std::string_view part : parts) {
    if (EVP_MAC_update(ctx.get(), openssl_bytes(part), part.size()) != 1) return {};
  }
  std::string out(kHmacChallengeProofSize, '\0');
  size_t written = 0;
  if (EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written,
                    out.size()) != 1 ||
      written != out.size()) {
    return {};
  }
  return out;
}

AuthExchange::Step fail(std::string reason) {
  AuthExchange::Step step;
  step.outcome = AuthExchange::Outcome::kFailure;
  step.reason = std::move(reason);
  return step;
}

// One client's exchange: nonce in, challenge out, proof in, proof out. Every other sequence
// fails, and once an exchange has ended (either way) it accepts nothing more.
class HmacChallengeExchange final : public AuthExchange {
 public:
  HmacChallengeExchange(std::shared_ptr<const std::string> secret, std::string client_id)
      : secret_(std::move(secret)), client_id_(std::move(client_id)) {}

  Step on_client_data(std::string_view data) override {
    switch (state_) {
      case State::kAwaitingClientNonce:
        return on_client_nonce(data);
      case State::kAwaitingClientProof:
        return on_client_proof(data);
      case State::kFinished:
        break;
    }
    return fail("authentication exchange already finished");
  }

 private:
  enum class State { kAwaitingClientNonce, kAwaitingClientProof, kFinished };

  Step on_client_nonce(std::string_view nonce) {
    state_ = State::kFinished;
    if (nonce.size() < kHmacChallengeMinClientNonce ||
        nonce.size() > kHmacChallengeMaxClientNonce) {
      return fail("client nonce must be 8 to 64 bytes");
    }
    std::string server_nonce(kHmacChallengeServerNonce, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(server_nonce.data()),
                   static_cast<int>(server_nonce.size())) != 1) {
      return fail("cannot generate a server nonce");
    }
    client_nonce_ = nonce;
    server_nonce_ = server_nonce;
    state_ = State::kAwaitingClientProof;
    Step step;
    step.outcome = Outcome::kContinue;
    step.data = std::move(server_nonce);
    return step;
  }

  Step on_client_proof(std::string_view proof) {
    state_ = State::kFinished;
    const std::string expected =
        hmac_challenge_client_proof(*secret_, client_id_, client_nonce_, server_nonce_);
    if (expected.size() != kHmacChallengeProofSize) return fail("cannot compute HMAC-SHA256");
    // Constant time, so response timing does not reveal how much of a guess was right. The
    // length is public (fixed by the method), so checking it first leaks nothing.
    if (proof.size() != expected.size() ||
        CRYPTO_memcmp(proof.data(), expected.data(), expected.size()) != 0) {
      return fail("authentication failed");
    }
    std::string server_proof =
        hmac_challenge_server_proof(*secret_, client_id_, client_nonce_, server_nonce_);
    if (server_proof.size() != kHmacChallengeProofSize) {
      return fail("cannot compute HMAC-SHA256");
    }
    Step step;
    step.outcome = Outcome::kSuccess;
    step.data = std::move(server_proof);
    return step;
  }

  // Shared with the plugin, so an exchange stays valid whatever order the broker tears
  // down its plugins and its connections in.
  std::shared_ptr<const std::string> secret_;
  std::string client_id_;
  std::string client_nonce_;
  std::string server_nonce_;
  State state_ = State::kAwaitingClientNonce;
};

class HmacChallengeAuth final : public broker::AuthPlugin {
 public:
  explicit HmacChallengeAuth(std::string secret)
      : secret_(std::make_shared<const std::string>(std::move(secret))) {}

  const std::string& method() const override { return method_; }

  std::unique_ptr<AuthExchange> begin(const std::string& client_id,
                                      const std::optional<std::string>& /*username*/) override {
    return std::make_unique<HmacChallengeExchange>(secret_, client_id);
  }

 private:
  const std::string method_ = kHmacChallengeMethod;
  std::shared_ptr<const std::string> secret_;
};

}  // namespace

std::string hmac_challenge_client_proof(std::string_view secret, std::string_view client_id,
                                        std::string_view client_nonce,
                                        std::string_view server_nonce) {
  return hmac_sha256(secret, {"client", client_id, client_nonce, server_nonce});
}

std::string hmac_challenge_server_proof(std::string_view secret, std::string_view client_id,
                                        std::string_view client_nonce,
                                        std::string_view server_nonce) {
  // The nonces swap places and the label differs, so a client proof can never be replayed
  // as a server proof (or the reverse).
  return hmac_sha256(secret, {"server", client_id, server_nonce, client_nonce});
}

std::unique_ptr<broker::AuthPlugin> make_hmac_challenge_auth(std::string secret) {
  return std::make_unique<HmacChallengeAuth>(std::move(secret));
}

}  // namespace topicdb::plugins
