// The shape of the $DB topic space as MQTT clients see it: which filters a client may
// subscribe to (events and its own answers, never requests), where a 3.1.1 client's answer
// goes, and where events go.
#pragma once

#include <string>
#include <string_view>

namespace topicdb::db::adapter {

constexpr std::string_view kDbPrefix = "$DB/";
// 3.1.1 and 3.1 clients have no response topic: their answers go to
// "$DB/_reply/" + the request topic without "$DB/", to that client only.
constexpr std::string_view kReplyPrefix = "$DB/_reply/";

// Whether a client may subscribe to `filter` (a whole filter starting with "$DB"): only
// when it can match an event topic ("$DB/{entity}/events/{id}") or an answer topic
// ("$DB/_reply/..."). "$DB/#" and "$DB/+/events/#" qualify; a filter that can only match
// request topics is refused, since requests never reach subscribers.
bool may_subscribe(std::string_view filter);

// "$DB/_reply/users/create" for the request path "users/create".
std::string reply_topic(std::string_view request_path);

}  // namespace topicdb::db::adapter
