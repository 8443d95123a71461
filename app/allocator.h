// Which malloc serves the process: the startup log names it, so a report or a benchmark can
// tell a jemalloc build (the default) from a TOPICDB_ALLOCATOR=system or sanitizer build.
#pragma once

#include <string>

namespace topicdb::app {

// "jemalloc 5.3.0-..." when jemalloc is linked in, else "system malloc".
std::string allocator_name();

}  // namespace topicdb::app
