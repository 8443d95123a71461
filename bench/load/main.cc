// topicdb_load: drives an MQTT broker with libmosquitto clients and prints one line of
// key=value results per scenario. See bench/README.md.
#include <mosquitto.h>
#include <sys/resource.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/coalesced_io.h"
#include "bench/load/scenarios.h"

namespace {

using topicdb::bench::Options;

void usage(FILE* out) {
  std::fprintf(out,
               "usage: topicdb_load [--host HOST] [--port PORT] [--scenario NAME[,NAME...]|all]\n"
               "                    [--messages N] [--payload BYTES] [--smoke]\n"
               "                    [--broker-pid PID] [--protocol 4|5] [--timeout SECONDS]\n"
               "                    [--window N] [--connections N] [--source-ips N]\n"
               "                    [--sub-procs N] [--no-coalesce]\n"
               "scenarios:");
  for (const std::string& n : topicdb::bench::scenario_names()) std::fprintf(out, " %s", n.c_str());
  std::fprintf(out, "\n$DB scenarios (TopicDB only, MQTT 5):");
  for (const std::string& n : topicdb::bench::db_scenario_names()) {
    std::fprintf(out, " %s", n.c_str());
  }
  std::fprintf(out,
               "\n"
               "Prints one key=value line per scenario. Exit status: 0 if every scenario\n"
               "completed without loss, 1 otherwise, 2 for bad arguments.\n");
}

template <typename T>
bool parse_int(std::string_view text, T min, T* out) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min) return false;
  *out = value;
  return true;
}

bool parse_double(const std::string& text, double* out) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || v <= 0) return false;
  *out = v;
  return true;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

// Each client holds its socket and a socket pair of libmosquitto's: three descriptors.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlimit wanted = limit;
  if (wanted.rlim_max < 1048576) {
    wanted.rlim_max = 1048576;  // works as root (CAP_SYS_RESOURCE); otherwise keep the hard limit
    wanted.rlim_cur = 1048576;
    if (setrlimit(RLIMIT_NOFILE, &wanted) == 0) return;
    wanted = limit;
  }
  wanted.rlim_cur = wanted.rlim_max;
  setrlimit(RLIMIT_NOFILE, &wanted);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string key = args[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = key.find('='); key.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
      has_value = true;
    }
    if (key == "--help" || key == "-h") {
      usage(stdout);
      return 0;
    }
    if (key == "--smoke") {
      o.smoke = true;
      continue;
    }
    if (key == "--no-coalesce") {
      // Every libmosquitto read() and write() becomes its own syscall again.
      topicdb::bench::coalesced_io::set_enabled(false);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "topicdb_load: %s needs a value\n", key.c_str());
        return 2;
      }
      value = args[++i];
    }
    bool ok = true;
    if (key == "--host") {
      o.host = value;
    } else if (key == "--port") {
      ok = parse_int(value, 1, &o.port) && o.port <= 65535;
    } else if (key == "--scenario") {
      o.scenarios = value == "all" ? std::vector<std::string>{} : split(value);
    } else if (key == "--messages") {
      ok = parse_int<int64_t>(value, 1, &o.messages);
    } else if (key == "--payload") {
      ok = parse_int(value, 16, &o.payload) && o.payload <= 1 << 20;
    } else if (key == "--broker-pid") {
      ok = parse_int<pid_t>(value, 1, &o.broker_pid);
    } else if (key == "--protocol") {
      ok = parse_int(value, 4, &o.protocol) && o.protocol <= 5;
    } else if (key == "--timeout") {
      ok = parse_double(value, &o.timeout_s);
    } else if (key == "--window") {
      ok = parse_int<int64_t>(value, 1, &o.window);
    } else if (key == "--connections") {
      ok = parse_int<int64_t>(value, 1, &o.connections);
    } else if (key == "--sub-procs") {
      ok = parse_int(value, 0, &o.sub_procs) && o.sub_procs <= 64;
    } else if (key == "--source-ips") {
      ok = parse_int(value, 1, &o.source_ips) && o.source_ips <= 254;
    } else {
      std::fprintf(stderr, "topicdb_load: unknown option %s\n", key.c_str());
      usage(stderr);
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "topicdb_load: bad value for %s: '%s'\n", key.c_str(), value.c_str());
      return 2;
    }
  }
  std::vector<std::string> scenarios = o.scenarios;
  if (scenarios.empty()) scenarios = topicdb::bench::scenario_names();
  for (const std::string& s : scenarios) {
    bool known = false;
    for (const std::string& n : topicdb::bench::scenario_names()) known = known || n == s;
    for (const std::string& n : topicdb::bench::db_scenario_names()) known = known || n == s;
    if (!known) {
      std::fprintf(stderr, "topicdb_load: unknown scenario '%s'\n", s.c_str());
      usage(stderr);
      return 2;
    }
  }

  raise_file_limit();
  mosquitto_lib_init();
  bool all_ok = true;
  for (const std::string& s : scenarios) {
    all_ok = topicdb::bench::run_scenario(s, o) && all_ok;
  }
  mosquitto_lib_cleanup();
  return all_ok ? 0 : 1;
}
