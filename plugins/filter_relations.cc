#include "plugins/filter_relations.h"

#include <vector>

namespace topicdb::plugins {

namespace {

std::vector<std::string_view> levels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

bool is_wildcard(std::string_view level) { return level == "+" || level == "#"; }

// A first level that is a wildcard cannot reach a '$' topic (MQTT-4.7.2-1).
bool dollar_blocked(const std::vector<std::string_view>& filter,
                    const std::vector<std::string_view>& other) {
  return is_wildcard(filter[0]) && other[0].starts_with('$');
}

}  // namespace

bool filter_matches(std::string_view filter, std::string_view topic) {
  return filter_covers(filter, topic);  // a topic name is a filter matching only itself
}

bool filter_covers(std::string_view outer_text, std::string_view inner_text) {
  const auto outer = levels(outer_text);
  const auto inner = levels(inner_text);
  if (dollar_blocked(outer, inner)) return false;
  for (size_t i = 0; i < outer.size(); ++i) {
    if (outer[i] == "#") return true;  // the rest, including the parent level itself
    if (i >= inner.size()) return false;
    if (outer[i] == "+") {
      if (inner[i] == "#") return false;  // '#' reaches deeper than one level
      continue;
    }
    if (inner[i] == "#") {
      // inner also matches the parent ("a/#" matches "a"): outer must end here with '#'
      // to cover that, which the first test of the next round would have seen.
      return false;
    }
    if (inner[i] == "+" || outer[i] != inner[i]) return false;
  }
  return outer.size() == inner.size();
}

bool filters_overlap(std::string_view a_text, std::string_view b_text) {
  const auto a = levels(a_text);
  const auto b = levels(b_text);
  if (dollar_blocked(a, b) || dollar_blocked(b, a)) return false;
  size_t i = 0;
  for (; i < a.size() && i < b.size(); ++i) {
    if (a[i] == "#" || b[i] == "#") return true;
    if (a[i] == "+" || b[i] == "+") continue;
    if (a[i] != b[i]) return false;
  }
  if (a.size() == b.size()) return true;
  // One is longer: they still share the shorter one's topic if the longer goes on with a
  // lone '#' ("a/#" matches "a").
  const auto& longer = a.size() > b.size() ? a : b;
  return longer.size() == i + 1 && longer[i] == "#";
}

}  // namespace topicdb::plugins
