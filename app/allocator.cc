#include "app/allocator.h"

#include <cstddef>

// jemalloc's control entry point, declared weak: it resolves only when the binary is linked
// with jemalloc (TOPICDB_ALLOCATOR=jemalloc), so this file needs neither its header nor a
// build flag, and the libraries the tests link stay allocator-neutral.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace topicdb::app {

std::string allocator_name() {
  if (mallctl == nullptr) return "system malloc";
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) != 0 ||
      version == nullptr) {
    return "jemalloc";
  }
  return std::string("jemalloc ") + version;
}

}  // namespace topicdb::app
