#include "storage/durability.h"

#include <string>

namespace topicdb::storage {

std::string_view durability_name(Durability durability) {
  switch (durability) {
    case Durability::kImmediate:
      return "immediate";
    case Durability::kPeriodic:
      return "periodic";
    case Durability::kNone:
      return "none";
  }
  return "immediate";
}

Result<Durability> parse_durability(std::string_view text) {
  for (Durability d : {Durability::kImmediate, Durability::kPeriodic, Durability::kNone}) {
    if (text == durability_name(d)) return d;
  }
  return Status::invalid_argument("--durability expects immediate, periodic or none, got '" +
                                  std::string(text) + "'");
}

}  // namespace topicdb::storage
