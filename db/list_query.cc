#include "db/list_query.h"

#include <fmt/format.h>

#include <array>
#include <limits>
#include <utility>

#include "db/names.h"

namespace topicdb::db {

namespace {

struct OpName {
  FilterOp op;
  std::string_view name;
};
constexpr std::array<OpName, 10> kOps = {{
    {FilterOp::kEq, "eq"},
    {FilterOp::kNeq, "neq"},
    {FilterOp::kLt, "lt"},
    {FilterOp::kLte, "lte"},
    {FilterOp::kGt, "gt"},
    {FilterOp::kGte, "gte"},
    {FilterOp::kIn, "in"},
    {FilterOp::kLike, "like"},
    {FilterOp::kIsNull, "is_null"},
    {FilterOp::kIsNotNull, "is_not_null"},
}};

Status bad(std::string message) { return Status::invalid_argument(std::move(message)); }

const char* json_type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    default:
      return "a number";
  }
}

// A non-negative integer option ("limit", "pagination.offset").
Result<uint64_t> parse_count(const Json& v, std::string_view name) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    if (v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    return bad(fmt::format("{} must not be negative (got {})", name, v.get<int64_t>()));
  }
  return bad(fmt::format("{} must be a non-negative integer, not {}", name, json_type_name(v)));
}

Result<std::string> parse_field(const Json& object, std::string_view where) {
  auto it = object.find("field");
  if (it == object.end()) return bad(fmt::format("{}: \"field\" is missing", where));
  if (!it->is_string()) {
    return bad(fmt::format("{}.field must be a string, not {}", where, json_type_name(*it)));
  }
  const std::string& field = it->get_ref<const std::string&>();
  Status status = check_field_path(field);
  if (!status.is_ok()) return bad(fmt::format("{}.field: {}", where, status.message()));
  return field;
}

Status check_value(FilterOp op, const Json& value, std::string_view where) {
  switch (op) {
    case FilterOp::kEq:
    case FilterOp::kNeq:
      return Status::ok();  // any JSON value; objects and arrays compare as JSON text
    case FilterOp::kLt:
    case FilterOp::kLte:
    case FilterOp::kGt:
    case FilterOp::kGte:
      if (value.is_number() || value.is_string()) return Status::ok();
      return bad(fmt::format("{}.value must be a number or a string for {}, not {}", where,
                             filter_op_name(op), json_type_name(value)));
    case FilterOp::kIn:
      if (!value.is_array()) {
        return bad(
            fmt::format("{}.value must be an array for in, not {}", where, json_type_name(value)));
      }
      if (value.size() > kMaxInValues) {
        return bad(fmt::format("{}.value has {} values; in takes at most {}", where, value.size(),
                               kMaxInValues));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i].is_object() || value[i].is_array()) {
          return bad(fmt::format("{}.value[{}] must be a string, number, boolean or null, not {}",
                                 where, i, json_type_name(value[i])));
        }
      }
      return Status::ok();
    case FilterOp::kLike:
      if (value.is_string()) return Status::ok();
      return bad(
          fmt::format("{}.value must be a string for like, not {}", where, json_type_name(value)));
    case FilterOp::kIsNull:
    case FilterOp::kIsNotNull:
      return Status::ok();
  }
  return Status::ok();
}

Result<Filter> parse_filter(const Json& f, size_t index) {
  std::string where = fmt::format("filters[{}]", index);
  if (!f.is_object()) {
    return bad(fmt::format("{} must be an object with field, op and value, not {}", where,
                           json_type_name(f)));
  }
  for (const auto& [key, unused] : f.items()) {
    if (key != "field" && key != "op" && key != "value") {
      return bad(fmt::format("{}: unknown key \"{}\" (field, op, value)", where, key));
    }
  }
  Filter filter;
  Result<std::string> field = parse_field(f, where);
  if (!field.is_ok()) return field.status();
  filter.field = std::move(field).value();

  auto op = f.find("op");
  if (op == f.end()) return bad(fmt::format("{}: \"op\" is missing", where));
  if (!op->is_string()) {
    return bad(fmt::format("{}.op must be a string, not {}", where, json_type_name(*op)));
  }
  const std::string& op_text = op->get_ref<const std::string&>();
  bool known = false;
  for (const OpName& candidate : kOps) {
    if (candidate.name == op_text) {
      filter.op = candidate.op;
      known = true;
    }
  }
  if (!known) {
    return bad(
        fmt::format("{}.op: unknown operator \"{}\" (eq, neq, lt, lte, gt, gte, in, like, is_null, "
                    "is_not_null)",
                    where, op_text));
  }

  auto value = f.find("value");
  if (filter.op == FilterOp::kIsNull || filter.op == FilterOp::kIsNotNull) {
    return filter;  // "value" ignored, as the issue says
  }
  if (value == f.end()) {
    return bad(fmt::format("{}: \"value\" is missing (required by {})", where, op_text));
  }
  TDB_RETURN_IF_ERROR(check_value(filter.op, *value, where));
  filter.value = *value;
  return filter;
}

