# Use ccache when it is installed: CI builds from a clean clone, and repeated local builds
# (plain and sanitized) share the cache.
find_program(TOPICDB_CCACHE ccache)
if(TOPICDB_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${TOPICDB_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${TOPICDB_CCACHE})
endif()
