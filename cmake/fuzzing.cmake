# -DTOPICDB_FUZZ=ON: everything is compiled with libFuzzer's coverage instrumentation under
# ASan+UBSan (UBSan findings abort, so libFuzzer saves the input); fuzz/CMakeLists.txt links
# the targets with -fsanitize=fuzzer. Use a build directory of its own (scripts/fuzz.sh).
if(TOPICDB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TOPICDB_FUZZ needs clang (libFuzzer): configure with "
                        "CC=clang-14 CXX=clang++-14, see scripts/fuzz.sh")
  endif()
  if(TOPICDB_SANITIZE)
    message(FATAL_ERROR "TOPICDB_FUZZ sets its own sanitizers; leave TOPICDB_SANITIZE empty")
  endif()
  # As for the sanitizer build (sanitizers.cmake): -O1 with line tables.
  set(CMAKE_C_FLAGS_RELWITHDEBINFO "-O1 -g1 -DNDEBUG")
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -g1 -DNDEBUG")
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
