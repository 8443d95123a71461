// WillSchedule: wills waiting out their Will Delay Interval (MQTT 5 §3.1.3.2.2), by client
// id. A new connection for the client cancels its will; the session ending, or the delay
// passing, sends it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/codec/packets.h"
#include "broker/message.h"

namespace topicdb::broker {

// A will ready to go out: the message and who it is from (a will on a reserved prefix goes
// to that prefix's handler, which wants to know the client).
struct Will {
  MessagePtr message;
  std::string client_id;
  std::unique_ptr<const std::string> username;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
};

class WillSchedule {
 public:
  // Replaces any will already waiting for the same client.
  void schedule(int64_t due_ms, Will will);
  // Removes the client's waiting will, if any, and returns it.
  std::optional<Will> take(const std::string& client_id);
  // Removes and returns every will due at `now_ms` (steady clock).
  std::vector<Will> take_due(int64_t now_ms);
  size_t size() const { return waiting_.size(); }

 private:
  struct Waiting {
    int64_t due_ms;
    Will will;
  };
  std::unordered_map<std::string, Waiting> waiting_;  // by client id
};

}  // namespace topicdb::broker
