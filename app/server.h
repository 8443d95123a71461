// Server: `topicdb serve` — composes the loop, the state store and the broker, prints the
// ready line and runs until SIGINT/SIGTERM.
#pragma once

#include "app/config.h"

namespace topicdb::app {

// Runs the broker until a shutdown signal; returns the process exit code.
int run_server(const Config& config);

}  // namespace topicdb::app
