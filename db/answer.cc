#include "db/answer.h"

namespace topicdb::db {

std::string Answer::to_envelope(const std::optional<std::string>& request_id) const {
  Json envelope = Json::object();
  if (is_ok()) {
    envelope["status"] = "ok";
    envelope["data"] = data;
  } else {
    envelope["status"] = "error";
    envelope["code"] = code;
    envelope["message"] = message;
    if (!data.is_null()) envelope["data"] = data;
  }
  if (request_id) envelope["request_id"] = *request_id;
  // Invalid UTF-8 cannot reach here (requests are parsed first), but never throw.
  return envelope.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace topicdb::db
