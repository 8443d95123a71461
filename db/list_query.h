// ListQuery: a list request's body, parsed and checked: filters, sort keys, limit and
// offset (top level or "pagination"), projection and includes. Every malformed part is a
// 400 naming it; MQDB silently ignores them, we do not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "db/answer.h"
#include "db/includes.h"
#include "db/projection.h"
#include "db/reads.h"

namespace topicdb::db {

enum class FilterOp { kEq, kNeq, kLt, kLte, kGt, kGte, kIn, kLike, kIsNull, kIsNotNull };

// "eq", "neq", ...: MQDB's names (serde snake_case of its FilterOp).
std::string_view filter_op_name(FilterOp op);

struct Filter {
  std::string field;  // checked path
  FilterOp op = FilterOp::kEq;
  Json value;  // checked against op: null for is_null / is_not_null
};

struct SortKey {
  std::string field;  // checked path
  bool descending = false;
};

// At most this many values in one "in" filter (each becomes an SQL parameter).
inline constexpr size_t kMaxInValues = 1000;

struct ListQuery {
  std::vector<Filter> filters;  // ANDed
  std::vector<SortKey> sort;    // then "id", always (a stable order for paging)
  // Without "limit" a list answers every match, up to limits.max_list_limit; more matches
  // than that is a 400 (MQDB silently truncates at its max_list_results of 10,000).
  uint64_t limit = 0;
  bool limit_given = false;  // "limit" (or pagination.limit) was in the request
  uint64_t offset = 0;
  std::optional<Projection> projection;
  std::vector<IncludeNode> includes;
};

// Errors are invalid_argument with the 400 message.
Result<ListQuery> parse_list_query(const Json& body, const QueryLimits& limits);

}  // namespace topicdb::db
