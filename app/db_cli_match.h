// Client-side filtering of change events for `topicdb db watch -f ...` (as MQDB's watch
// does): the event's record (`data`) is tested against the same filters `list` sends.
#pragma once

#include <nlohmann/json.hpp>

namespace topicdb::app {

// True when `record` satisfies every filter in `filters` (an array of {"field","op","value"}
// as parse_filter_expression builds them). Fields are dotted paths; a missing field is null.
// Ordering operators compare numbers with numbers and strings with strings only.
bool record_matches(const nlohmann::json& record, const nlohmann::json& filters);

}  // namespace topicdb::app
