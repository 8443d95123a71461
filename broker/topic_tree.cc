#include "broker/topic_tree.h"

#include <algorithm>

namespace topicdb::broker {

TopicTree::TopicTree() : root_(std::make_unique<Node>()) {}
TopicTree::~TopicTree() = default;

bool TopicTree::subscribe(std::string_view filter, const Subscriber& subscriber) {
  Node* node = root_.get();
  std::string_view rest = filter;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    std::unique_ptr<Node>* slot;
    if (level == "+") {
      slot = &node->plus;
    } else if (level == "#") {
      slot = &node->hash;
    } else {
      auto it = node->children.find(key(level));
      if (it == node->children.end()) {
        it = node->children.emplace(std::string(level), nullptr).first;
      }
      slot = &it->second;
    }
    if (!*slot) *slot = std::make_unique<Node>();
    node = slot->get();
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  for (Subscriber& existing : node->subscribers) {
    if (existing.same_owner(subscriber)) {
      existing = subscriber;
      return true;
    }
  }
  node->subscribers.push_back(subscriber);
  ++subscription_count_;
  return false;
}

bool TopicTree::unsubscribe(std::string_view filter, const Subscriber& owner) {
  return unsubscribe_from(root_.get(), filter, false, owner);
}

// Walks down the filter's levels and prunes nodes left empty on the way back up, so the tree
// does not keep the shape of every filter ever subscribed.
bool TopicTree::unsubscribe_from(Node* node, std::string_view rest, bool at_end,
                                 const Subscriber& owner) {
  if (at_end) {
    auto it = std::find_if(node->subscribers.begin(), node->subscribers.end(),
                           [&](const Subscriber& s) { return s.same_owner(owner); });
    if (it == node->subscribers.end()) return false;
    node->subscribers.erase(it);
    --subscription_count_;
    return true;
  }
  size_t slash = rest.find('/');
  std::string_view level = rest.substr(0, slash);
  std::string_view next =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  bool next_at_end = slash == std::string_view::npos;
  std::unique_ptr<Node>* slot = nullptr;
  if (level == "+") {
    slot = &node->plus;
  } else if (level == "#") {
    slot = &node->hash;
  } else {
    auto it = node->children.find(key(level));
    if (it == node->children.end()) return false;
    slot = &it->second;
  }
  if (!*slot) return false;
  bool removed = unsubscribe_from(slot->get(), next, next_at_end, owner);
  if (removed && (*slot)->empty()) {
    if (level == "+") {
      node->plus.reset();
    } else if (level == "#") {
      node->hash.reset();
    } else {
      node->children.erase(node->children.find(key(level)));
    }
  }
  return removed;
}

}  // namespace topicdb::broker
