// BrokerStats: counters the broker keeps for operators ($SYS topics, /metrics, logs,
// benchmarks), plain integers on the loop thread. SysFigures: the $SYS topics' values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace topicdb::broker {

// The kind of listener a connection came in on (its index in BrokerStats::transports).
enum class Transport : uint8_t { kMqtt, kTls, kWs, kWss };
inline constexpr size_t kTransportCount = 4;
// "mqtt", "tls", "ws", "wss": the ready line's names for the listeners.
constexpr std::string_view transport_name(Transport transport) {
  constexpr std::string_view kNames[kTransportCount] = {"mqtt", "tls", "ws", "wss"};
  return kNames[static_cast<size_t>(transport)];
}

// One kind of listener's share of the traffic. Bytes are MQTT bytes (inside TLS and
// WebSocket framing); a message dropped counts here only if its client was connected.
struct TransportStats {
  uint64_t connections_current = 0;  // accepted and not yet released
  uint64_t connections_total = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  std::array<uint64_t, 3> messages_received{};  // PUBLISH packets from clients, by QoS
  std::array<uint64_t, 3> messages_sent{};      // PUBLISH packets to clients, by QoS
  uint64_t messages_dropped = 0;
};

struct BrokerStats {
  uint64_t messages_received = 0;  // PUBLISH packets from clients
  uint64_t messages_sent = 0;      // PUBLISH packets to clients
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_dropped = 0;   // queue limits reached
  uint64_t connections_total = 0;  // accepted since start
  uint64_t malformed_packets = 0;
  uint64_t auth_failures = 0;  // CONNECTs refused for a wrong password or an unknown user
  std::array<TransportStats, kTransportCount> transports{};

  TransportStats& of(uint8_t transport) { return transports[transport]; }
};

// What the $SYS/broker/... topics publish, computed in one place so /metrics shows the same
// figures (Broker::sys_figures).
struct SysFigures {
  int64_t uptime_s = 0;
  size_t clients_connected = 0;  // connections past CONNECT
  size_t sessions = 0;           // $SYS/broker/clients/total
  size_t clients_disconnected = 0;
  size_t subscriptions = 0;
  size_t retained_messages = 0;
};

}  // namespace topicdb::broker
