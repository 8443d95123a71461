// Filter evaluation on one record, for `watch -f`.
#include "app/db_cli_match.h"

#include <optional>
#include <string>
#include <string_view>

namespace topicdb::app {
namespace {

using Json = nlohmann::json;

// The value at a dotted path, or null when any step is missing.
const Json& value_at(const Json& record, std::string_view path) {
  static const Json kNull;
  const Json* node = &record;
  while (true) {
    size_t dot = path.find('.');
    std::string key(path.substr(0, dot));
    if (!node->is_object()) return kNull;
    auto it = node->find(key);
    if (it == node->end()) return kNull;
    node = &*it;
    if (dot == std::string_view::npos) return *node;
    path.remove_prefix(dot + 1);
  }
}

// -1, 0, 1; nullopt when the two are not both numbers or both strings.
std::optional<int> compare(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return std::nullopt;
}

// `*` matches any run of characters, everything else itself (the server's like).
bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool matches(const Json& actual, const std::string& op, const Json& expected) {
  if (op == "is_null") return actual.is_null();
  if (op == "is_not_null") return !actual.is_null();
  if (op == "eq") return actual == expected;
  if (op == "neq") return actual != expected;
  if (op == "in") {
    if (!expected.is_array()) return false;
    for (const Json& candidate : expected) {
      if (actual == candidate) return true;
    }
    return false;
  }
  if (op == "like") {
    return actual.is_string() && expected.is_string() &&
           glob_match(expected.get_ref<const std::string&>(), actual.get_ref<const std::string&>());
  }
  std::optional<int> c = compare(actual, expected);
  if (!c) return false;
  if (op == "lt") return *c < 0;
  if (op == "lte") return *c <= 0;
  if (op == "gt") return *c > 0;
  if (op == "gte") return *c >= 0;
  return false;
}

}  // namespace

bool record_matches(const Json& record, const Json& filters) {
  for (const Json& f : filters) {
    auto value = f.find("value");
    if (!matches(value_at(record, f.value("field", "")), f.value("op", ""),
                 value == f.end() ? Json() : *value)) {
      return false;
    }
  }
  return true;
}

}  // namespace topicdb::app
