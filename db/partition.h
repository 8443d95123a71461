// partition_of(entity, id): which of the 256 partitions a record belongs to. The hash is fixed
// by this file (not a seeded hash such as absl::Hash), so every process on every platform,
// now and in a future cluster, puts a record in the same partition.
#pragma once

#include <cstdint>
#include <string_view>

namespace topicdb::db {

inline constexpr int kPartitionCount = 256;

// FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the entity's bytes,
// one 0x00 byte, then the id's bytes; the partition is that hash mod 256 (its low byte).
// The 0x00 separator keeps ("ab","c") and ("a","bc") apart: entity names cannot hold NUL.
uint64_t record_hash(std::string_view entity, std::string_view id);
int partition_of(std::string_view entity, std::string_view id);

// FNV-1a 64 continued over `bytes` from `hash` (start with kFnvOffsetBasis).
inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
inline uint64_t fnv1a_64(uint64_t hash, std::string_view bytes) {
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

}  // namespace topicdb::db
