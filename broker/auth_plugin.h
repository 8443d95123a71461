// The seam for MQTT 5 enhanced authentication (MQTT 5 §4.12): a plugin names an
// authentication method and runs one exchange per connecting client. The broker carries the
// CONNECT/AUTH/CONNACK packets; the plugin only judges the data. Plugins live in plugins/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace topicdb::broker {

// One authentication exchange with one client: created at CONNECT (or at re-authentication)
// and fed each piece of Authentication Data the client sends.
class AuthExchange {
 public:
  enum class Outcome { kContinue, kSuccess, kFailure };
  struct Step {
    Outcome outcome = Outcome::kFailure;
    std::string data;    // Authentication Data to send back (challenge, or final server data)
    std::string reason;  // for logs and the Reason String of a refusal
  };
  virtual ~AuthExchange() = default;
  virtual Step on_client_data(std::string_view data) = 0;
};

class AuthPlugin {
 public:
  virtual ~AuthPlugin() = default;
  // The Authentication Method this plugin serves, e.g. "SCRAM-SHA-256".
  virtual const std::string& method() const = 0;
  virtual std::unique_ptr<AuthExchange> begin(const std::string& client_id,
                                              const std::optional<std::string>& username) = 0;
};

}  // namespace topicdb::broker
