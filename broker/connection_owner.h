// ConnectionOwner: what a Connection calls above itself (the Broker, or a test's fake), so
// connection code never includes broker.h. All calls come on the loop thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "broker/codec/codec.h"

namespace topicdb::broker {

class Connection;

class ConnectionOwner {
 public:
  // One whole MQTT packet; `body` is valid only during the call.
  virtual void on_packet(Connection& connection, const mqtt::FrameHeader& header,
                         std::string_view body) = 0;
  // The bytes cannot be framed (or the first packet is not CONNECT): the owner closes.
  virtual void on_malformed(Connection& connection, const Status& status) = 0;
  // The connection started closing (by either side); it no longer sends or receives.
  virtual void on_connection_closing(Connection& connection) = 0;
  // The connection is closed for good: the owner destroys it (during this call).
  virtual void release_connection(Connection* connection) = 0;
  // The connection has bytes queued: flush() it at the end of this loop turn.
  virtual void schedule_flush(Connection* connection) = 0;
  // The connection's write queue shrank.
  virtual void on_connection_drained(Connection& connection) = 0;
  // Traffic of `connection` (per listener kind too, so the connection is passed).
  virtual void count_bytes_received(const Connection& connection, uint64_t n) = 0;
  virtual void count_bytes_sent(const Connection& connection, uint64_t n) = 0;
  // Read once per read, not per packet.
  virtual Clock& clock() const = 0;
  virtual uint32_t max_packet_size() const = 0;

 protected:
  ~ConnectionOwner() = default;
};

}  // namespace topicdb::broker
