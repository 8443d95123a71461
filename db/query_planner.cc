#include "db/query_planner.h"

#include <fmt/format.h>

#include <limits>
#include <utility>

#include "db/names.h"

namespace topicdb::db {

namespace {

constexpr std::string_view kNumberTypes = "('integer','real')";
constexpr std::string_view kRangeLikelihood = "0.05";

// Builds the WHERE clause and its parameters in order.
class WhereBuilder {
 public:
  explicit WhereBuilder(std::vector<SqlValue>* params) : params_(params) {}

  std::string filter(const Filter& f) {
    std::string x = json_extract_sql(f.field);
    // json_type(body, path): the JSON type name, or NULL when the path is missing.
    std::string t = "json_type" + x.substr(std::string_view("json_extract").size());
    switch (f.op) {
      case FilterOp::kEq:
        return equal(x, t, f.value);
      case FilterOp::kNeq:
        // Defined (never NULL) once t is not NULL: each eq form is false when x is NULL.
        return fmt::format("({} IS NOT NULL AND NOT {})", t, equal(x, t, f.value));
      case FilterOp::kLt:
        return compare(x, t, "<", f.value);
      case FilterOp::kLte:
        return compare(x, t, "<=", f.value);
      case FilterOp::kGt:
        return compare(x, t, ">", f.value);
      case FilterOp::kGte:
        return compare(x, t, ">=", f.value);
      case FilterOp::kIn:
        return in(x, t, f.value);
      case FilterOp::kLike:
        return like(x, t, f.value.get<std::string>());
      case FilterOp::kIsNull:
        return x + " IS NULL";
      case FilterOp::kIsNotNull:
        return x + " IS NOT NULL";
    }
    return "0";
  }

 private:
  std::string bind(SqlValue value) {
    params_->push_back(std::move(value));
    return "?" + std::to_string(params_->size());
  }

  std::string bind_number(const Json& v) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return bind(v.get<double>());
    }
    if (v.is_number_integer()) return bind(v.get<int64_t>());
    return bind(v.get<double>());
  }

  std::string equal(const std::string& x, const std::string& t, const Json& v) {
    switch (v.type()) {
      case Json::value_t::null:
        return fmt::format("({} IS NULL AND {}='null')", x, t);
      case Json::value_t::boolean:
        return v.get<bool>() ? fmt::format("({}=1 AND {}='true')", x, t)
                             : fmt::format("({}=0 AND {}='false')", x, t);
      case Json::value_t::string:
        return fmt::format("({}={} AND {}='text')", x, bind(v.get<std::string>()), t);
      case Json::value_t::object:
        return fmt::format("({}={} AND {}='object')", x, bind(v.dump()), t);
      case Json::value_t::array:
        return fmt::format("({}={} AND {}='array')", x, bind(v.dump()), t);
      default:
        return fmt::format("({}={} AND {} IN {})", x, bind_number(v), t, kNumberTypes);
    }
  }

  std::string compare(const std::string& x, const std::string& t, std::string_view op,
                      const Json& v) {
    // likelihood(): see plan_list. Without it a one-sided range is estimated to keep a
    // quarter of the rows and the planner prefers walking db_records_key in id order.
    if (v.is_string()) {
      return fmt::format("(likelihood({}{}{},{}) AND {}='text')", x, op, bind(v.get<std::string>()),
                         kRangeLikelihood, t);
    }
    return fmt::format("(likelihood({}{}{},{}) AND {} IN {})", x, op, bind_number(v),
                       kRangeLikelihood, t, kNumberTypes);
  }