Result<SortKey> parse_sort_key(const Json& s, size_t index) {
  std::string where = fmt::format("sort[{}]", index);
  if (!s.is_object()) {
    return bad(fmt::format("{} must be an object with field and direction, not {}", where,
                           json_type_name(s)));
  }
  for (const auto& [key, unused] : s.items()) {
    if (key != "field" && key != "direction") {
      return bad(fmt::format("{}: unknown key \"{}\" (field, direction)", where, key));
    }
  }
  SortKey key;
  Result<std::string> field = parse_field(s, where);
  if (!field.is_ok()) return field.status();
  key.field = std::move(field).value();
  auto direction = s.find("direction");
  if (direction != s.end()) {  // absent: ascending
    if (!direction->is_string() || (*direction != "asc" && *direction != "desc")) {
      return bad(fmt::format("{}.direction must be \"asc\" or \"desc\", not {}", where,
                             direction->dump()));
    }
    key.descending = *direction == "desc";
  }
  return key;
}

}  // namespace

std::string_view filter_op_name(FilterOp op) {
  for (const OpName& candidate : kOps) {
    if (candidate.op == op) return candidate.name;
  }
  return "?";
}

Result<ListQuery> parse_list_query(const Json& body, const QueryLimits& limits) {
  if (!body.is_object()) return bad("a list request must be a JSON object");
  ListQuery query;
  query.limit = limits.max_list_limit;
  std::optional<uint64_t> limit;
  std::optional<uint64_t> offset;
  bool has_include = false;

  for (const auto& [key, value] : body.items()) {
    if (key == "filters") {
      if (!value.is_array()) {
        return bad(fmt::format("filters must be an array, not {}", json_type_name(value)));
      }
      if (value.size() > limits.max_filters) {
        return bad(
            fmt::format("too many filters: {} (at most {})", value.size(), limits.max_filters));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        Result<Filter> filter = parse_filter(value[i], i);
        if (!filter.is_ok()) return filter.status();
        query.filters.push_back(std::move(filter).value());
      }
    } else if (key == "sort") {
      if (!value.is_array()) {
        return bad(fmt::format("sort must be an array, not {}", json_type_name(value)));
      }
      if (value.size() > limits.max_sort_keys) {
        return bad(
            fmt::format("too many sort keys: {} (at most {})", value.size(), limits.max_sort_keys));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        Result<SortKey> sort_key = parse_sort_key(value[i], i);
        if (!sort_key.is_ok()) return sort_key.status();
        query.sort.push_back(std::move(sort_key).value());
      }
    } else if (key == "limit" || key == "offset") {
      Result<uint64_t> count = parse_count(value, key);
      if (!count.is_ok()) return count.status();
      std::optional<uint64_t>& slot = key == "limit" ? limit : offset;
      if (slot) return bad(fmt::format("{} is given both at the top level and in pagination", key));
      slot = *count;
    } else if (key == "pagination") {
      if (!value.is_object()) {
        return bad(fmt::format("pagination must be an object with limit and offset, not {}",
                               json_type_name(value)));
      }
      for (const auto& [inner, inner_value] : value.items()) {
        if (inner != "limit" && inner != "offset") {
          return bad(fmt::format("pagination: unknown key \"{}\" (limit, offset)", inner));
        }
        std::string name = "pagination." + inner;
        Result<uint64_t> count = parse_count(inner_value, name);
        if (!count.is_ok()) return count.status();
        std::optional<uint64_t>& slot = inner == "limit" ? limit : offset;
        if (slot) {
          return bad(fmt::format("{} is given both at the top level and in pagination", inner));
        }
        slot = *count;
      }
    } else if (key == "projection") {
      Result<Projection> projection = parse_projection(value);
      if (!projection.is_ok()) return projection.status();
      query.projection = std::move(projection).value();
    } else if (key == "includes" || key == "include") {
      if (has_include) return bad("give either includes or include, not both");
      has_include = true;
      Result<std::vector<IncludeNode>> includes = parse_includes(value, key);
      if (!includes.is_ok()) return includes.status();
      query.includes = std::move(includes).value();
    } else {
      return bad(fmt::format(
          "unknown list option \"{}\" (filters, sort, limit, offset, pagination, projection, "
          "includes)",
          key));
    }
  }
  if (limit) {
    if (*limit > limits.max_list_limit) {
      return bad(fmt::format("limit {} is over the maximum of {} records per list", *limit,
                             limits.max_list_limit));
    }
    query.limit = *limit;
    query.limit_given = true;
  }
  if (offset) {
    // SQLite takes a signed 64-bit OFFSET.
    if (*offset > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return bad("offset is too large");
    }
    query.offset = *offset;
  }
  return query;
}

}  // namespace topicdb::db
