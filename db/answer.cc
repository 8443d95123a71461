#include "db/answer.h"

#include "db/json_text.h"

namespace topicdb::db {

std::string Answer::to_envelope(const std::optional<std::string>& request_id) const {
  // Written by hand so "status" comes first, as in MQDB's answers (nlohmann's objects sort
  // their keys), and the data is serialized once.
  std::string out;
  if (is_ok()) {
    out = "{\"status\":\"ok\",\"data\":";
    out += dump_json(data);
  } else {
    out = "{\"status\":\"error\",\"code\":";
    out += std::to_string(code);
    out += ",\"message\":";
    out += dump_json(Json(message));
    if (!data.is_null()) {
      out += ",\"data\":";
      out += dump_json(data);
    }
  }
  if (request_id) {
    out += ",\"request_id\":";
    out += dump_json(Json(*request_id));
  }
  out += '}';
  return out;
}

}  // namespace topicdb::db
