// BrokerOptions: the limits and defaults of the broker core. Every limit has a safe default
// and is settable from the command line and the config file (app/config.cc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace topicdb::broker {

struct BrokerOptions {
  // Largest packet accepted, fixed header included. A larger remaining length is refused
  // from the fixed header alone, before any allocation.
  uint32_t max_packet_size = 1024 * 1024;
  // Connections beyond this are closed right after accept.
  size_t max_connections = 100000;
  // QoS 1/2 messages in flight to one client before further ones wait in its queue.
  size_t max_inflight = 64;
  // Messages queued per session (offline, or beyond the in-flight window); further QoS 1/2
  // messages for that session are dropped and counted.
  size_t max_queued_messages = 1000;
  // A connection that has not sent CONNECT within this time is closed.
  int64_t connect_timeout_ms = 10000;
  // How often keep-alive and connect deadlines are checked.
  int64_t sweep_interval_ms = 250;
  // Back-pressure: a subscriber whose unwritten bytes pass the high mark makes the publisher
  // that sent to it wait until they fall below the low mark; past max_write_buffer, QoS 0
  // messages for it are dropped (and counted), the only case where QoS 0 is not delivered
  // to a connected subscriber. A subscriber's queue past half of max_queued_messages
  // slows publishers the same way.
  size_t write_buffer_high = 1024 * 1024;
  size_t write_buffer_low = 256 * 1024;
  size_t max_write_buffer = 64 * 1024 * 1024;
  // A subscriber holding publishers back that neither acknowledges a message nor drains a
  // written byte for this long is stuck: it holds no one any more, and what exceeds its
  // bounds is dropped for it alone (kDrop) or it is disconnected (kDisconnect, MQTT 5 0x97).
  enum class SlowConsumerAction { kDrop, kDisconnect };
  int64_t slow_consumer_timeout_ms = 5000;
  SlowConsumerAction slow_consumer_action = SlowConsumerAction::kDrop;
  // A connection still closing (peer not reading) after this is cut.
  int64_t close_grace_ms = 5000;
  // After a DISCONNECT or CONNACK refusal with a reason, how long the connection keeps
  // reading and discarding while the client may still be sending (Connection::
  // close_lingering). Long enough for a client to notice the reason, short enough that
  // lingering connections cannot pile up.
  int64_t close_linger_ms = 2000;
  // A failed login (wrong password, unknown user) is refused after a delay that doubles with
  // each failure from the same client address, from this up to 16 times this (and at most
  // half the connect timeout). 0 = refuse at once (failures are still counted).
  int64_t auth_fail_delay_ms = 500;

  // --- MQTT 5 ---
  // QoS 1/2 PUBLISHes a client may have unacknowledged towards us (Receive Maximum in
  // CONNACK); a client exceeding it is disconnected with 0x93.
  uint16_t receive_maximum = 1024;
  // Topic aliases a client may define towards us (Topic Alias Maximum in CONNACK).
  uint16_t topic_alias_maximum = 64;
  // Longest keep alive accepted; a larger or zero one is replaced (Server Keep Alive).
  // 0 = accept whatever the client asks.
  uint16_t max_keep_alive_s = 0;
  // Upper bound on a client's session expiry interval (seconds).
  uint32_t max_session_expiry_s = 0xFFFFFFFF;
  // How often $SYS topics are published (seconds); 0 turns them off.
  uint32_t sys_interval_s = 10;
};

}  // namespace topicdb::broker
