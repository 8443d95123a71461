#include "plugins/hmac_challenge_auth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

namespace topicdb::plugins {
namespace {

using broker::AuthExchange;
using Outcome = AuthExchange::Outcome;

constexpr char kSecret[] = "s3cr3t-shared-key";

std::string to_hex(const std::string& bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    char buf[3];
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

class HmacChallengeAuthTest : public ::testing::Test {
 protected:
  // Runs steps 1-2 for `client_id`; returns the exchange waiting for the client proof and
  // sets *server_nonce to the challenge it sent.
  std::unique_ptr<AuthExchange> start(const std::string& client_id, const std::string& client_nonce,
                                      std::string* server_nonce) {
    auto exchange = plugin_->begin(client_id, std::nullopt);
    AuthExchange::Step step = exchange->on_client_data(client_nonce);
    EXPECT_EQ(step.outcome, Outcome::kContinue) << step.reason;
    *server_nonce = step.data;
    return exchange;
  }

  std::unique_ptr<broker::AuthPlugin> plugin_ = make_hmac_challenge_auth(kSecret);
};

TEST_F(HmacChallengeAuthTest, ServesItsMethod) {
  EXPECT_EQ(plugin_->method(), "TOPICDB-HMAC-SHA256");
  EXPECT_EQ(plugin_->method(), kHmacChallengeMethod);
}

// Pins the wire format: expected values computed independently with
//   printf 'client' 'sensor-1' '0123456789abcdef' 'ABCDEFGHIJKLMNOP' |
//     openssl dgst -sha256 -mac HMAC -macopt key:s3cr3t-shared-key
// (and "server" || id || server nonce || client nonce for the server proof).
TEST_F(HmacChallengeAuthTest, ProofsMatchKnownAnswers) {
  EXPECT_EQ(to_hex(hmac_challenge_client_proof(kSecret, "sensor-1", "0123456789abcdef",
                                               "ABCDEFGHIJKLMNOP")),
            "e0344d1c8fec60f0c5057bad080a5431f27a7fa5228c61d97ac078726d2716a2");
  EXPECT_EQ(to_hex(hmac_challenge_server_proof(kSecret, "sensor-1", "0123456789abcdef",
                                               "ABCDEFGHIJKLMNOP")),
            "9ad3657f517023a2a880180b843a6dbea701d26cfa8f8ef780adb437d9cc1aae");
}

TEST_F(HmacChallengeAuthTest, FullExchangeSucceedsWithMutualProof) {
  const std::string client_nonce = "client-nonce-0001";
  std::string server_nonce;
  auto exchange = start("sensor-1", client_nonce, &server_nonce);
  ASSERT_EQ(server_nonce.size(), kHmacChallengeServerNonce);

  AuthExchange::Step step = exchange->on_client_data(
      hmac_challenge_client_proof(kSecret, "sensor-1", client_nonce, server_nonce));
  ASSERT_EQ(step.outcome, Outcome::kSuccess) << step.reason;
  // The client checks this to know the broker holds the secret too.
  EXPECT_EQ(step.data,
            hmac_challenge_server_proof(kSecret, "sensor-1", client_nonce, server_nonce));
  EXPECT_EQ(step.data.size(), kHmacChallengeProofSize);
  EXPECT_NE(step.data,
            hmac_challenge_client_proof(kSecret, "sensor-1", client_nonce, server_nonce));
}

TEST_F(HmacChallengeAuthTest, ServerNoncesAreFreshPerExchange) {
  std::string first;
  std::string second;
  auto a = start("sensor-1", "client-nonce", &first);
  auto b = start("sensor-1", "client-nonce", &second);
  EXPECT_NE(first, second);
}

TEST_F(HmacChallengeAuthTest, WrongProofFails) {
  const std::string client_nonce = "client-nonce-0002";
  std::string server_nonce;

  // Proof made with another secret.
  auto exchange = start("sensor-1", client_nonce, &server_nonce);
  AuthExchange::Step step = exchange->on_client_data(
      hmac_challenge_client_proof("other-secret", "sensor-1", client_nonce, server_nonce));
  EXPECT_EQ(step.outcome, Outcome::kFailure);
  EXPECT_EQ(step.reason, "authentication failed");
  EXPECT_TRUE(step.data.empty());

  // Right proof with one bit flipped, then truncated, then empty.
  for (int variant = 0; variant < 3; ++variant) {
    exchange = start("sensor-1", client_nonce, &server_nonce);
    std::string proof =
        hmac_challenge_client_proof(kSecret, "sensor-1", client_nonce, server_nonce);
    if (variant == 0) proof[31] = static_cast<char>(proof[31] ^ 0x01);
    if (variant == 1) proof.pop_back();
    if (variant == 2) proof.clear();
    step = exchange->on_client_data(proof);
    EXPECT_EQ(step.outcome, Outcome::kFailure) << "variant " << variant;
    EXPECT_EQ(step.reason, "authentication failed") << "variant " << variant;
  }

  // The server proof sent back as a client proof (reflection).
  exchange = start("sensor-1", client_nonce, &server_nonce);
  step = exchange->on_client_data(
      hmac_challenge_server_proof(kSecret, "sensor-1", client_nonce, server_nonce));
  EXPECT_EQ(step.outcome, Outcome::kFailure);
}

TEST_F(HmacChallengeAuthTest, ProofForAnotherServerNonceFails) {
  std::string server_nonce;
  auto exchange = start("sensor-1", "client-nonce", &server_nonce);
  AuthExchange::Step step = exchange->on_client_data(hmac_challenge_client_proof(
      kSecret, "sensor-1", "client-nonce", std::string(kHmacChallengeServerNonce, 'x')));
  EXPECT_EQ(step.outcome, Outcome::kFailure);
}

TEST_F(HmacChallengeAuthTest, ClientNonceLengthIsChecked) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{7}, size_t{65}, size_t{1000}}) {
    auto exchange = plugin_->begin("sensor-1", std::nullopt);
    AuthExchange::Step step = exchange->on_client_data(std::string(size, 'n'));
    EXPECT_EQ(step.outcome, Outcome::kFailure) << size;
    EXPECT_EQ(step.reason, "client nonce must be 8 to 64 bytes") << size;
    EXPECT_TRUE(step.data.empty()) << size;
    // A refused exchange stays refused.
    EXPECT_EQ(exchange->on_client_data(std::string(16, 'n')).outcome, Outcome::kFailure) << size;
  }
  for (size_t size : {size_t{8}, size_t{64}}) {
    auto exchange = plugin_->begin("sensor-1", std::nullopt);
    EXPECT_EQ(exchange->on_client_data(std::string(size, 'n')).outcome, Outcome::kContinue) << size;
  }
}

