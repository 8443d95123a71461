#include "broker/shared_subscriptions.h"

#include <algorithm>

#include "broker/reserved_names.h"
#include "broker/session.h"

namespace topicdb::broker {

using reserved::kSharePrefix;

Result<std::optional<SharedFilter>> parse_shared_filter(std::string_view text) {
  if (text.substr(0, kSharePrefix.size()) != kSharePrefix) return std::optional<SharedFilter>();
  std::string_view rest = text.substr(kSharePrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return Status::protocol_error("shared subscription '" + std::string(text) +
                                  "' needs $share/{group}/{filter}");
  }
  SharedFilter shared{rest.substr(0, slash), rest.substr(slash + 1)};
  if (shared.group.find_first_of("+#") != std::string_view::npos) {
    return Status::protocol_error("shared subscription group must not contain '+' or '#'");
  }
  if (shared.filter.empty()) {
    return Status::protocol_error("shared subscription '" + std::string(text) + "' has no filter");
  }
  return std::optional<SharedFilter>(shared);
}

void SharedGroup::add(const Member& member) {
  for (Member& m : members_) {
    if (m.session == member.session) {
      m = member;
      return;
    }
  }
  members_.push_back(member);
}

bool SharedGroup::remove(const Session* session) {
  auto it = std::find_if(members_.begin(), members_.end(),
                         [&](const Member& m) { return m.session == session; });
  if (it == members_.end()) return false;
  size_t index = static_cast<size_t>(it - members_.begin());
  members_.erase(it);
  if (next_ > index) --next_;  // keep the rotation where it was
  if (next_ >= members_.size()) next_ = 0;
  return true;
}

const SharedGroup::Member* SharedGroup::pick(
    const Session* exclude, bool allow_offline,
    const std::function<bool(const std::string*)>* eligible) {
  const size_t n = members_.size();
  const Member* fallback = nullptr;
  for (size_t i = 0; i < n; ++i) {
    size_t index = (next_ + i) % n;
    const Member& m = members_[index];
    if (m.session == exclude) continue;
    if (eligible != nullptr && !(*eligible)(m.session->username())) continue;
    if (m.session->connection() != nullptr) {
      next_ = (index + 1) % n;
      return &m;
    }
    if (fallback == nullptr) fallback = &m;
  }
  if (allow_offline && fallback != nullptr) {
    next_ = (static_cast<size_t>(fallback - members_.data()) + 1) % n;
    return fallback;
  }
  return nullptr;
}

}  // namespace topicdb::broker
