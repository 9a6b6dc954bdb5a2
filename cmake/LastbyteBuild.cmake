# Warnings and sanitizers for lastbyte's own targets.

function(lastbyte_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                                           $<$<BOOL:${LASTBYTE_WERROR}>:-Werror>)
endfunction()

if(LASTBYTE_SANITIZE)
  add_compile_options(-fsanitize=${LASTBYTE_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${LASTBYTE_SANITIZE})
endif()

# Fuzz builds: every target of the project carries libFuzzer's coverage
# instrumentation (the TLS libraries are Debian's, uninstrumented); only the
# fuzz executables link libFuzzer itself (tests/fuzz/CMakeLists.txt).
if(LASTBYTE_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LASTBYTE_BUILD_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++ "
                        "or use the fuzz preset (cmake --preset fuzz)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()
