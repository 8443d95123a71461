// BrokerStats: counters the broker keeps for operators ($SYS topics, logs, benchmarks).
#pragma once

#include <cstdint>

namespace topicdb::broker {

struct BrokerStats {
  uint64_t messages_received = 0;  // PUBLISH packets from clients
  uint64_t messages_sent = 0;      // PUBLISH packets to clients
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_dropped = 0;   // queue limits reached
  uint64_t connections_total = 0;  // accepted since start
  uint64_t malformed_packets = 0;
  uint64_t auth_failures = 0;  // CONNECTs refused for a wrong password or an unknown user
};

}  // namespace topicdb::broker
