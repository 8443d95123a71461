// AckQueue: acknowledgements that cannot be sent yet, per connection, kept in the order their
// packets arrived (MQTT-4.6.0-2). An ack waits for one of two things: the store making
// durable what its packet caused (a QoS 1/2 message queued for a persistent session, a
// retained write, a persistent subscription), or a reserved-topic handler finishing the
// request. Once one ack of a connection waits, every later one queues behind it.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "broker/codec/packets.h"
#include "broker/persist/state_store.h"

namespace topicdb::broker {

class Connection;

// PUBACK, PUBREC, PUBREL or PUBCOMP; the reason code goes out under MQTT 5 only.
std::string encode_ack(mqtt::PacketType type, uint16_t packet_id, uint8_t reason,
                       mqtt::ProtocolVersion version);

class AckQueue {
 public:
  explicit AckQueue(const StateStore* store) : store_(store) {}

  // Sends `bytes` on `c` once `ticket` is durable, after every earlier ack of `c`.
  // `is_puback` counts it against the client's Receive Maximum while it waits.
  void send_after_durable(Connection& c, std::string bytes, uint64_t ticket, bool is_puback);
  // Keeps the place of an ack whose bytes are not known yet (a handler still running);
  // returns the token that fill() names. Several places may share one token: a QoS 2
  // PUBLISH sent again while its handler runs gets the same answer twice.
  uint64_t reserve(Connection& c, uint64_t ticket, bool is_puback);
  void reserve_again(Connection& c, uint64_t token, uint64_t ticket);
  // Fills every place of `token` with `bytes` and sends what is ready.
  void fill(Connection& c, uint64_t token, const std::string& bytes);
  // The store made everything up to `ticket` durable.
  void on_durable(uint64_t ticket);
  // The connection is closing: its waiting acks go nowhere.
  void forget(Connection& c) { waiting_.erase(&c); }
  bool has_waiting(const Connection& c) const {
    return waiting_.count(const_cast<Connection*>(&c)) > 0;
  }

 private:
  struct Entry {
    uint64_t ticket;
    uint64_t token;  // non-zero while a handler has not filled it
    std::string bytes;
    bool is_puback;
  };
  void send_ready(Connection& c, std::deque<Entry>& entries, uint64_t durable);

  const StateStore* store_;
  // Only connections with waiting acks have an entry.
  std::unordered_map<Connection*, std::deque<Entry>> waiting_;
  uint64_t next_token_ = 1;
};

}  // namespace topicdb::broker