TEST_F(HmacChallengeAuthTest, DataAfterSuccessFails) {
  const std::string client_nonce = "client-nonce-0003";
  std::string server_nonce;
  auto exchange = start("sensor-1", client_nonce, &server_nonce);
  const std::string proof =
      hmac_challenge_client_proof(kSecret, "sensor-1", client_nonce, server_nonce);
  ASSERT_EQ(exchange->on_client_data(proof).outcome, Outcome::kSuccess);

  // Neither the same proof again nor a new nonce may restart a finished exchange.
  AuthExchange::Step step = exchange->on_client_data(proof);
  EXPECT_EQ(step.outcome, Outcome::kFailure);
  EXPECT_FALSE(step.reason.empty());
  EXPECT_TRUE(step.data.empty());
  EXPECT_EQ(exchange->on_client_data(client_nonce).outcome, Outcome::kFailure);
  EXPECT_EQ(exchange->on_client_data("").outcome, Outcome::kFailure);
}

TEST_F(HmacChallengeAuthTest, ProofsDifferPerClientId) {
  const std::string client_nonce = "client-nonce-0004";
  const std::string server_nonce(kHmacChallengeServerNonce, 's');
  EXPECT_NE(hmac_challenge_client_proof(kSecret, "sensor-1", client_nonce, server_nonce),
            hmac_challenge_client_proof(kSecret, "sensor-2", client_nonce, server_nonce));
  EXPECT_NE(hmac_challenge_server_proof(kSecret, "sensor-1", client_nonce, server_nonce),
            hmac_challenge_server_proof(kSecret, "sensor-2", client_nonce, server_nonce));

  // A proof computed for one client id does not authenticate another.
  std::string real_nonce;
  auto exchange = start("sensor-2", client_nonce, &real_nonce);
  AuthExchange::Step step = exchange->on_client_data(
      hmac_challenge_client_proof(kSecret, "sensor-1", client_nonce, real_nonce));
  EXPECT_EQ(step.outcome, Outcome::kFailure);
  EXPECT_EQ(step.reason, "authentication failed");
}

TEST_F(HmacChallengeAuthTest, ProofsDependOnEveryInput) {
  const std::string base =
      hmac_challenge_client_proof(kSecret, "id", "client-nonce", "server-nonce-16b");
  EXPECT_EQ(base.size(), kHmacChallengeProofSize);
  EXPECT_NE(base, hmac_challenge_client_proof("s3cr3t-shared-keY", "id", "client-nonce",
                                              "server-nonce-16b"));
  EXPECT_NE(base, hmac_challenge_client_proof(kSecret, "id", "client-noncE", "server-nonce-16b"));
  EXPECT_NE(base, hmac_challenge_client_proof(kSecret, "id", "client-nonce", "server-nonce-16B"));
  // An empty secret or client id is still a well-defined HMAC.
  EXPECT_EQ(hmac_challenge_client_proof("", "", "client-nonce", "server-nonce-16b").size(),
            kHmacChallengeProofSize);
}

}  // namespace
}  // namespace topicdb::plugins
