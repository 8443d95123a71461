#include "broker/protected_topics.h"

#include <string>

#include "broker/reserved_names.h"

namespace topicdb::broker {

Status check_response_subscription(std::string_view client_id, std::string_view filter) {
  // Wildcards in the first level never match a topic starting with '$' (MQTT-4.7.2-1), so
  // only filters that spell out "$response" can reach a response topic.
  const std::string_view prefix = reserved::kResponsePrefix;  // "$response/"
  const std::string_view first_level = prefix.substr(0, prefix.size() - 1);
  if (filter.substr(0, filter.find('/')) != first_level) return Status::ok();
  const bool usable_id = !client_id.empty() && client_id.find_first_of("+#") == std::string::npos;
  if (usable_id) {
    std::string own = std::string(prefix) + std::string(client_id);
    if (filter == own || filter.starts_with(own + "/")) return Status::ok();
  }
  return Status::permission_denied("only the client itself may subscribe to its response topics");
}

}  // namespace topicdb::broker
