// Publish/subscribe flows (fan-in, fan-out) and the scenarios built on them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bench/load/scenario_kit.h"

namespace topicdb::bench {

// Runs one flow: connects publishers and subscribers, publishes, waits for every delivery.
FlowOutcome run_flow(Run& run, const FlowSpec& spec);
// The fields every throughput line has; p50/p99 are added by the caller.
void add_flow_fields(Line* line, const FlowSpec& spec, const FlowOutcome& r,
                     std::optional<uint64_t> lost = std::nullopt);
FlowSpec fanin_spec(const Options& o, int qos);
FlowSpec fanout_spec(const Options& o, int qos);
bool flow_scenario(const std::string& name, const Options& o, const FlowSpec& spec);
bool fanin_with_subs_scenario(const std::string& name, const Options& o);

}  // namespace topicdb::bench
