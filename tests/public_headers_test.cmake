# Every public header (core/include/lastbyte/*.hpp and each backend's
# lastbyte/backends/<name>.hpp, what an application includes) compiles on
# its own and never pulls in the adapter-facing seam
# (core/include/lastbyte/engine/): an application compiles Connection,
# Context, Config and Verdict, not Engine or the policy helpers (issue 21).
#   cmake -DCXX=<compiler> -DINCLUDE=<core/include> -DBACKENDS=<backends/> -P public_headers_test.cmake
file(GLOB core_headers "${INCLUDE}/lastbyte/*.hpp")
file(GLOB backend_headers "${BACKENDS}/*/include/lastbyte/backends/*.hpp")
list(LENGTH core_headers core_count)
list(LENGTH backend_headers backend_count)
if(core_count LESS 8 OR backend_count LESS 1)
  message(FATAL_ERROR "found only ${core_count} core and ${backend_count} backend public headers: "
                      "are INCLUDE (${INCLUDE}) and BACKENDS (${BACKENDS}) right?")
endif()
set(headers ${core_headers} ${backend_headers})
list(LENGTH headers count)
set(failed "")
foreach(header IN LISTS headers)
  # -H lists every header the compiler opens, one per line, on stderr.
  execute_process(COMMAND "${CXX}" -std=c++20 -x c++ -fsyntax-only -H -I "${INCLUDE}" "${header}"
                  RESULT_VARIABLE rc ERROR_VARIABLE opened OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(SEND_ERROR "${header} does not compile on its own:\n${opened}")
    list(APPEND failed ${header})
  elseif(opened MATCHES "lastbyte/engine/([a-z_]+\\.hpp)")
    message(SEND_ERROR "${header} includes the engine seam (lastbyte/engine/${CMAKE_MATCH_1}); "
                       "public headers must not: move what applications need into a public header")
    list(APPEND failed ${header})
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "public headers that break the rule: ${failed}")
endif()
message(STATUS "${count} public headers compile alone without the engine seam")
