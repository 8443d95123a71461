#include "db/adapter/db_topics.h"

#include <vector>

namespace topicdb::db::adapter {

namespace {

std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> levels;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      levels.push_back(s.substr(start));
      return levels;
    }
    levels.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

// Whether filter levels `f` can match a topic whose levels are `t`, where an empty string
// in `t` stands for "any single non-empty level" and `t` ends with "#" when any number of
// further levels may follow.
bool can_match(const std::vector<std::string_view>& f, const std::vector<std::string_view>& t) {
  size_t i = 0;
  for (; i < f.size(); ++i) {
    if (f[i] == "#") return true;
    if (i >= t.size()) return false;
    if (t[i] == "#") return true;
    if (f[i] == "+" || t[i].empty() || f[i] == t[i]) {
      if (t[i].empty() && f[i] != "+" && (f[i].empty() || f[i][0] == '_')) {
        // An entity or id level never is empty or starts with '_' (those are reserved).
        if (i == 0) return false;
      }
      continue;
    }
    return false;
  }
  return i == t.size() || (i < t.size() && t[i] == "#");
}

}  // namespace

bool may_subscribe(std::string_view filter) {
  if (!filter.starts_with(kDbPrefix)) return false;
  const std::vector<std::string_view> levels = split_levels(filter.substr(kDbPrefix.size()));
  static const std::vector<std::string_view> kEvent = {"", "events", ""};
  static const std::vector<std::string_view> kReply = {"_reply", "", "#"};
  return can_match(levels, kEvent) || can_match(levels, kReply);
}

std::string reply_topic(std::string_view request_path) {
  std::string topic(kReplyPrefix);
  topic += request_path;
  return topic;
}

}  // namespace topicdb::db::adapter
