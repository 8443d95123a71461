// The topicdb binary: subcommands dispatch here; everything else lives in the layers.
#include <cstdio>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/db_cli.h"
#include "app/passwd_cli.h"
#include "app/server.h"

namespace {

void print_usage(FILE* out) {
  std::fprintf(out,
               "Usage: topicdb <command> [OPTIONS]\n\n"
               "Commands:\n"
               "  serve     run the MQTT broker (see 'topicdb serve --help')\n"
               "  db        create, read, update, delete, list, watch records of a running\n"
               "            broker over MQTT 5 (see 'topicdb db --help')\n"
               "  passwd    add, remove or list users of a password file (see 'topicdb passwd "
               "--help')\n"
               "  version   print the version\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::printf("topicdb %s\n", TOPICDB_VERSION);
    return 0;
  }
  if (args[0] == "db") {
    args.erase(args.begin());
    return topicdb::app::run_db_command(args);
  }
  if (args[0] == "passwd") return topicdb::app::run_passwd({args.begin() + 1, args.end()});
  if (args[0] != "serve") {
    std::fprintf(stderr, "topicdb: unknown command '%s' (try 'topicdb --help')\n", args[0].c_str());
    return 2;
  }
  args.erase(args.begin());
  auto config = topicdb::app::parse_serve_args(args);
  if (!config.is_ok()) {
    std::fprintf(stderr, "topicdb: %s\n", config.status().message().c_str());
    return 2;
  }
  if (config->show_help) {
    std::fputs(topicdb::app::serve_usage().c_str(), stdout);
    return 0;
  }
  if (config->show_version) {
    std::printf("topicdb %s\n", TOPICDB_VERSION);
    return 0;
  }
  return topicdb::app::run_server(*config);
}
