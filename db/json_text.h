// JSON to text for the store and its answers: never throws (invalid UTF-8, which parsed
// requests cannot contain, is replaced rather than raised across a thread boundary).
#pragma once

#include <string>

#include "db/answer.h"

namespace topicdb::db {

inline std::string dump_json(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace topicdb::db
