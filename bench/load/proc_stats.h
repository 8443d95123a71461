// What the load tool reads about the broker process from /proc: CPU time and resident memory.
#pragma once

#include <sys/types.h>

#include <optional>

namespace topicdb::bench {

// utime + stime of every thread of `pid`, in seconds; nullopt if unreadable (or pid <= 0).
std::optional<double> process_cpu_seconds(pid_t pid);

// VmRSS of `pid` in KiB; nullopt if unreadable (or pid <= 0).
std::optional<long> process_rss_kib(pid_t pid);

// CPU time (user + system) this process has used so far, in seconds.
double self_cpu_seconds();

}  // namespace topicdb::bench
