// The $DB scenarios of topicdb_load: MQTT 5 requests (Response Topic + Correlation Data) to
// TopicDB's document store, pipelined from several clients. TopicDB only (mosquitto has no
// $DB). See bench/README.md.
#pragma once

#include <string>

#include "bench/load/scenarios.h"

namespace topicdb::bench {

// "db": create, read, indexed list, update, event fan-out and delete on one broker, one line
// each (scenario=db_create, db_read, ...). "db_scale": read and indexed-list latency at 10k
// records and again at 1M (or the --db-records count).
bool db_scenario(const std::string& name, const Options& options);
bool db_scale_scenario(const std::string& name, const Options& options);
// "db_constraints": creates/s with a unique and a foreign-key constraint against the same
// creates without (ratio), and the time of a cascade delete of one parent with 1,000 children.
bool db_constraints_scenario(const std::string& name, const Options& options);

}  // namespace topicdb::bench
