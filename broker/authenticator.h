// Authenticator: the seam that checks a CONNECT's user name and password (basic
// authentication, MQTT 5 §4.12's "plain" case) before the Authorizer is asked. It may answer
// later: password hashes are slow on purpose, so the password-file plugin verifies them off
// the loop. Clients that authenticated through an AuthPlugin (enhanced authentication) are
// not asked again. With no Authenticator set every client passes, as the broker always has.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "base/status.h"
#include "broker/authorizer.h"

namespace topicdb::broker {

class Authenticator {
 public:
  // ok: the client may go on to authorization. kUnauthenticated (unknown user, wrong or
  // missing password): CONNACK 0x86 / 3.1.1 0x05, delayed and counted per client address
  // (BrokerOptions::auth_fail_delay_ms). kPermissionDenied (an anonymous client where
  // anonymous access is off): 0x87 / 0x05, not delayed.
  using Verdict = std::function<void(Status)>;
  virtual ~Authenticator() = default;
  // Called on the loop thread. `client` and `password` are valid only during the call.
  // `done` must run exactly once, on the loop thread, possibly before check() returns.
  virtual void check(const ClientIdentity& client, std::optional<std::string_view> password,
                     Verdict done) = 0;
};

}  // namespace topicdb::broker