  // x IN (every value) is what an index serves; the second part rejects the values of the
  // wrong JSON type that SQL conflates (true and 1, false and 0).
  std::string in(const std::string& x, const std::string& t, const Json& values) {
    std::vector<const Json*> numbers;
    std::vector<const Json*> strings;
    bool has_true = false, has_false = false, has_null = false;
    for (const Json& v : values) {
      if (v.is_null()) {
        has_null = true;
      } else if (v.is_boolean()) {
        (v.get<bool>() ? has_true : has_false) = true;
      } else if (v.is_string()) {
        strings.push_back(&v);
      } else {
        numbers.push_back(&v);
      }
    }
    std::string all;
    for (const Json* v : strings) all += (all.empty() ? "" : ",") + bind(v->get<std::string>());
    for (const Json* v : numbers) all += (all.empty() ? "" : ",") + bind_number(*v);
    if (has_true) all += all.empty() ? "1" : ",1";
    if (has_false) all += all.empty() ? "0" : ",0";

    std::vector<std::string> kinds;
    if (!strings.empty()) kinds.push_back(fmt::format("{}='text'", t));
    if (!numbers.empty()) {
      if (has_true || has_false) {
        // 1 or 0 in the list may stand for true or false: numbers must match a number.
        std::string nums;
        for (const Json* v : numbers) nums += (nums.empty() ? "" : ",") + bind_number(*v);
        kinds.push_back(fmt::format("({} IN {} AND {} IN ({}))", t, kNumberTypes, x, nums));
      } else {
        kinds.push_back(fmt::format("{} IN {}", t, kNumberTypes));
      }
    }
    if (has_true) kinds.push_back(fmt::format("{}='true'", t));
    if (has_false) kinds.push_back(fmt::format("{}='false'", t));

    std::string sql;
    if (!all.empty()) {
      std::string kind_sql;
      for (const std::string& k : kinds) kind_sql += (kind_sql.empty() ? "" : " OR ") + k;
      sql = fmt::format("({} IN ({}) AND ({}))", x, all, kind_sql);
    }
    if (has_null) {
      std::string null_sql = fmt::format("({} IS NULL AND {}='null')", x, t);
      sql = sql.empty() ? null_sql : fmt::format("({} OR {})", sql, null_sql);
    }
    return sql.empty() ? "0" : sql;  // in [] matches nothing
  }

  std::string like(const std::string& x, const std::string& t, const std::string& pattern) {
    size_t star = pattern.find('*');
    // No '*': MQDB's glob is then plain equality, which an index serves directly.
    if (star == std::string::npos) {
      return fmt::format("({}={} AND {}='text')", x, bind(pattern), t);
    }
    std::string glob;
    for (char c : pattern) {
      if (c == '?') {
        glob += "[?]";
      } else if (c == '[') {
        glob += "[[]";
      } else {
        glob += c;  // '*' stays the wildcard; ']' alone is literal in GLOB
      }
    }
    std::string sql = fmt::format("({} GLOB {} AND {}='text'", x, bind(std::move(glob)), t);
    // A literal prefix bounds the match: x >= prefix AND x < prefix-with-last-byte+1, a
    // range an index can serve (SQLite's own GLOB optimization needs a column, not an
    // expression).
    std::string low = pattern.substr(0, star);
    std::string high = low;
    while (!high.empty() && static_cast<unsigned char>(high.back()) == 0xFF) high.pop_back();
    if (!high.empty()) {
      high.back() = static_cast<char>(static_cast<unsigned char>(high.back()) + 1);
      sql += fmt::format(" AND likelihood({}>={},{}) AND {}<{}", x, bind(low), kRangeLikelihood, x,
                         bind(std::move(high)));
    }
    return sql + ")";
  }

  std::vector<SqlValue>* params_;
};

}  // namespace

PlannedQuery plan_list(std::string_view entity, const ListQuery& query, int64_t now_ms) {
  PlannedQuery plan;
  plan.params.push_back(now_ms);  // ?1
  std::string sql = fmt::format(
      "SELECT body FROM db_records WHERE likely(entity={}) AND (expires_at_ms IS NULL OR "
      "expires_at_ms>?1)",
      entity_literal(entity));
  WhereBuilder where(&plan.params);
  for (const Filter& filter : query.filters) sql += " AND " + where.filter(filter);
  sql += " ORDER BY ";
  for (const SortKey& key : query.sort) {
    sql += json_extract_sql(key.field) + (key.descending ? " DESC, " : " ASC, ");
  }
  // The tie-break runs the way the last key does, so an index on (field, id) serves
  // "ORDER BY field DESC, id DESC" by one backward walk, without sorting the ties.
  sql += !query.sort.empty() && query.sort.back().descending ? "id DESC" : "id ASC";
  plan.params.push_back(static_cast<int64_t>(query.limit));
  sql += " LIMIT ?" + std::to_string(plan.params.size());
  plan.params.push_back(static_cast<int64_t>(query.offset));
  sql += " OFFSET ?" + std::to_string(plan.params.size());
  plan.sql = std::move(sql);
  return plan;
}

int bind_params(sqlite3_stmt* stmt, const std::vector<SqlValue>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return sqlite3_bind_null(stmt, index);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return sqlite3_bind_int64(stmt, index, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return sqlite3_bind_double(stmt, index, v);
          } else {
            // The params outlive the statement's use (reads.cc keeps the plan alive).
            return sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
          }
        },
        params[i]);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

}  // namespace topicdb::db
