#include "db/answer.h"

namespace topicdb::db {

namespace {

// Invalid UTF-8 cannot reach here (requests are parsed first), but never throw.
std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string Answer::to_envelope(const std::optional<std::string>& request_id) const {
  // Written by hand so "status" comes first, as in MQDB's answers (nlohmann's objects sort
  // their keys), and the data is serialized once.
  std::string out;
  if (is_ok()) {
    out = "{\"status\":\"ok\",\"data\":";
    out += dump(data);
  } else {
    out = "{\"status\":\"error\",\"code\":";
    out += std::to_string(code);
    out += ",\"message\":";
    out += dump(Json(message));
    if (!data.is_null()) {
      out += ",\"data\":";
      out += dump(data);
    }
  }
  if (request_id) {
    out += ",\"request_id\":";
    out += dump(Json(*request_id));
  }
  out += '}';
  return out;
}

}  // namespace topicdb::db
