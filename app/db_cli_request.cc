// Topics and payloads of `topicdb db` requests; the filter and sort mini-languages.
#include "app/db_cli_request.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "db/names.h"

namespace topicdb::app {
namespace {

using Json = nlohmann::json;

Status invalid_request(std::string message) { return Status::invalid_argument(std::move(message)); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// nlohmann's parse error without its "[json.exception.parse_error.101] " prefix.
std::string short_json_error(const std::exception& e) {
  std::string what = e.what();
  size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

// JSON text -> value; nullopt (and the reason in *error) when it is not JSON.
std::optional<Json> parse_json(std::string_view text, std::string* error) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // the library's exceptions stop here
    if (error != nullptr) *error = short_json_error(e);
    return std::nullopt;
  }
}

Result<Json> parse_object(std::string_view what, const std::string& text) {
  std::string error;
  std::optional<Json> value = parse_json(text, &error);
  if (!value) return invalid_request(std::string(what) + " is not valid JSON: " + error);
  if (!value->is_object()) return invalid_request(std::string(what) + " must be a JSON object");
  return std::move(*value);
}

Status check_entity(const std::string& entity) {
  Status s = db::check_entity_name(entity);
  if (!s.is_ok()) return invalid_request("bad entity name '" + entity + "': " + s.message());
  return Status::ok();
}

Status check_id(const std::string& id) {
  Status s = db::check_record_id(id);
  if (!s.is_ok()) return invalid_request("bad record id '" + id + "': " + s.message());
  return Status::ok();
}

// Splits on commas outside brackets, braces and double quotes, so "tags:in:[1,2],age>3"
// is two filters while MQDB's "a=1,b=2" stays two as well.
std::vector<std::string_view> split_top_level(std::string_view text) {
  std::vector<std::string_view> parts;
  int depth = 0;
  bool in_string = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

// MQDB's value typing: an integer, else a finite number, else true/false, else the text.
// A value in double quotes is a JSON string (so "42" can be matched as text).
Json mqdb_value(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    if (std::optional<Json> s = parse_json(text, nullptr); s && s->is_string()) return *s;
  }
  int64_t i = 0;
  auto [iend, iec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (!text.empty() && iec == std::errc() && iend == text.data() + text.size()) return i;
  double d = 0;
  auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (!text.empty() && dec == std::errc() && dend == text.data() + text.size() &&
      std::isfinite(d)) {
    return d;
  }
  if (text == "true") return true;
  if (text == "false") return false;
  return std::string(text);
}

constexpr std::string_view kOperatorNames[] = {"eq",  "neq", "lt",   "lte",     "gt",
                                               "gte", "in",  "like", "is_null", "is_not_null"};

bool is_operator_name(std::string_view op) {
  for (std::string_view name : kOperatorNames) {
    if (name == op) return true;
  }
  return false;
}

bool takes_no_value(std::string_view op) { return op == "is_null" || op == "is_not_null"; }

Result<Json> make_filter(std::string_view expr, std::string_view field, std::string_view op,
                         std::optional<Json> value) {
  std::string field_text(trim(field));
  if (field_text.empty())
    return invalid_request("bad --filter '" + std::string(expr) + "': no field");
  Status s = db::check_field_path(field_text);
  if (!s.is_ok())
    return invalid_request("bad --filter '" + std::string(expr) + "': " + s.message());
  Json filter = {{"field", field_text}, {"op", std::string(op)}};
  if (value) filter["value"] = std::move(*value);
  return filter;
}

// "field:op[:value]" with an operator name; nullopt when `expr` is not of that form.
std::optional<Result<Json>> parse_named(std::string_view expr) {
  size_t first = expr.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  std::string_view rest = expr.substr(first + 1);
  size_t second = rest.find(':');
  std::string_view op = rest.substr(0, second);
  std::string_view field = trim(expr.substr(0, first));
  // "time=10:eq:x" is MQDB's form with a ':' in the value, not a field named "time=10".
  if (!db::check_field_path(field).is_ok()) return std::nullopt;
  if (!is_operator_name(op)) {
    bool word = !op.empty() && std::all_of(op.begin(), op.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || c == '_';
    });
    if (!word) return std::nullopt;  // "age:>3" and the like: not the named form
    return invalid_request("bad --filter '" + std::string(expr) + "': unknown operator '" +
                           std::string(op) +
                           "' (eq neq lt lte gt gte in like is_null is_not_null)");
  }
  std::string_view value_text =
      second == std::string_view::npos ? std::string_view() : trim(rest.substr(second + 1));
  std::string e(expr);
  if (takes_no_value(op)) {
    if (!value_text.empty())
      return invalid_request("bad --filter '" + e + "': " + std::string(op) + " takes no value");
    return make_filter(expr, field, op, std::nullopt);
  }
  if (second == std::string_view::npos) {
    return invalid_request("bad --filter '" + e + "': " + std::string(op) + " needs a value");
  }
  std::optional<Json> value = parse_json(value_text, nullptr);
  if (!value) value = Json(std::string(value_text));
  if (op == "in" && !value->is_array()) {
    return invalid_request("bad --filter '" + e + "': in needs a JSON array such as [1,2]");
  }
  if (op == "like" && !value->is_string()) value = Json(std::string(value_text));
  return make_filter(expr, field, op, std::move(value));
}

// MQDB's symbol form: the leftmost operator splits field from value.
Result<Json> parse_symbolic(std::string_view expr) {
  for (size_t i = 0; i < expr.size(); ++i) {
    char c = expr[i];
    char next = i + 1 < expr.size() ? expr[i + 1] : '\0';
    std::string_view op;
    size_t len = 1;
    if (c == '<') {
      op = next == '>' ? "neq" : next == '=' ? "lte" : "lt";
      len = (next == '>' || next == '=') ? 2 : 1;
    } else if (c == '>') {
      op = next == '=' ? "gte" : "gt";
      len = next == '=' ? 2 : 1;
    } else if (c == '!' && (next == '=' || next == '?')) {
      op = next == '=' ? "neq" : "is_not_null";
      len = 2;
    } else if (c == '=') {
      op = "eq";
    } else if (c == '~') {
      op = "like";
    } else if (c == '?') {
      op = "is_null";
    } else {
      continue;
    }
    std::string_view value_text = trim(expr.substr(i + len));
    std::string_view field = expr.substr(0, i);
    if (takes_no_value(op)) {
      if (!value_text.empty()) {
        return invalid_request("bad --filter '" + std::string(expr) + "': nothing may follow '" +
                               std::string(expr.substr(i, len)) + "'");
      }
      return make_filter(expr, field, op, std::nullopt);
    }
    Json value = op == "like" ? Json(std::string(value_text)) : mqdb_value(value_text);
    return make_filter(expr, field, op, std::move(value));
  }
  return invalid_request("bad --filter '" + std::string(expr) +
                         "': no operator (= <> != > < >= <= ~ ? !? or field:op:value)");
}

Json string_array(const std::vector<std::string>& items) {
  Json array = Json::array();
  for (const std::string& item : items) array.push_back(item);
  return array;
}

Status add_list_options(const DbCommand& cmd, Json* payload) {
  if (!cmd.filters.empty()) {
    auto filters = parse_filter_expressions(cmd.filters);
    if (!filters) return filters.status();
    (*payload)["filters"] = std::move(*filters);
  }
  if (!cmd.sort.empty()) {
    Json sort = Json::array();
    for (const std::string& text : cmd.sort) {
      auto parsed = parse_sort_expression(text);
      if (!parsed) return parsed.status();
      for (Json& s : *parsed) sort.push_back(std::move(s));
    }
    (*payload)["sort"] = std::move(sort);
  }
  if (cmd.limit) (*payload)["limit"] = *cmd.limit;
  if (cmd.offset) (*payload)["offset"] = *cmd.offset;
  return Status::ok();
}

}  // namespace

Result<Json> parse_filter_expression(std::string_view text) {
  Json filters = Json::array();
  for (std::string_view part : split_top_level(text)) {
    std::string_view expr = trim(part);
    if (expr.empty())
      return invalid_request("bad --filter '" + std::string(text) + "': empty expression");
    std::optional<Result<Json>> named = parse_named(expr);
    Result<Json> filter = named ? std::move(*named) : parse_symbolic(expr);
    if (!filter) return filter.status();
    filters.push_back(std::move(*filter));
  }
  return filters;
}

Result<Json> parse_filter_expressions(const std::vector<std::string>& texts) {
  Json filters = Json::array();
  for (const std::string& text : texts) {
    auto parsed = parse_filter_expression(text);
    if (!parsed) return parsed.status();
    for (Json& f : *parsed) filters.push_back(std::move(f));
  }
  return filters;
}

Result<Json> parse_sort_expression(std::string_view text) {
  Json sort = Json::array();
  for (std::string_view part : split_top_level(text)) {
    std::string_view item = trim(part);
    size_t colon = item.find(':');
    std::string field(trim(item.substr(0, colon)));
    std::string direction =
        colon == std::string_view::npos ? "asc" : std::string(trim(item.substr(colon + 1)));
    if (field.empty()) return invalid_request("bad --sort '" + std::string(text) + "': no field");
    Status s = db::check_field_path(field);
    if (!s.is_ok())
      return invalid_request("bad --sort '" + std::string(text) + "': " + s.message());
    if (direction != "asc" && direction != "desc") {
      return invalid_request("bad --sort '" + std::string(text) +
                             "': direction is asc or desc, not '" + direction + "'");
    }
    sort.push_back({{"field", field}, {"direction", direction}});
  }
  return sort;
}

Result<std::string> watch_topic_filter(const DbCommand& cmd) {
  TDB_RETURN_IF_ERROR(check_entity(cmd.entity));
  if (cmd.id.empty()) return "$DB/" + cmd.entity + "/events/#";
  TDB_RETURN_IF_ERROR(check_id(cmd.id));
  return "$DB/" + cmd.entity + "/events/" + cmd.id;
}

Result<DbCliRequest> build_db_request(const DbCommand& cmd) {
  if (cmd.verb == DbVerb::kVerify) {
    DbCliRequest req;
    req.payload = Json::object();
    req.topic = "$DB/_admin/verify";
    return req;
  }
  TDB_RETURN_IF_ERROR(check_entity(cmd.entity));
  const std::string base = "$DB/" + cmd.entity;
  DbCliRequest req;
  req.payload = Json::object();
  switch (cmd.verb) {
    case DbVerb::kCreate: {
      auto data = parse_object("--data", *cmd.data);
      if (!data) return data.status();
      req.payload = std::move(*data);
      if (!cmd.id.empty()) {
        TDB_RETURN_IF_ERROR(check_id(cmd.id));
        auto it = req.payload.find("id");
        if (it != req.payload.end() && *it != Json(cmd.id)) {
          return invalid_request("--id '" + cmd.id + "' differs from the \"id\" in --data");
        }
        req.payload["id"] = cmd.id;
      }
      if (cmd.ttl_secs) req.payload["ttl_secs"] = *cmd.ttl_secs;
      req.topic = base + "/create";
      break;
    }
    case DbVerb::kRead:
      TDB_RETURN_IF_ERROR(check_id(cmd.id));
      if (!cmd.projection.empty()) req.payload["projection"] = string_array(cmd.projection);
      if (!cmd.includes.empty()) req.payload["includes"] = string_array(cmd.includes);
      req.topic = base + "/" + cmd.id;
      break;
    case DbVerb::kUpdate: {
      TDB_RETURN_IF_ERROR(check_id(cmd.id));
      auto data = parse_object("--data", *cmd.data);
      if (!data) return data.status();
      req.payload = std::move(*data);
      if (cmd.version) {
        auto it = req.payload.find("_version");
        if (it != req.payload.end() && *it != Json(*cmd.version)) {
          return invalid_request("--version differs from the \"_version\" in --data");
        }
        req.payload["_version"] = *cmd.version;
      }
      req.topic = base + "/" + cmd.id + "/update";
      break;
    }
    case DbVerb::kDelete:
      TDB_RETURN_IF_ERROR(check_id(cmd.id));
      req.topic = base + "/" + cmd.id + "/delete";
      break;
    case DbVerb::kList:
      TDB_RETURN_IF_ERROR(add_list_options(cmd, &req.payload));
      if (!cmd.projection.empty()) req.payload["projection"] = string_array(cmd.projection);
      if (!cmd.includes.empty()) req.payload["includes"] = string_array(cmd.includes);
      req.topic = base + "/list";
      break;
    case DbVerb::kSchemaSet: {
      auto data = parse_object(cmd.data_file ? "--file " + *cmd.data_file : "--data",
                               cmd.data.value_or(""));
      if (!data) return data.status();
      req.payload = std::move(*data);
      req.topic = "$DB/_admin/schema/" + cmd.entity + "/set";
      break;
    }
    case DbVerb::kSchemaGet:
      req.topic = "$DB/_admin/schema/" + cmd.entity + "/get";
      break;
    case DbVerb::kIndexAdd:
      req.payload["fields"] = string_array(cmd.fields);
      req.topic = "$DB/_admin/index/" + cmd.entity + "/add";
      break;
    case DbVerb::kIndexList:
      req.topic = "$DB/_admin/index/" + cmd.entity + "/list";
      break;
    case DbVerb::kReplay:
      req.payload["entity"] = cmd.entity;
      req.payload["since"] = cmd.since.value_or(0);
      if (cmd.limit) req.payload["limit"] = *cmd.limit;
      req.topic = "$DB/_events/replay";
      break;
    case DbVerb::kConstraintAdd: {
      auto data = parse_object("--data", *cmd.data);
      if (!data) return data.status();
      req.payload = std::move(*data);
      req.topic = "$DB/_admin/constraint/" + cmd.entity + "/add";
      break;
    }
    case DbVerb::kConstraintList:
      req.topic = "$DB/_admin/constraint/" + cmd.entity + "/list";
      break;
    case DbVerb::kConstraintRemove:
      req.payload["name"] = cmd.constraint_name;
      req.topic = "$DB/_admin/constraint/" + cmd.entity + "/remove";
      break;
    case DbVerb::kVerify:
      break;  // handled above
    case DbVerb::kWatch:
      return invalid_request("watch subscribes; it sends no request");
  }
  return req;
}

}  // namespace topicdb::app
