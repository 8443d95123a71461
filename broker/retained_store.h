// RetainedStore: the last retained message per topic (MQTT 3.1.1 §3.3.1.3), indexed as a
// tree of topic levels so a new subscription's filter finds its retained messages by
// walking only the matching branches.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/message.h"

namespace topicdb::broker {

class RetainedStore {
 public:
  RetainedStore();
  ~RetainedStore();
  RetainedStore(const RetainedStore&) = delete;
  RetainedStore& operator=(const RetainedStore&) = delete;

  // Sets (or replaces) the retained message of message->topic.
  void set(MessagePtr message);
  // Clears the retained message of `topic` (a retained PUBLISH with an empty payload).
  // Returns true if there was one.
  bool erase(std::string_view topic);
  MessagePtr find(std::string_view topic) const;

  // Calls visitor(const MessagePtr&) for each retained message matching `filter`, following
  // the same rules as subscription matching ('$' topics not matched by a leading wildcard).
  template <typename Visitor>
  void match(std::string_view filter, Visitor&& visitor) const {
    match_from(*root_, filter, true, [&](const MessagePtr& m) { visitor(m); });
  }

  size_t size() const { return size_; }

  // Every retained message, for persistence checks and $SYS counts.
  template <typename Visitor>
  void for_each(Visitor&& visitor) const {
    visit_subtree(*root_, false, [&](const MessagePtr& m) { visitor(m); });
  }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
    MessagePtr message;
  };
  using Sink = std::function<void(const MessagePtr&)>;

  static void match_from(const Node& node, std::string_view filter_rest, bool first_level,
                         const Sink& sink);
  static void visit_subtree(const Node& node, bool first_level, const Sink& sink);

  std::unique_ptr<Node> root_;
  size_t size_ = 0;
};

}  // namespace topicdb::broker
