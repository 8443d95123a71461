// The rules for names in the $DB API: entity names, record ids and field paths. They are
// checked before anything reaches SQL, which is why query text may quote them inline.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace topicdb::db {

// [A-Za-z0-9_-]{1,128}, not starting with '_' (those are the server's: _admin, _events,
// _reply). Internal callers that need '_' entities do not go through this.
Status check_entity_name(std::string_view entity);
// 1..512 bytes of valid UTF-8 without '/', '+', '#' or NUL; not "create", "list", "events"
// and not starting with '_' (they collide with operation topics).
Status check_record_id(std::string_view id);
// A field path for filters, sort, projection and indexes: dot-separated segments of
// [A-Za-z0-9_-]{1,128}, at most 8 segments.
Status check_field_path(std::string_view path);

// SQL text for json_extract(body, '$.a.b') on a checked path; the same text in an index and
// in a query lets SQLite match the expression index.
std::string json_extract_sql(std::string_view checked_path);
// 'entity' as an SQL string literal (checked names only: no quote can occur).
std::string entity_literal(std::string_view checked_entity);

}  // namespace topicdb::db
