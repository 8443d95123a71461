// The 100,000 "other" subscriptions of the fanin_with_100k_subs scenario, shared by the load
// tool and the topic-tree micro benchmark so that both measure the same tree shape.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace topicdb::bench {

// Filters that share first levels with the fan-in topics bench/fanin/P/data (P = 0..9) and
// include '+' and '#', none of which matches any of those topics.
inline std::vector<std::string> non_matching_filters(size_t connection, size_t count) {
  std::vector<std::string> filters;
  filters.reserve(count);
  for (size_t k = 0; k < count; ++k) {
    std::string tag = "c" + std::to_string(connection) + "k" + std::to_string(k);
    std::string p = std::to_string((connection * count + k) % 10);
    switch (k % 10) {
      case 0:
        filters.push_back("bench/fanin/" + p + "/data/" + tag);
        break;
      case 1:
        filters.push_back("bench/fanin/" + p + "/" + tag);
        break;
      case 2:
        filters.push_back("bench/fanin/" + tag + "/data");
        break;
      case 3:
        filters.push_back("bench/fanin/+/" + tag);
        break;
      case 4:
        filters.push_back("bench/fanin/+/data/" + tag);
        break;
      case 5:
        filters.push_back("bench/+/" + tag + "/data");
        break;
      case 6:
        filters.push_back("bench/fanin/" + tag + "/#");
        break;
      case 7:
        filters.push_back("bench/" + tag + "/#");
        break;
      case 8:
        filters.push_back("+/" + tag + "/+/data");
        break;
      default:
        filters.push_back("bench/fanin/" + p + "/data/" + tag + "/#");
        break;
    }
  }
  return filters;
}

}  // namespace topicdb::bench
