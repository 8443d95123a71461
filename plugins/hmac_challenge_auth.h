// TOPICDB-HMAC-SHA256: an MQTT 5 enhanced authentication method (MQTT 5 §4.12) in which the
// client and the broker prove to each other that they hold the same shared secret, without
// sending it. A small SCRAM-like mutual challenge-response:
//
//   CONNECT  client -> broker  Authentication Data = client nonce (8..64 bytes)
//   AUTH 18  broker -> client  Authentication Data = server nonce (16 random bytes)
//   AUTH 18  client -> broker  Authentication Data = client proof (32 bytes)
//   CONNACK  broker -> client  Authentication Data = server proof (32 bytes)
//
//   client proof = HMAC-SHA256(secret, "client" || client_id || client_nonce || server_nonce)
//   server proof = HMAC-SHA256(secret, "server" || client_id || server_nonce || client_nonce)
//
// The client id is the one the broker holds for the connection. Re-authentication (AUTH
// 0x19, with a fresh client nonce) runs the same exchange and ends with AUTH 0x00 carrying
// the server proof.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "broker/auth_plugin.h"

namespace topicdb::plugins {

inline constexpr char kHmacChallengeMethod[] = "TOPICDB-HMAC-SHA256";

// Sizes fixed by the method.
inline constexpr size_t kHmacChallengeMinClientNonce = 8;
inline constexpr size_t kHmacChallengeMaxClientNonce = 64;
inline constexpr size_t kHmacChallengeServerNonce = 16;
inline constexpr size_t kHmacChallengeProofSize = 32;

// The proof a client sends in its AUTH 0x18, and the proof the broker returns on success.
// Both return 32 raw bytes, or an empty string if OpenSSL fails.
std::string hmac_challenge_client_proof(std::string_view secret, std::string_view client_id,
                                        std::string_view client_nonce,
                                        std::string_view server_nonce);
std::string hmac_challenge_server_proof(std::string_view secret, std::string_view client_id,
                                        std::string_view client_nonce,
                                        std::string_view server_nonce);

// The plugin serving kHmacChallengeMethod with one shared secret for every client.
std::unique_ptr<broker::AuthPlugin> make_hmac_challenge_auth(std::string secret);

}  // namespace topicdb::plugins
