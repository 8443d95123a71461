// TopicTree: the subscription index. One node per topic level, with separate slots for the
// '+' and '#' wildcard children so that matching a topic visits only the branches that can
// match: cost grows with the topic's depth and the matching subscriptions, not with the
// number of unrelated subscriptions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace topicdb::broker {

class Session;
class SharedGroup;

// SUBSCRIBE options byte (MQTT 5 §3.8.3.1); 3.1.1 uses only the QoS bits.
namespace subscription_option {
constexpr uint8_t kQosMask = 0x03;
constexpr uint8_t kNoLocal = 0x04;
constexpr uint8_t kRetainAsPublished = 0x08;
constexpr uint8_t kRetainHandlingShift = 4;
}  // namespace subscription_option

// One subscription as stored in the tree: a session's own, or a shared-subscription group
// (then `group` is set, `session` is null, and the group picks one member per message).
struct Subscriber {
  Session* session = nullptr;  // borrowed: a session removes its subscriptions before dying
  uint8_t options = 0;         // SUBSCRIBE options byte: qos | no_local<<2 | rap<<3 | rh<<4
  uint32_t subscription_id = 0;
  SharedGroup* group = nullptr;  // borrowed: a group leaves the tree before it dies
  uint8_t qos() const { return options & subscription_option::kQosMask; }
  bool no_local() const { return options & subscription_option::kNoLocal; }
  bool retain_as_published() const { return options & subscription_option::kRetainAsPublished; }
  uint8_t retain_handling() const {
    return (options >> subscription_option::kRetainHandlingShift) & 3;
  }
  bool same_owner(const Subscriber& o) const { return session == o.session && group == o.group; }
};

class TopicTree {
 public:
  TopicTree();
  ~TopicTree();
  TopicTree(const TopicTree&) = delete;
  TopicTree& operator=(const TopicTree&) = delete;

  // Adds or replaces the subscription of `subscriber.session` to `filter`. Returns true if
  // it replaced an existing one (MQTT-3.8.4-3: a repeated filter replaces, it does not add).
  bool subscribe(std::string_view filter, const Subscriber& subscriber);
  // Removes the subscription of `owner` (its session and group) to `filter`; false if none.
  bool unsubscribe(std::string_view filter, const Subscriber& owner);

  // Calls visitor(const Subscriber&) for every subscription whose filter matches `topic`.
  // A session with several matching filters is visited once per filter. Topics starting
  // with '$' are not matched by a '+' or '#' in the first level (MQTT-4.7.2-1).
  template <typename Visitor>
  void match(std::string_view topic, Visitor&& visitor) const;

  size_t subscription_count() const { return subscription_count_; }

 private:
  struct Node;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
    std::unique_ptr<Node> plus;  // the '+' child
    std::unique_ptr<Node> hash;  // the '#' child (a leaf: '#' is always last)
    std::vector<Subscriber> subscribers;
    bool empty() const { return children.empty() && !plus && !hash && subscribers.empty(); }
  };

  template <typename Visitor>
  static void match_from(const Node& node, std::string_view rest, bool at_end, bool first_level,
                         bool dollar_topic, Visitor& visitor);
  bool unsubscribe_from(Node* node, std::string_view rest, bool at_end, const Subscriber& owner);

  std::unique_ptr<Node> root_;
  size_t subscription_count_ = 0;
};

// --- template implementation ----------------------------------------------------------------

template <typename Visitor>
void TopicTree::match(std::string_view topic, Visitor&& visitor) const {
  bool dollar = !topic.empty() && topic.front() == '$';
  match_from(*root_, topic, false, true, dollar, visitor);
}

// `rest` is the part of the topic not yet consumed; `at_end` is true once every level has
// been consumed (distinguishes "a/" — one more empty level — from "a").
template <typename Visitor>
void TopicTree::match_from(const Node& node, std::string_view rest, bool at_end, bool first_level,
                           bool dollar_topic, Visitor& visitor) {
  bool wildcards_allowed = !(first_level && dollar_topic);
  // "a/#" also matches "a" (MQTT-4.7.1-2): the '#' child matches zero or more levels.
  if (node.hash && wildcards_allowed) {
    for (const Subscriber& s : node.hash->subscribers) visitor(s);
  }
  if (at_end) {
    for (const Subscriber& s : node.subscribers) visitor(s);
    return;
  }
  size_t slash = rest.find('/');
  std::string_view level = rest.substr(0, slash);
  std::string_view next =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  bool next_at_end = slash == std::string_view::npos;
  if (!node.children.empty()) {
    auto it = node.children.find(level);
    if (it != node.children.end()) {
      match_from(*it->second, next, next_at_end, false, dollar_topic, visitor);
    }
  }
  if (node.plus && wildcards_allowed) {
    match_from(*node.plus, next, next_at_end, false, dollar_topic, visitor);
  }
}

}  // namespace topicdb::broker
