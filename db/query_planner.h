// The query planner: turns a ListQuery into one SQL statement over db_records. Every field
// is read with json_extract_sql(field), the very text an index definition uses, and the
// entity is inlined as a literal, so SQLite matches the partial expression indexes
// (CREATE INDEX ... ON db_records(json_extract(...)) WHERE entity='users'): eq, ranges, in,
// like with a literal prefix, is_null and sort on an indexed field use the index; a filter
// on an unindexed field scans the entity's records (through db_records_key).
//
// Planner hints, because SQLite has no statistics here (no ANALYZE): the entity test is
// written likely(entity='users') and each range comparison likelihood(..., 0.05). Without
// them SQLite rates "entity=?" on db_records_key as selective as "field=?" on the
// expression index and, since db_records_key also yields the "ORDER BY id" tie-break order
// for free, walks every record of the entity instead of using the index. likely() leaves
// the term as it is for the partial index's WHERE entity='users' (SQLite skips the hint
// when it checks that the query implies it).
//
// Type rules (SQL has no JSON types: json_extract gives NULL for null and for a missing
// field, 1/0 for true/false, the JSON text of an object or array), made exact with
// json_type beside the indexable comparison:
//  - eq/neq: a value matches only a field of the same JSON type: numbers numerically (1
//    equals 1.0), strings as text, true and false only true and false (never 1 and 0),
//    null only an explicit null; objects and arrays as compact JSON text. A missing field
//    matches neither eq nor neq (as MQDB); neq matches a present field of another type.
//  - lt/lte/gt/gte: a number compares with numbers, a string with strings (byte order);
//    fields of other types never match (as MQDB).
//  - in: eq against any of the values; null in the list matches an explicit null.
//  - like: strings only, '*' matches any run of characters and everything else is literal
//    (MQDB's glob); case-sensitive. Becomes SQL GLOB with '?' and '[' escaped.
//  - is_null: the field is null or missing; is_not_null: present and not null.
// Sort order (SQLite's): missing and null first, then numbers and booleans (as 0/1) by
// value, then strings, objects and arrays by their text; desc reverses it. Ties are broken
// by id (in the direction of the last sort key; ascending without sort), so paging with
// offset is stable. Without sort a list is in id order (MQDB's order: by key).
//
// Index shape: an index on (field..., id) WHERE entity='x' serves "field = ? ORDER BY id"
// and "ORDER BY field, id" without any sort step; an index on (field...) alone still finds
// the rows but sorts the matches (or the ties) by id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <sqlite3.h>

#include "db/list_query.h"

namespace topicdb::db {

// A bound parameter.
using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string>;

struct PlannedQuery {
  std::string sql;  // selects body; the same shape of query gives the same text (cached)
  std::vector<SqlValue> params;
};

// `entity` must have passed check_entity_name. The query returns the records' body column.
PlannedQuery plan_list(std::string_view entity, const ListQuery& query, int64_t now_ms);

// Binds params to ?1, ?2, ...; SQLITE_OK or the first error.
int bind_params(sqlite3_stmt* stmt, const std::vector<SqlValue>& params);

}  // namespace topicdb::db
