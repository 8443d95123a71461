// Shared subscriptions (MQTT 5 §4.8.2): "$share/{group}/{filter}". Every subscriber of one
// group shares one entry in the topic tree; each matching message goes to one member,
// chosen round-robin among the connected ones. Usable from 3.1.1 clients too.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace topicdb::broker {

class Session;

struct SharedFilter {
  std::string_view group;
  std::string_view filter;  // the topic filter the group subscribes to
};

// Splits "$share/{group}/{filter}". Returns nullopt for a filter that is not shared, and an
// error for a malformed shared one: empty group, '+' or '#' in the group, or no filter
// (MQTT 5 §4.8.2: "ShareName MUST NOT contain '/', '+' or '#'", followed by a filter).
Result<std::optional<SharedFilter>> parse_shared_filter(std::string_view text);

class SharedGroup {
 public:
  struct Member {
    Session* session;  // borrowed; removed before the session dies
    uint8_t options;
    uint32_t subscription_id;
  };

  SharedGroup(std::string key, std::string filter)
      : key_(std::move(key)), filter_(std::move(filter)) {}

  // The full "$share/g/f" text, which is how sessions name the subscription.
  const std::string& key() const { return key_; }
  const std::string& filter() const { return filter_; }

  // Adds or replaces the member for `session`.
  void add(const Member& member);
  // Returns false if the session was not a member.
  bool remove(const Session* session);
  bool empty() const { return members_.empty(); }
  size_t size() const { return members_.size(); }

  // The next member in round-robin order whose session is connected, skipping `exclude`;
  // when none is connected (and allow_offline), the next member at all. nullptr if none.
  // With `eligible`, only members whose session's user name it accepts are considered.
  const Member* pick(const Session* exclude, bool allow_offline,
                     const std::function<bool(const std::string*)>* eligible = nullptr);

 private:
  std::string key_;
  std::string filter_;
  std::vector<Member> members_;
  size_t next_ = 0;
};

}  // namespace topicdb::broker
