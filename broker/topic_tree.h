// TopicTree: the subscription index. One node per topic level, with separate slots for the
// '+' and '#' wildcard children so that matching a topic visits only the branches that can
// match: cost grows with the topic's depth and the matching subscriptions, not with the
// number of unrelated subscriptions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

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
  // Abseil's open-addressing map: a lookup is a few probes of one control-byte group, with
  // no division and no pointer chase to a bucket node, so a level with 10,000 children costs
  // about what a level with one does (the "flat in unrelated work" target). Values are
  // unique_ptrs, so nodes do not move when the map grows. It takes string_view keys for
  // lookup without building a std::string.
  using ChildMap = absl::flat_hash_map<std::string, std::unique_ptr<Node>>;
  // Debian's Abseil has its own string_view type (built without std::string_view).
  static absl::string_view key(std::string_view level) { return {level.data(), level.size()}; }
  struct Node {
    ChildMap children;
    std::unique_ptr<Node> plus;  // the '+' child
    std::unique_ptr<Node> hash;  // the '#' child (a leaf: '#' is always last)
    std::vector<Subscriber> subscribers;
    bool empty() const { return children.empty() && !plus && !hash && subscribers.empty(); }
  };

  // Each topic level is looked up in the children of every branch that reaches its depth
  // (the exact child and the '+' child's, often several): its hash is computed once.
  class LevelHashes {
   public:
    size_t get(size_t depth, std::string_view level, const ChildMap::hasher& hasher) {
      if (depth >= kCached) return hasher(key(level));
      if ((known_ & (1u << depth)) == 0) {
        value_[depth] = hasher(key(level));
        known_ |= 1u << depth;
      }
      return value_[depth];
    }

   private:
    static constexpr size_t kCached = 16;
    size_t value_[kCached];
    uint32_t known_ = 0;
  };

  template <typename Visitor>
  static void match_from(const Node& node, std::string_view rest, bool at_end, size_t depth,
                         bool dollar_topic, LevelHashes& hashes, Visitor& visitor);
  bool unsubscribe_from(Node* node, std::string_view rest, bool at_end, const Subscriber& owner);

  std::unique_ptr<Node> root_;
  size_t subscription_count_ = 0;
};

// --- template implementation ----------------------------------------------------------------

template <typename Visitor>
void TopicTree::match(std::string_view topic, Visitor&& visitor) const {
  bool dollar = !topic.empty() && topic.front() == '$';
  LevelHashes hashes;
  match_from(*root_, topic, false, 0, dollar, hashes, visitor);
}

// `rest` is the part of the topic not yet consumed; `at_end` is true once every level has
// been consumed (distinguishes "a/" — one more empty level — from "a").
template <typename Visitor>
void TopicTree::match_from(const Node& node, std::string_view rest, bool at_end, size_t depth,
                           bool dollar_topic, LevelHashes& hashes, Visitor& visitor) {
  bool wildcards_allowed = !(depth == 0 && dollar_topic);
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
    auto it =
        node.children.find(key(level), hashes.get(depth, level, node.children.hash_function()));
    if (it != node.children.end()) {
      match_from(*it->second, next, next_at_end, depth + 1, dollar_topic, hashes, visitor);
    }
  }
  if (node.plus && wildcards_allowed) {
    match_from(*node.plus, next, next_at_end, depth + 1, dollar_topic, hashes, visitor);
  }
}

}  // namespace topicdb::broker
