// Turns a $DB request — its topic path after "$DB/" and its payload — into a Request, or
// into the error Answer that explains what is wrong with it. No MQTT here: the adapter
// strips the prefix and fills in who asked.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "db/answer.h"
#include "db/request.h"

namespace topicdb::db {

struct RequestParserOptions {
  // A larger payload is a 413 (--db-max-payload).
  size_t max_payload = 256 * 1024;
  // Deeper JSON nesting is a 400: records are dumped and compared recursively later.
  int max_depth = 64;
};

// Either a request to run or the answer to send instead. `request_id` is set whenever the
// payload was a JSON object with a string "_request_id", so error answers echo it too.
struct ParsedRequest {
  std::optional<Request> request;
  Answer error;  // meaningful only when `request` is empty
  std::optional<std::string> request_id;

  bool ok() const { return request.has_value(); }
};

// True for "{entity}/events" and everything below it, and for "_reply/...": topics the
// broker publishes on, which clients may not publish to.
bool is_server_topic(std::string_view path);

// `path` is the topic without "$DB/": "users/create", "users/42/update",
// "_admin/schema/users/set", "_events/replay", ...
ParsedRequest parse_request(std::string_view path, std::string_view payload,
                            const RequestParserOptions& options = {});

}  // namespace topicdb::db
