// Rules on reserved topics that no Authorizer (ACL file, plugin) can lift. Today: a client
// may subscribe under "$response/" only within its own Response Information prefix
// "$response/{client id}/" (MQTT 5 §4.10), so nobody reads another client's answers.
// ("$SYS/" is read-only through its reserved-topic handler, sys_topics.h.)
#pragma once

#include <string_view>

#include "base/status.h"

namespace topicdb::broker {

// Ok unless `filter` could match a topic under another client's response prefix. A client
// id containing '+' or '#' would turn its own prefix into a wildcard, so such a client may
// not subscribe under "$response/" at all.
Status check_response_subscription(std::string_view client_id, std::string_view filter);

}  // namespace topicdb::broker
