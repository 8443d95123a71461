#include "broker/will_schedule.h"

namespace topicdb::broker {

void WillSchedule::schedule(int64_t due_ms, Will will) {
  std::string client_id = will.client_id;
  waiting_[std::move(client_id)] = {due_ms, std::move(will)};
}

std::optional<Will> WillSchedule::take(const std::string& client_id) {
  auto it = waiting_.find(client_id);
  if (it == waiting_.end()) return std::nullopt;
  Will will = std::move(it->second.will);
  waiting_.erase(it);
  return will;
}

std::vector<Will> WillSchedule::take_due(int64_t now_ms) {
  std::vector<Will> due;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.due_ms <= now_ms) {
      due.push_back(std::move(it->second.will));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

}  // namespace topicdb::broker
