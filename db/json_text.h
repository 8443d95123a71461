// JSON to text for the store and its answers: never throws (invalid UTF-8, which parsed
// requests cannot contain, is replaced rather than raised across a thread boundary).
#pragma once

#include <string>

#include "db/answer.h"

namespace topicdb::db {

// Appends `value` as compact JSON: the same bytes as nlohmann's
// `dump(-1, ' ', false, error_handler_t::replace)` (keys in the object's order, `"\u001f"`
// style escapes, floats in nlohmann's shortest form), which is what stored bodies and
// answers have always held. Written out here because nlohmann's serializer checks every
// byte of every string through its UTF-8 decoder, and a record's dump was ~12% of the store
// thread's instructions per create; plain ASCII strings are now copied whole.
void append_json(std::string* out, const Json& value);

inline std::string dump_json(const Json& value) {
  std::string out;
  out.reserve(256);  // a typical record, without regrowing from 15 bytes
  append_json(&out, value);
  return out;
}

}  // namespace topicdb::db
