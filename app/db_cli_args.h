// DbCommand: what one `topicdb db ...` invocation asks for, parsed from its arguments (no
// I/O here, so every flag rule is unit-tested). Flags are spelled as MQDB's CLI spells them
// where it has them (-d/--data, -f/--filter, -s/--sort, -l/--limit, -o/--offset,
// --projection, --fields, --broker, --user/--pass, --timeout).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace topicdb::app {

enum class DbVerb {
  kCreate,
  kRead,
  kUpdate,
  kDelete,
  kList,
  kWatch,
  kSchemaSet,
  kSchemaGet,
  kIndexAdd,
  kIndexList,
  kReplay,
  kConstraintAdd,
  kConstraintList,
  kConstraintRemove,
  kVerify,
};

// Where and as whom to connect, and how long to wait for the broker.
struct DbConnection {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  // empty: "topicdb-cli-" + random hex
  std::optional<std::string> username;
  std::optional<std::string> password;
  int timeout_ms = 10000;  // connect, subscribe and each answer
};

enum class OutputFormat {
  kDefault,  // pretty for answers, one line per event for watch
  kPretty,   // --format json
  kCompact,  // --format compact / --compact
};

struct DbCommand {
  DbVerb verb = DbVerb::kRead;
  std::string entity;
  std::string id;                        // read, update, delete; create --id; watch --id
  std::optional<std::string> data;       // --data JSON text
  std::optional<std::string> data_file;  // schema set --file PATH (MQDB's spelling)
  std::optional<int64_t> ttl_secs;       // create --ttl
  std::optional<int64_t> version;        // update --version
  std::optional<int64_t> limit;          // list, replay
  std::optional<int64_t> offset;         // list
  std::optional<int64_t> since;          // replay
  std::optional<int64_t> count;          // watch: stop after N events
  std::vector<std::string> projection;   // --projection a,b
  std::vector<std::string> includes;     // --include author[,...], repeatable
  std::vector<std::string> filters;      // --filter expressions, as typed
  std::vector<std::string> sort;         // --sort "field[:asc|desc],...", as typed
  std::vector<std::string> fields;       // index add --fields
  std::string constraint_name;           // constraint remove ENTITY NAME
  DbConnection connection;
  OutputFormat format = OutputFormat::kDefault;
  bool show_help = false;
};

// Parses the arguments after `topicdb db`. A bad command, a missing or extra argument, an
// unknown flag, a flag that does not apply to the command or a bad value: InvalidArgument
// with a one-line message naming it.
Result<DbCommand> parse_db_args(const std::vector<std::string>& args);

// The --help text of `topicdb db`.
std::string db_usage();

}  // namespace topicdb::app
