#include "plugins/acl_file.h"

#include <fstream>
#include <sstream>

#include "broker/topic_rules.h"
#include "plugins/filter_relations.h"
#include "plugins/text_util.h"

namespace topicdb::plugins {

namespace {

// Splits off the first space-separated word of `s` (trimmed) into `word`; returns the rest.
std::string_view next_word(std::string_view s, std::string_view* word) {
  s = trim_space(s);
  size_t end = s.find_first_of(" \t");
  *word = s.substr(0, end);
  return end == std::string_view::npos ? std::string_view() : trim_space(s.substr(end));
}

bool parse_access(std::string_view word, uint8_t* access) {
  if (word == "read") {
    *access = AclFile::kRead;
  } else if (word == "write") {
    *access = AclFile::kWrite;
  } else if (word == "readwrite") {
    *access = AclFile::kReadWrite;
  } else if (word == "deny") {
    *access = AclFile::kDeny;
  } else {
    return false;
  }
  return true;
}

std::string substitute(std::string_view pattern, const AclClient& client) {
  std::string out;
  out.reserve(pattern.size() + client.client_id.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      if (pattern[i + 1] == 'c') {
        out += client.client_id;
        ++i;
        continue;
      }
      if (pattern[i + 1] == 'u') {
        out += client.username;
        ++i;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

}  // namespace

Result<AclFile> AclFile::parse(std::string_view text) {
  AclFile acl;
  std::vector<Rule>* current = &acl.anonymous_;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim_space(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& why) {
      return Status::invalid_argument("line " + std::to_string(line_no) + ": " + why);
    };
    std::string_view keyword;
    std::string_view rest = next_word(line, &keyword);
    if (keyword == "user") {
      if (rest.empty()) return fail("'user' needs a name");
      current = &acl.users_[std::string(rest)];
      continue;
    }
    if (keyword != "topic" && keyword != "pattern") {
      return fail("expected 'topic', 'pattern' or 'user', got '" + std::string(keyword) + "'");
    }
    // "topic [ACCESS] FILTER": without an access word the whole rest is the filter, which
    // then may not contain spaces before it (as in mosquitto, a filter may contain spaces).
    Rule rule;
    rule.access = kReadWrite;
    std::string_view first;
    std::string_view after = next_word(rest, &first);
    if (first.empty()) return fail("'" + std::string(keyword) + "' needs a topic filter");
    if (after.empty()) {
      rule.filter = std::string(first);
    } else {
      if (!parse_access(first, &rule.access)) {
        return fail("access must be read, write, readwrite or deny, got '" + std::string(first) +
                    "'");
      }
      rule.filter = std::string(after);
    }
    if (!mqtt::is_valid_topic_filter(rule.filter) || !mqtt::is_valid_mqtt_utf8(rule.filter)) {
      return fail("invalid topic filter '" + rule.filter + "'");
    }
    if (keyword == "pattern") {
      acl.patterns_.push_back(std::move(rule));
    } else {
      current->push_back(std::move(rule));
    }
  }
  return acl;
}

Result<AclFile> AclFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot read ACL file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  auto acl = parse(text.str());
  if (!acl.is_ok()) return Status::invalid_argument(path + ": " + acl.status().message());
  return acl;
}

template <typename Visit>
bool AclFile::visit_rules(const AclClient& client, Visit&& visit) const {
  const std::vector<Rule>* own = &anonymous_;
  if (client.has_username) {
    auto it = users_.find(std::string(client.username));
    own = it == users_.end() ? nullptr : &it->second;
  }
  if (own) {
    for (const Rule& r : *own) {
      if (!visit(r.access, std::string_view(r.filter))) return true;
    }
  }
  if (patterns_.empty()) return true;
  if (client.client_id.find_first_of("+#") != std::string_view::npos ||
      (client.has_username && client.username.find_first_of("+#") != std::string_view::npos)) {
    return false;
  }
  for (const Rule& p : patterns_) {
    if (!client.has_username && p.filter.find("%u") != std::string::npos) continue;
    if (!visit(p.access, std::string_view(substitute(p.filter, client)))) return true;
  }
  return true;
}

bool AclFile::may_publish(const AclClient& client, std::string_view topic) const {
  bool allowed = false;
  bool denied = false;
  bool any = visit_rules(client, [&](uint8_t access, std::string_view filter) {
    if (!filter_matches(filter, topic)) return true;
    if (access == kDeny) {
      denied = true;  // deny wins, wherever it stands
      return false;
    }
    if (access & kWrite) allowed = true;
    return true;
  });
  return any && allowed && !denied;
}

bool AclFile::may_subscribe(const AclClient& client, std::string_view filter) const {
  bool allowed = false;
  bool denied = false;
  bool any = visit_rules(client, [&](uint8_t access, std::string_view rule) {
    if (access == kDeny) {
      if (!filters_overlap(rule, filter)) return true;
      denied = true;
      return false;
    }
    if ((access & kRead) && filter_covers(rule, filter)) allowed = true;
    return true;
  });
  return any && allowed && !denied;
}

}  // namespace topicdb::plugins
