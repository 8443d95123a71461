// AclFile: who may publish and subscribe to what, in mosquitto's ACL file format, so a
// mosquitto acl_file works unchanged:
//
//   # comment
//   topic [read|write|readwrite|deny] FILTER    (no access word: readwrite)
//   user NAME                                   (the topic lines below are NAME's)
//   pattern [read|write|readwrite|deny] FILTER  (every client; %c = client id, %u = user)
//
// `topic` lines before the first `user` line apply to anonymous clients (no user name);
// `pattern` lines apply to every client wherever they stand (a %u pattern not to anonymous
// ones). Precedence, unlike mosquitto's first-match order: deny wins. A client may do
// something when a rule of its own allows it and no rule of its own denies it; with an ACL
// file, no matching rule means no.
//
// Publishing needs `write` on the topic. Subscribing needs `read` on every topic the filter
// can match: a read rule must cover the whole filter, and no deny rule may share a topic
// with it. (mosquitto checks read on each delivered message instead; checking once at
// SUBSCRIBE keeps delivery free of ACL work, at the price of refusing a filter wider than
// the client's rules, which mosquitto would accept and then filter.) Patterns do not apply
// to a client whose user name or client id contains '+' or '#' (it could widen them), and
// such a client is denied everything while the file has patterns, as mosquitto does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace topicdb::plugins {

// The client an ACL decision is about.
struct AclClient {
  std::string_view client_id;
  std::string_view username;
  bool has_username = false;
};

class AclFile {
 public:
  enum Access : uint8_t { kDeny = 0, kRead = 1, kWrite = 2, kReadWrite = 3 };
  struct Rule {
    uint8_t access = kDeny;
    std::string filter;  // for patterns, before %c / %u substitution
  };

  // Parses an ACL file's text; the first bad line fails it ("line N: why").
  static Result<AclFile> parse(std::string_view text);
  static Result<AclFile> load(const std::string& path);

  // Whether `client` may publish to `topic`.
  bool may_publish(const AclClient& client, std::string_view topic) const;
  // Whether `client` may subscribe to `filter` (see above).
  bool may_subscribe(const AclClient& client, std::string_view filter) const;

  size_t user_count() const { return users_.size(); }

 private:
  // Calls visit(access, filter) for each rule that applies to `client`, patterns
  // substituted, until it returns false. Returns false when the client gets no rules at all
  // (a dangerous name while patterns exist). Defined in acl_file.cc, used only there.
  template <typename Visit>
  bool visit_rules(const AclClient& client, Visit&& visit) const;

  std::vector<Rule> anonymous_;
  std::unordered_map<std::string, std::vector<Rule>> users_;
  std::vector<Rule> patterns_;
};

}  // namespace topicdb::plugins
