#include "db/partition.h"

namespace topicdb::db {

uint64_t record_hash(std::string_view entity, std::string_view id) {
  uint64_t hash = fnv1a_64(kFnvOffsetBasis, entity);
  hash = fnv1a_64(hash, std::string_view("\0", 1));
  return fnv1a_64(hash, id);
}

int partition_of(std::string_view entity, std::string_view id) {
  return static_cast<int>(record_hash(entity, id) % kPartitionCount);
}

}  // namespace topicdb::db
