// Includes: nest the records a record points to. "includes":["author"] reads the record's
// "author_id" and puts the record it names under "author"; "author.company" then does the
// same inside that author (at most 3 levels, MQDB's MAX_DEPTH). The target entity is the
// target of a foreign-key constraint on "author_id" (db/constraints.h), else the
// "references" of the field "author_id" in the entity's schema
// ({"author_id":{"type":"string","references":"users"}}); without one, the entity named like
// the include ("author"). As in MQDB, when the id field is absent or not a string, or the
// target record does not exist (or has expired), the include key is left out.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "db/answer.h"
#include "db/ownership.h"

namespace topicdb::db {

inline constexpr size_t kMaxIncludeDepth = 3;
// Each include costs a query per level: a request names at most this many.
inline constexpr size_t kMaxIncludes = 16;

// One include and the includes asked for inside the record it nests.
struct IncludeNode {
  std::string name;  // where the target goes ("author")
  std::vector<IncludeNode> children;
};

// Parses the value of the `option` key ("includes" or "include"): an array of names, each a
// dotted path of at most kMaxIncludeDepth segments. Errors name the option and element.
Result<std::vector<IncludeNode>> parse_includes(const Json& value, std::string_view option);

// The field holding the target's id: "author" -> "author_id". (An include written
// "author_id" is parsed as "author".)
std::string include_id_field(std::string_view name);
// The top-level names of `includes` (a projection keeps them).
std::vector<std::string> include_names(const std::vector<IncludeNode>& includes);

// Adds the includes to every record in `records` (objects of `entity`), reading the targets
// with one query per include and level. Runs on a reader connection inside its snapshot.
// With `owner`, a target of an owned entity that is not the user's is left out, as if absent.
Status load_includes(sqlite3* db, std::string_view entity, const std::vector<IncludeNode>& includes,
                     const std::vector<Json*>& records, int64_t now_ms,
                     const OwnerScope* owner = nullptr);

}  // namespace topicdb::db
