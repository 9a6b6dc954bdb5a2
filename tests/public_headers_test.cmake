# Every public header (core/include/lastbyte/*.hpp, what an application
# includes) compiles on its own and never pulls in the adapter-facing seam
# (core/include/lastbyte/engine/): an application compiles Connection,
# Context, Config and Verdict, not Engine or the policy helpers (issue 21).
#   cmake -DCXX=<compiler> -DINCLUDE=<core/include> -P public_headers_test.cmake
file(GLOB headers RELATIVE "${INCLUDE}" "${INCLUDE}/lastbyte/*.hpp")
list(LENGTH headers count)
if(count LESS 8)
  message(FATAL_ERROR "found only ${count} public headers under ${INCLUDE}/lastbyte: is INCLUDE right?")
endif()
set(failed "")
foreach(header IN LISTS headers)
  # -H lists every header the compiler opens, one per line, on stderr.
  execute_process(COMMAND "${CXX}" -std=c++20 -x c++ -fsyntax-only -H -I "${INCLUDE}" "${INCLUDE}/${header}"
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
