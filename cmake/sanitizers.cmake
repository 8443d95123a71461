# -DTOPICDB_SANITIZE=address,undefined builds everything (tests included) with those
# sanitizers; UBSan findings abort so that ctest sees them as failures.
if(TOPICDB_SANITIZE)
  add_compile_options(-fsanitize=${TOPICDB_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TOPICDB_SANITIZE})
endif()
