// The load scenarios of topicdb_load. Each prints one machine-readable line of key=value
// fields on stdout; see bench/README.md for the fields.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace topicdb::bench {

struct Options {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::vector<std::string> scenarios;  // empty = all
  int64_t messages = -1;               // overrides the throughput scenarios' message counts
  int payload = 64;                    // bytes; at least 16 (timestamp, publisher, sequence)
  bool smoke = false;                  // tiny counts, for CI
  pid_t broker_pid = 0;                // 0 = unknown: no CPU or memory figures
  int protocol = 4;                    // 4 = MQTT 3.1.1, 5 = MQTT 5
  double timeout_s = 60;               // per scenario phase
  double stall_s = 5;                  // no progress for this long ends a phase
  int64_t window = 1000;               // messages published but not yet received, at most
  int source_ips = 1;                  // spread clients over 127.0.0.1..127.0.0.N
  int64_t connections = -1;            // overrides idle_memory's connection count
  int sub_procs = 1;                   // worker processes for subscribers; 0 = in-process
};

// All broker scenario names, in the order "all" runs them.
const std::vector<std::string>& scenario_names();
// The $DB scenarios (TopicDB only; "all" does not include them).
const std::vector<std::string>& db_scenario_names();

// Runs one scenario and prints its line. Returns true if it completed without loss.
bool run_scenario(const std::string& name, const Options& options);

}  // namespace topicdb::bench
