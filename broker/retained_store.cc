#include "broker/retained_store.h"

#include <vector>

namespace topicdb::broker {

namespace {
// Splits off the first level of a topic or filter.
std::string_view first_level_of(std::string_view s, std::string_view* rest, bool* last) {
  size_t slash = s.find('/');
  *last = slash == std::string_view::npos;
  *rest = *last ? std::string_view() : s.substr(slash + 1);
  return s.substr(0, slash);
}
}  // namespace

RetainedStore::RetainedStore() : root_(std::make_unique<Node>()) {}
RetainedStore::~RetainedStore() = default;

void RetainedStore::set(MessagePtr message) {
  Node* node = root_.get();
  std::string_view rest = message->topic;
  while (true) {
    bool last;
    std::string_view level = first_level_of(rest, &rest, &last);
    auto it = node->children.find(level);
    if (it == node->children.end()) {
      it = node->children.emplace(std::string(level), std::make_unique<Node>()).first;
    }
    node = it->second.get();
    if (last) break;
  }
  if (!node->message) ++size_;
  node->message = std::move(message);
}

bool RetainedStore::erase(std::string_view topic) {
  // Remember the path so empty nodes can be pruned bottom-up.
  std::vector<std::pair<Node*, std::string_view>> path;
  Node* node = root_.get();
  std::string_view rest = topic;
  while (true) {
    bool last;
    std::string_view level = first_level_of(rest, &rest, &last);
    auto it = node->children.find(level);
    if (it == node->children.end()) return false;
    path.emplace_back(node, level);
    node = it->second.get();
    if (last) break;
  }
  if (!node->message) return false;
  node->message.reset();
  --size_;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    auto child = it->first->children.find(it->second);
    if (child->second->message || !child->second->children.empty()) break;
    it->first->children.erase(child);
  }
  return true;
}

MessagePtr RetainedStore::find(std::string_view topic) const {
  const Node* node = root_.get();
  std::string_view rest = topic;
  while (true) {
    bool last;
    std::string_view level = first_level_of(rest, &rest, &last);
    auto it = node->children.find(level);
    if (it == node->children.end()) return nullptr;
    node = it->second.get();
    if (last) return node->message;
  }
}

void RetainedStore::match_from(const Node& node, std::string_view filter_rest, bool first_level,
                               const Sink& sink) {
  bool last;
  std::string_view rest;
  std::string_view level = first_level_of(filter_rest, &rest, &last);
  if (level == "#") {
    // '#' matches the parent level too: "a/#" matches "a" (MQTT-4.7.1-2).
    if (!first_level && node.message) sink(node.message);
    visit_subtree(node, first_level, sink);
    return;
  }
  auto descend = [&](const Node& child) {
    if (last) {
      if (child.message) sink(child.message);
      // "a/+" does not match "a/b/c", but "a/#" handled above; a filter "a/b" ending here
      // may still be followed by "/#" — not the case since `last`.
    } else {
      match_from(child, rest, false, sink);
    }
  };
  if (level == "+") {
    for (const auto& [name, child] : node.children) {
      if (first_level && !name.empty() && name.front() == '$') continue;  // MQTT-4.7.2-1
      descend(*child);
    }
  } else {
    auto it = node.children.find(level);
    if (it != node.children.end()) descend(*it->second);
  }
}

void RetainedStore::visit_subtree(const Node& node, bool first_level, const Sink& sink) {
  for (const auto& [name, child] : node.children) {
    if (first_level && !name.empty() && name.front() == '$') continue;  // MQTT-4.7.2-1
    if (child->message) sink(child->message);
    visit_subtree(*child, false, sink);
  }
}

}  // namespace topicdb::broker
