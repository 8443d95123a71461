// From a parsed `topicdb db` command to what goes on the wire: the $DB topic and the JSON
// payload of the request (or the event filter `watch` subscribes to). Pure functions, so
// every command's topic and payload are unit-tested without a broker.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/db_cli_args.h"
#include "base/status.h"

namespace topicdb::app {

struct DbCliRequest {
  std::string topic;       // "$DB/users/create", "$DB/_admin/schema/users/set", ...
  nlohmann::json payload;  // always a JSON object
};

// The request for every command but watch. `schema set --file` must have been read into
// `data` first. InvalidArgument (exit 2) for a bad entity or id, --data that is not a JSON
// object, a bad filter or sort.
Result<DbCliRequest> build_db_request(const DbCommand& cmd);

// The topic filter `watch` subscribes to: "$DB/{entity}/events/#" or ".../events/{id}".
Result<std::string> watch_topic_filter(const DbCommand& cmd);

// One --filter value: MQDB's "age>18,name~A*" (comma-separated, each field OP value with
// OP one of = <> != > < >= <= ~ ? !?) or "field:op:value" with an operator name. Returns a
// JSON array of {"field","op","value"} objects.
Result<nlohmann::json> parse_filter_expression(std::string_view text);

// Every --filter of a command, joined into one JSON array (empty when there are none).
Result<nlohmann::json> parse_filter_expressions(const std::vector<std::string>& texts);

// One --sort value: "name:asc,age:desc" (direction defaults to asc). Returns a JSON array
// of {"field","direction"} objects.
Result<nlohmann::json> parse_sort_expression(std::string_view text);

}  // namespace topicdb::app
