# Backend selection. Every backend whose library is installed is built as its
# own static library (lastbyte::backend_<name>) so that tests and the
# conformance runner can load them all into one process; LASTBYTE_BACKEND picks
# the one lastbyte::lastbyte links.

set(LASTBYTE_KNOWN_BACKENDS openssl mbedtls wolfssl)
set(LASTBYTE_DEBIAN_PACKAGE_openssl libssl-dev)
set(LASTBYTE_DEBIAN_PACKAGE_mbedtls libmbedtls-dev)
set(LASTBYTE_DEBIAN_PACKAGE_wolfssl libwolfssl-dev)

function(lastbyte_check_backend_name)
  if(NOT LASTBYTE_BACKEND IN_LIST LASTBYTE_KNOWN_BACKENDS)
    list(JOIN LASTBYTE_KNOWN_BACKENDS ", " known)
    message(FATAL_ERROR "Unknown LASTBYTE_BACKEND \"${LASTBYTE_BACKEND}\". Choose one of: ${known} "
                        "(for example -DLASTBYTE_BACKEND=openssl).")
  endif()
endfunction()

# Called by backends/<name>/CMakeLists.txt once its library was found: the
# static library lastbyte::backend_<name> (public header under include/) on
# top of the core and the TLS library's imported targets.
function(lastbyte_add_backend name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target lastbyte_backend_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(lastbyte::backend_${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES OUTPUT_NAME lastbyte-backend-${name} EXPORT_NAME backend_${name})
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC lastbyte_core ${ARG_LIBRARIES})
  lastbyte_set_warnings(${target})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  set_property(GLOBAL APPEND PROPERTY LASTBYTE_BUILT_BACKENDS ${name})
endfunction()

# Called by backends/<name>/CMakeLists.txt when its library is missing: fatal
# only if it is the selected backend.
function(lastbyte_backend_unavailable name why)
  set(package ${LASTBYTE_DEBIAN_PACKAGE_${name}})
  if(name STREQUAL LASTBYTE_BACKEND)
    message(FATAL_ERROR "LASTBYTE_BACKEND=${name}: ${why}. Install it with: apt-get install -y ${package} "
                        "(or choose another backend with -DLASTBYTE_BACKEND=...).")
  endif()
  message(STATUS "lastbyte: backend ${name} not built (${why}; apt-get install -y ${package})")
endfunction()

function(lastbyte_check_selected_backend_built)
  get_property(built GLOBAL PROPERTY LASTBYTE_BUILT_BACKENDS)
  if(NOT LASTBYTE_BACKEND IN_LIST built)
    message(FATAL_ERROR "LASTBYTE_BACKEND=${LASTBYTE_BACKEND}: this version of lastbyte has no adapter for it yet "
                        "(built: ${built}).")
  endif()
  message(STATUS "lastbyte: backend ${LASTBYTE_BACKEND} selected; built backends: ${built}")
endfunction()
