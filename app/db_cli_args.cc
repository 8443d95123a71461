// Argument parsing for `topicdb db ...`: a table of flags with the commands each applies to.
#include "app/db_cli_args.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

#include "app/config.h"

namespace topicdb::app {
namespace {

constexpr uint32_t bit(DbVerb verb) { return 1u << static_cast<uint32_t>(verb); }
constexpr uint32_t kAllVerbs = 0xffffffffu;

struct FlagSpec {
  std::string_view name;  // without the leading "--"
  char short_name;        // 0 when none
  bool takes_value;
  uint32_t verbs;  // the commands it applies to
};

constexpr uint32_t kRecordReads = bit(DbVerb::kRead) | bit(DbVerb::kList);

// The connection flags, --format and --help apply to every command.
constexpr FlagSpec kFlags[] = {
    {"host", 0, true, kAllVerbs},
    {"port", 0, true, kAllVerbs},
    {"broker", 0, true, kAllVerbs},  // MQDB: HOST:PORT
    {"client-id", 'i', true, kAllVerbs},
    {"username", 'u', true, kAllVerbs},
    {"user", 0, true, kAllVerbs},  // MQDB
    {"password", 'P', true, kAllVerbs},
    {"pass", 0, true, kAllVerbs},  // MQDB
    {"timeout-ms", 0, true, kAllVerbs},
    {"timeout", 0, true, kAllVerbs},  // MQDB: seconds
    {"format", 0, true, kAllVerbs},
    {"compact", 'c', false, kAllVerbs},
    {"help", 'h', false, kAllVerbs},
    {"data", 'd', true,
     bit(DbVerb::kCreate) | bit(DbVerb::kUpdate) | bit(DbVerb::kSchemaSet) |
         bit(DbVerb::kConstraintAdd)},
    {"file", 0, true, bit(DbVerb::kSchemaSet)},
    {"id", 0, true, bit(DbVerb::kCreate) | bit(DbVerb::kWatch)},
    {"ttl", 0, true, bit(DbVerb::kCreate)},
    {"version", 0, true, bit(DbVerb::kUpdate)},
    {"projection", 0, true, kRecordReads},
    {"include", 0, true, kRecordReads},
    {"filter", 'f', true, bit(DbVerb::kList) | bit(DbVerb::kWatch)},
    {"sort", 's', true, bit(DbVerb::kList)},
    {"limit", 'l', true, bit(DbVerb::kList) | bit(DbVerb::kReplay)},
    {"offset", 'o', true, bit(DbVerb::kList)},
    {"count", 'C', true, bit(DbVerb::kWatch)},  // mosquitto_sub's -C
    {"fields", 0, true, bit(DbVerb::kIndexAdd)},
    {"since", 0, true, bit(DbVerb::kReplay)},
};

const FlagSpec* find_flag(std::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FlagSpec* find_short_flag(char c) {
  for (const FlagSpec& f : kFlags) {
    if (f.short_name != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

const char* verb_name(DbVerb verb) {
  switch (verb) {
    case DbVerb::kCreate:
      return "create";
    case DbVerb::kRead:
      return "read";
    case DbVerb::kUpdate:
      return "update";
    case DbVerb::kDelete:
      return "delete";
    case DbVerb::kList:
      return "list";
    case DbVerb::kWatch:
      return "watch";
    case DbVerb::kSchemaSet:
      return "schema set";
    case DbVerb::kSchemaGet:
      return "schema get";
    case DbVerb::kIndexAdd:
      return "index add";
    case DbVerb::kIndexList:
      return "index list";
    case DbVerb::kReplay:
      return "replay";
    case DbVerb::kConstraintAdd:
      return "constraint add";
    case DbVerb::kConstraintList:
      return "constraint list";
    case DbVerb::kConstraintRemove:
      return "constraint remove";
    case DbVerb::kVerify:
      return "verify";
  }
  return "?";
}

Status bad(std::string message) { return Status::invalid_argument(std::move(message)); }

Result<int64_t> parse_integer(std::string_view flag, const std::string& text, int64_t min,
                              int64_t max = std::numeric_limits<int64_t>::max()) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return bad("--" + std::string(flag) + " needs an integer from " + std::to_string(min) +
               (max == std::numeric_limits<int64_t>::max() ? " up" : " to " + std::to_string(max)) +
               ", not '" + text + "'");
  }
  return value;
}

// "a,b" -> {"a","b"}, appended to `out`; empty items are an error.
Status append_list(std::string_view flag, const std::string& text, std::vector<std::string>* out) {
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) return bad("--" + std::string(flag) + " has an empty item in '" + text + "'");
    out->push_back(std::move(item));
    if (comma == std::string::npos) return Status::ok();
    start = comma + 1;
  }
}

// Splits the command words off the front: "create", "schema set", "index add", ...
Result<DbVerb> parse_verb(const std::vector<std::string>& words, size_t* used) {
  if (words.empty()) return bad("missing command (try 'topicdb db --help')");
  const std::string& w = words[0];
  *used = 1;
  if (w == "create") return DbVerb::kCreate;
  if (w == "read") return DbVerb::kRead;
  if (w == "update") return DbVerb::kUpdate;
  if (w == "delete") return DbVerb::kDelete;
  if (w == "list") return DbVerb::kList;
  if (w == "watch") return DbVerb::kWatch;
  if (w == "replay") return DbVerb::kReplay;
  if (w == "verify") return DbVerb::kVerify;
  if (w == "constraint") {
    if (words.size() < 2) return bad("'constraint' needs an action (add, list or remove)");
    *used = 2;
    const std::string& action = words[1];
    if (action == "add") return DbVerb::kConstraintAdd;
    if (action == "list") return DbVerb::kConstraintList;
    if (action == "remove") return DbVerb::kConstraintRemove;
    return bad("unknown action '" + action + "' for 'constraint' (add, list or remove)");
  }
  if (w == "schema" || w == "index") {
    if (words.size() < 2)
      return bad("'" + w + "' needs an action (" + (w == "schema" ? "set or get" : "add or list") +
                 ")");
    *used = 2;
    const std::string& action = words[1];
    if (w == "schema" && action == "set") return DbVerb::kSchemaSet;
    if (w == "schema" && action == "get") return DbVerb::kSchemaGet;
    if (w == "index" && action == "add") return DbVerb::kIndexAdd;
    if (w == "index" && action == "list") return DbVerb::kIndexList;
    return bad("unknown action '" + action + "' for '" + w + "' (" +
               (w == "schema" ? "set or get" : "add or list") + ")");
  }
  return bad("unknown db command '" + w + "' (try 'topicdb db --help')");
}

// Applies one flag's value to the command.
Status apply_flag(const FlagSpec& flag, const std::string& value, DbCommand* cmd) {
  std::string_view n = flag.name;
  DbConnection& conn = cmd->connection;
  if (n == "host") {
    if (value.empty()) return bad("--host needs a host name or address");
    conn.host = value;
  } else if (n == "port") {
    auto port = parse_integer(n, value, 1, 65535);
    if (!port) return port.status();
    conn.port = static_cast<int>(*port);
  } else if (n == "broker") {
    auto address = parse_listen_address(value);
    if (!address || address->port == 0) return bad("--broker needs HOST:PORT, not '" + value + "'");
    conn.host = address->host;
    conn.port = address->port;
  } else if (n == "client-id") {
    conn.client_id = value;
  } else if (n == "username" || n == "user") {
    conn.username = value;
  } else if (n == "password" || n == "pass") {
    conn.password = value;
  } else if (n == "timeout-ms") {
    auto ms = parse_integer(n, value, 1, 3600 * 1000);
    if (!ms) return ms.status();
    conn.timeout_ms = static_cast<int>(*ms);
  } else if (n == "timeout") {
    auto secs = parse_integer(n, value, 1, 3600);
    if (!secs) return secs.status();
    conn.timeout_ms = static_cast<int>(*secs * 1000);
  } else if (n == "format") {
    if (value == "json" || value == "pretty") {
      cmd->format = OutputFormat::kPretty;
    } else if (value == "compact") {
      cmd->format = OutputFormat::kCompact;
    } else {
      return bad("--format is json or compact, not '" + value + "'");
    }
  } else if (n == "compact") {
    cmd->format = OutputFormat::kCompact;
  } else if (n == "help") {
    cmd->show_help = true;
  } else if (n == "data") {
    cmd->data = value;
  } else if (n == "file") {
    cmd->data_file = value;
  } else if (n == "id") {
    cmd->id = value;
  } else if (n == "ttl") {
    auto ttl = parse_integer(n, value, 1);
    if (!ttl) return ttl.status();
    cmd->ttl_secs = *ttl;
  } else if (n == "version") {
    auto version = parse_integer(n, value, 0);
    if (!version) return version.status();
    cmd->version = *version;
  } else if (n == "projection") {
    return append_list(n, value, &cmd->projection);
  } else if (n == "include") {
    return append_list(n, value, &cmd->includes);
  } else if (n == "filter") {
    if (value.empty()) return bad("--filter needs an expression such as 'age>18'");
    cmd->filters.push_back(value);
  } else if (n == "sort") {
    if (value.empty()) return bad("--sort needs FIELD[:asc|desc]");
    cmd->sort.push_back(value);
  } else if (n == "limit") {
    auto limit = parse_integer(n, value, 0);
    if (!limit) return limit.status();
    cmd->limit = *limit;
  } else if (n == "offset") {
    auto offset = parse_integer(n, value, 0);
    if (!offset) return offset.status();
    cmd->offset = *offset;
  } else if (n == "count") {
    auto count = parse_integer(n, value, 1);
    if (!count) return count.status();
    cmd->count = *count;
  } else if (n == "fields") {
    return append_list(n, value, &cmd->fields);
  } else if (n == "since") {
    auto since = parse_integer(n, value, 0);
    if (!since) return since.status();
    cmd->since = *since;
  }
  return Status::ok();
}

struct ParsedFlag {
  const FlagSpec* spec;
  std::string spelled;  // as typed, for messages
  std::string value;
};

// Positional arguments each command takes after its command words.
Status take_positionals(const std::vector<std::string>& positionals, DbCommand* cmd) {
  const char* name = verb_name(cmd->verb);
  if (cmd->verb == DbVerb::kVerify) {
    if (!positionals.empty()) {
      return bad("unexpected argument '" + positionals[0] + "' for 'verify'");
    }
    return Status::ok();
  }
  if (cmd->verb == DbVerb::kConstraintRemove) {
    if (positionals.size() != 2) return bad("'constraint remove' needs ENTITY NAME");
    cmd->entity = positionals[0];
    cmd->constraint_name = positionals[1];
    return Status::ok();
  }
  bool with_id =
      cmd->verb == DbVerb::kRead || cmd->verb == DbVerb::kUpdate || cmd->verb == DbVerb::kDelete;
  size_t wanted = with_id ? 2 : 1;
  if (positionals.empty()) return bad(std::string("'") + name + "' needs an ENTITY");
  if (with_id && positionals.size() < 2) return bad(std::string("'") + name + "' needs an ID");
  // MQDB spells `index add E --fields a b`: further words after --fields are fields too.
  if (cmd->verb == DbVerb::kIndexAdd && positionals.size() > 1 && !cmd->fields.empty()) {
    cmd->fields.insert(cmd->fields.end(), positionals.begin() + 1, positionals.end());
    wanted = positionals.size();
  }
  if (positionals.size() > wanted) {
    return bad(std::string("unexpected argument '") + positionals[wanted] + "' for '" + name + "'");
  }
  cmd->entity = positionals[0];
  if (with_id) cmd->id = positionals[1];
  return Status::ok();
}

// What each command cannot do without.
Status check_required(const DbCommand& cmd) {
  switch (cmd.verb) {
    case DbVerb::kCreate:
    case DbVerb::kUpdate:
    case DbVerb::kConstraintAdd:
      if (!cmd.data) return bad(std::string("'") + verb_name(cmd.verb) + "' needs --data JSON");
      break;
    case DbVerb::kSchemaSet:
      if (cmd.data.has_value() == cmd.data_file.has_value()) {
        return bad("'schema set' needs --data JSON or --file PATH (one of them)");
      }
      break;
    case DbVerb::kIndexAdd:
      if (cmd.fields.empty()) return bad("'index add' needs --fields a,b");
      break;
    case DbVerb::kReplay:
      if (!cmd.since) return bad("'replay' needs --since SEQUENCE");
      break;
    default:
      break;
  }
  return Status::ok();
}

}  // namespace

Result<DbCommand> parse_db_args(const std::vector<std::string>& args) {
  DbCommand cmd;
  std::vector<std::string> words;  // command words and positionals, in order
  std::vector<ParsedFlag> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {  // everything after is positional (an id starting with '-')
      words.insert(words.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      words.push_back(arg);
      continue;
    }
    const FlagSpec* spec = nullptr;
    std::string spelled;
    std::optional<std::string> inline_value;
    if (arg[1] == '-') {
      std::string body = arg.substr(2);
      size_t eq = body.find('=');
      if (eq != std::string::npos) {
        inline_value = body.substr(eq + 1);
        body.resize(eq);
      }
      spelled = "--" + body;
      spec = find_flag(body);
    } else if (arg.size() == 2) {
      spelled = arg;
      spec = find_short_flag(arg[1]);
    }
    if (spec == nullptr) return bad("unknown option '" + (spelled.empty() ? arg : spelled) + "'");
    ParsedFlag parsed{spec, spelled, {}};
    if (spec->takes_value) {
      if (inline_value) {
        parsed.value = *inline_value;
      } else if (i + 1 < args.size()) {
        parsed.value = args[++i];
      } else {
        return bad("option '" + spelled + "' needs a value");
      }
    } else if (inline_value) {
      return bad("option '" + spelled + "' takes no value");
    }
    flags.push_back(std::move(parsed));
  }

  bool help = false;
  for (const ParsedFlag& f : flags) help |= f.spec->name == "help";
  if (help && words.empty()) {
    cmd.show_help = true;
    return cmd;
  }
  if (words.size() == 1 && words[0] == "help") {
    cmd.show_help = true;
    return cmd;
  }

  size_t used = 0;
  auto verb = parse_verb(words, &used);
  if (!verb) return verb.status();
  cmd.verb = *verb;
  for (const ParsedFlag& f : flags) {
    if ((f.spec->verbs & bit(cmd.verb)) == 0) {
      return bad("option '" + f.spelled + "' does not apply to '" + verb_name(cmd.verb) + "'");
    }
    TDB_RETURN_IF_ERROR(apply_flag(*f.spec, f.value, &cmd));
  }
  if (cmd.show_help) return cmd;
  std::vector<std::string> positionals(words.begin() + static_cast<std::ptrdiff_t>(used),
                                       words.end());
  TDB_RETURN_IF_ERROR(take_positionals(positionals, &cmd));
  TDB_RETURN_IF_ERROR(check_required(cmd));
  return cmd;
}

std::string db_usage() {
  return R"(Usage: topicdb db <command> [OPTIONS]

Talks MQTT 5 to a TopicDB broker: publishes one request to $DB/... with a Response Topic
and Correlation Data, prints the answer's "data" as JSON on stdout.

Commands:
  create ENTITY --data JSON [--id ID] [--ttl SECS]  create a record
  read ENTITY ID [--projection a,b] [--include author,...]
  update ENTITY ID --data JSON [--version N]        merge top-level fields (with --version:
                                                    only if the stored _version is N)
  delete ENTITY ID
  list ENTITY [--filter EXPR]... [--sort FIELD[:asc|desc],...] [--limit N] [--offset N]
              [--projection a,b] [--include author,...]
  watch ENTITY [--id ID] [--filter EXPR]... [--count N]
                                                    print change events, one JSON line
                                                    each, until N events or Ctrl-C; a
                                                    filter tests the event's record
  schema set ENTITY (--data JSON | --file PATH)
  schema get ENTITY
  index add ENTITY --fields a,b
  index list ENTITY
  replay ENTITY --since SEQ [--limit N]             change events after SEQ, in order
  constraint add ENTITY --data JSON                 e.g. '{"type":"unique","name":"u",
                                                    "fields":["email"]}'
  constraint list ENTITY
  constraint remove ENTITY NAME
  verify                                            recompute the unique and foreign-key
                                                    structures from the data; report drift
Short forms: -d --data, -f --filter, -s --sort, -l --limit, -o --offset, -C --count.

List filters (-f/--filter, repeatable, comma-separated, ANDed), as MQDB's CLI spells them:
  field=value  field<>value (or !=)  field>value  field<value  field>=value  field<=value
  field~pattern* (like, * is a wildcard)  field? (is null)  field!? (is not null)
  or FIELD:OP:VALUE with OP one of eq neq lt lte gt gte in like is_null is_not_null;
  a VALUE that is JSON (42, true, "42", [1,2]) is taken as JSON, else as a string.
  Fields may be dotted paths (address.city).

Connection and output options (every command):
  --host HOST          broker host (default 127.0.0.1)
  --port PORT          broker port (default 1883)
  --broker HOST:PORT   both at once (MQDB's spelling)
  -i, --client-id ID   MQTT client id (default topicdb-cli-<random>)
  -u, --username USER  (also --user)
  -P, --password PASS  (also --pass)
  --timeout-ms MS      wait this long to connect and for each answer (default 10000);
                       --timeout SECS is the same in seconds
  --format json|compact  pretty JSON (default for answers) or one line (default for watch)
  -c, --compact        same as --format compact
  -h, --help           this text

Exit status: 0 ok; 1 the broker answered with an error ("topicdb: 404 not found: ...");
2 bad arguments; 3 no answer (cannot connect, refused, timed out, connection lost).
)";
}

}  // namespace topicdb::app
