// SCRAM-SHA-256 (RFC 5802, RFC 7677) as an MQTT 5 enhanced authentication method: the client
// proves it knows the password without sending it, and the broker proves it holds the
// user's keys. The broker stores no password, only (salt, iterations, StoredKey, ServerKey),
// which cannot be derived from a $7$ hash: `topicdb passwd add` writes them beside the $7$
// line, as a line mosquitto reads as a comment (RFC 5803's text form):
//
//   #scram USER:SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY      (base64 fields)
//
//   CONNECT  Authentication Method "SCRAM-SHA-256", Data = client-first-message
//            ("n,,n=USER,r=CNONCE"; the CONNECT's User Name must be USER)
//   AUTH 18  broker -> client: server-first-message ("r=CNONCE SNONCE,s=SALT,i=ITERATIONS")
//   AUTH 18  client -> broker: client-final-message ("c=biws,r=...,p=PROOF")
//   CONNACK  Data = server-final-message ("v=SERVERSIGNATURE"), or 0x87 on failure
//
// No channel binding ("p=" is refused), no authorization identity. Passwords are used as
// given (no SASLprep), which changes nothing for ASCII passwords. Proof checks are a few
// HMACs: the costly PBKDF2 runs on the client.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "broker/auth_plugin.h"

namespace topicdb::plugins {

inline constexpr char kScramMethod[] = "SCRAM-SHA-256";
inline constexpr int kDefaultScramIterations = 4096;  // RFC 7677's minimum

// One user's SCRAM-SHA-256 keys.
struct ScramKeys {
  int iterations = 0;
  std::string salt;        // raw
  std::string stored_key;  // raw, 32 bytes: H(HMAC(SaltedPassword, "Client Key"))
  std::string server_key;  // raw, 32 bytes: HMAC(SaltedPassword, "Server Key")
};

// "SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY" (RFC 5803) and back.
Result<ScramKeys> parse_scram_keys(std::string_view text);
std::string format_scram_keys(const ScramKeys& keys);
// Keys for `password` with a fresh 16-byte salt.
Result<ScramKeys> make_scram_keys(std::string_view password, int iterations);

// The client's side, for tests and C++ clients: the proof and the server signature it must
// expect for an AuthMessage (client-first-bare "," server-first "," client-final-without-proof).
std::string scram_client_proof(std::string_view password, std::string_view salt, int iterations,
                               std::string_view auth_message);
std::string scram_server_signature(std::string_view password, std::string_view salt, int iterations,
                                   std::string_view auth_message);

// The keys of a user, or nullopt when the user has none (looked up at each login, so a
// reloaded file applies at once).
using ScramKeyLookup = std::function<std::optional<ScramKeys>(std::string_view user)>;

// The plugin serving kScramMethod. `server_nonce` fixes the nonce the broker adds (tests
// with RFC 7677's example); empty means 18 random bytes in base64 per exchange.
std::unique_ptr<broker::AuthPlugin> make_scram_auth(ScramKeyLookup lookup,
                                                    std::string server_nonce = "");

}  // namespace topicdb::plugins
