// Projection: which fields of a record an answer keeps ("projection":["name","address.city"]).
// "id" is always kept (as MQDB); every other field, "_version" included, only when asked for.
// A dotted path keeps just that part of a nested object: {"address":{"city":...}}.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "db/answer.h"

namespace topicdb::db {

struct Projection {
  std::vector<std::string> paths;  // checked field paths, in the order asked
};

// Parses the value of the `option` ("projection") key: an array of field path strings.
// Errors name the option and the element.
Result<Projection> parse_projection(const Json& value, std::string_view option = "projection");

// `record` cut down to "id", the projected paths and the top-level keys in `keep` (the
// includes asked for, which a projection does not drop).
Json project(const Json& record, const Projection& projection,
             const std::vector<std::string>& keep = {});

}  // namespace topicdb::db
