# Backend selection. backends/backends.cmake lists every backend lastbyte
# knows; each one whose library is installed is built as its own static
# library (lastbyte::backend_<name>) so that tests and the conformance runner
# can load them all into one process; LASTBYTE_BACKEND picks the one
# lastbyte::lastbyte links.

# One entry of backends/backends.cmake (see the fields there). A macro: the
# variables it sets are the top-level scope's, seen by every subdirectory.
macro(lastbyte_known_backend name)
  cmake_parse_arguments(_lkb "OPT_IN" "PACKAGE;PC;PC_LIBS;SONAMES" "FIND;TARGETS" ${ARGN})
  if(NOT _lkb_PACKAGE OR NOT _lkb_FIND OR NOT _lkb_TARGETS OR NOT _lkb_SONAMES)
    message(FATAL_ERROR "backends/backends.cmake: ${name} needs PACKAGE, FIND, TARGETS and SONAMES")
  endif()
  # OPT_IN: a backend still being brought in (docs/decisions.md): known, and
  # built only where asked for (LASTBYTE_OPT_IN_BACKENDS, or chosen as
  # LASTBYTE_BACKEND); otherwise configure says how to turn it on.
  if(_lkb_OPT_IN AND NOT "${name}" IN_LIST LASTBYTE_OPT_IN_BACKENDS AND NOT "${name}" STREQUAL "${LASTBYTE_BACKEND}")
    list(APPEND LASTBYTE_OPT_IN_LEFT_OUT ${name})
  else()
    list(APPEND LASTBYTE_KNOWN_BACKENDS ${name})
  endif()
  set(LASTBYTE_BACKEND_${name}_PACKAGE ${_lkb_PACKAGE})
  set(LASTBYTE_BACKEND_${name}_FIND ${_lkb_FIND})
  set(LASTBYTE_BACKEND_${name}_TARGETS ${_lkb_TARGETS})
  set(LASTBYTE_BACKEND_${name}_PC "${_lkb_PC}")
  set(LASTBYTE_BACKEND_${name}_PC_LIBS "${_lkb_PC_LIBS}")
  set(LASTBYTE_BACKEND_${name}_SONAMES "${_lkb_SONAMES}")
endmacro()

set(LASTBYTE_KNOWN_BACKENDS "")
set(LASTBYTE_OPT_IN_LEFT_OUT "")
# Also read from the environment, which wins when it is set (as .ci/deps.sh
# reads it, so that the packages it installs and the backends configure
# builds agree): LASTBYTE_OPT_IN_BACKENDS=rustls bash tests/run.sh.
if(DEFINED ENV{LASTBYTE_OPT_IN_BACKENDS})
  string(REPLACE " " ";" _opt_in_from_env "$ENV{LASTBYTE_OPT_IN_BACKENDS}")
  set(LASTBYTE_OPT_IN_BACKENDS "${_opt_in_from_env}" CACHE STRING
      "Opt-in backends of backends/backends.cmake to build too (e.g. rustls)" FORCE)
else()
  set(LASTBYTE_OPT_IN_BACKENDS "" CACHE STRING "Opt-in backends of backends/backends.cmake to build too (e.g. rustls)")
endif()
include(${PROJECT_SOURCE_DIR}/backends/backends.cmake)
foreach(_name IN LISTS LASTBYTE_OPT_IN_LEFT_OUT)
  message(STATUS "lastbyte: backend ${_name} not built (opt-in while it is brought in: "
                 "-DLASTBYTE_OPT_IN_BACKENDS=${_name}, after apt-get install -y ${LASTBYTE_BACKEND_${_name}_PACKAGE})")
endforeach()
list(GET LASTBYTE_KNOWN_BACKENDS 0 LASTBYTE_DEFAULT_BACKEND)  # the list's first entry
# A backend's folder holds the find module its library needs when CMake has
# none (backends/<name>/Find<Package>.cmake).
foreach(_name IN LISTS LASTBYTE_KNOWN_BACKENDS)
  list(APPEND CMAKE_MODULE_PATH "${PROJECT_SOURCE_DIR}/backends/${_name}")
endforeach()
list(JOIN LASTBYTE_KNOWN_BACKENDS ", " LASTBYTE_KNOWN_BACKENDS_TEXT)    # for messages
list(JOIN LASTBYTE_KNOWN_BACKENDS "|" LASTBYTE_KNOWN_BACKENDS_CHOICE)   # -DLASTBYTE_BACKEND=a|b|c
set(LASTBYTE_KNOWN_SONAMES "")
foreach(_name IN LISTS LASTBYTE_KNOWN_BACKENDS)
  list(APPEND LASTBYTE_KNOWN_SONAMES "${LASTBYTE_BACKEND_${_name}_SONAMES}")
endforeach()
list(JOIN LASTBYTE_KNOWN_SONAMES "|" LASTBYTE_KNOWN_SONAMES)

function(lastbyte_check_backend_name)
  if(NOT LASTBYTE_BACKEND IN_LIST LASTBYTE_KNOWN_BACKENDS)
    message(FATAL_ERROR "Unknown LASTBYTE_BACKEND \"${LASTBYTE_BACKEND}\". Choose one of: "
                        "${LASTBYTE_KNOWN_BACKENDS_TEXT} (for example -DLASTBYTE_BACKEND=${LASTBYTE_DEFAULT_BACKEND}).")
  endif()
endfunction()

# Finds every known backend's library; builds the adapter of each one found
# (backends/<name>/CMakeLists.txt), and explains each one missing.
function(lastbyte_add_known_backends)
  foreach(name IN LISTS LASTBYTE_KNOWN_BACKENDS)
    set(find ${LASTBYTE_BACKEND_${name}_FIND})
    list(GET find 0 package)
    find_package(${find})
    if(NOT ${package}_FOUND)
      list(JOIN find " " what)
      lastbyte_backend_unavailable(${name} "${what} development files not found")
    elseif(NOT EXISTS "${PROJECT_SOURCE_DIR}/backends/${name}/CMakeLists.txt")
      lastbyte_backend_unavailable(${name} "backends/${name}/ has no adapter")
    else()
      add_subdirectory(${PROJECT_SOURCE_DIR}/backends/${name} ${PROJECT_BINARY_DIR}/backends/${name})
    endif()
  endforeach()
endfunction()

# Called by backends/<name>/CMakeLists.txt: the static library
# lastbyte::backend_<name> (public header under include/) on top of the core
# and the TLS library's imported targets (TARGETS in backends/backends.cmake).
function(lastbyte_add_backend name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  set(target lastbyte_backend_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(lastbyte::backend_${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES OUTPUT_NAME lastbyte-backend-${name} EXPORT_NAME backend_${name})
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC lastbyte_core ${LASTBYTE_BACKEND_${name}_TARGETS})
  lastbyte_set_warnings(${target})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  set_property(GLOBAL APPEND PROPERTY LASTBYTE_BUILT_BACKENDS ${name})
endfunction()

# Called by backends/<name>/CMakeLists.txt: the library driven directly,
# without lastbyte, in backends/<name>/direct/. <name>_direct.hpp holds the
# setup both consumers share; NATIVE is native mode's driver (defines
# `const Library& <name>()`, conformance/native/native.hpp) and BENCH the
# benchmarks' direct baseline and AEAD (registers itself, bench/pipes.hpp).
# conformance/ and bench/ build whatever was registered here (global
# properties), so neither names a library.
function(lastbyte_add_direct_driver name)
  cmake_parse_arguments(ARG "" "NATIVE;BENCH" "" ${ARGN})
  if(NOT ARG_NATIVE OR NOT ARG_BENCH)
    message(FATAL_ERROR "lastbyte_add_direct_driver(${name}) needs NATIVE and BENCH sources")
  endif()
  set_property(GLOBAL APPEND PROPERTY LASTBYTE_DIRECT_DRIVERS ${name})
  set_property(GLOBAL PROPERTY LASTBYTE_DIRECT_${name}_NATIVE ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_NATIVE})
  set_property(GLOBAL PROPERTY LASTBYTE_DIRECT_${name}_BENCH ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_BENCH})
  get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_NATIVE} DIRECTORY)
  set_property(GLOBAL APPEND PROPERTY LASTBYTE_DIRECT_INCLUDE_DIRS ${folder})
endfunction()

# The direct drivers registered for one consumer (NATIVE or BENCH), in the
# order of backends/backends.cmake: sets <out>_NAMES, <out>_SOURCES,
# <out>_INCLUDE_DIRS and <out>_TARGETS (the libraries' imported targets) in
# the caller's scope.
function(lastbyte_direct_drivers consumer out)
  get_property(drivers GLOBAL PROPERTY LASTBYTE_DIRECT_DRIVERS)
  get_property(include_dirs GLOBAL PROPERTY LASTBYTE_DIRECT_INCLUDE_DIRS)
  set(names "")
  set(sources "")
  set(targets "")
  foreach(name IN LISTS LASTBYTE_KNOWN_BACKENDS)
    if(name IN_LIST drivers)
      get_property(source GLOBAL PROPERTY LASTBYTE_DIRECT_${name}_${consumer})
      list(APPEND names ${name})
      list(APPEND sources ${source})
      list(APPEND targets ${LASTBYTE_BACKEND_${name}_TARGETS})
    endif()
  endforeach()
  set(${out}_NAMES "${names}" PARENT_SCOPE)
  set(${out}_SOURCES "${sources}" PARENT_SCOPE)
  set(${out}_INCLUDE_DIRS "${include_dirs}" PARENT_SCOPE)
  set(${out}_TARGETS "${targets}" PARENT_SCOPE)
endfunction()

# Called by backends/<name>/CMakeLists.txt: tests about this backend alone
# (SOURCES, under its tests/), compiled into lastbyte-tests when the tests
# are built. WHITE_BOX: they include the adapter's internal headers (the
# backend's folder is on their include path).
function(lastbyte_add_backend_test name)
  cmake_parse_arguments(ARG "WHITE_BOX" "" "SOURCES" ${ARGN})
  foreach(source IN LISTS ARG_SOURCES)
    set_property(GLOBAL APPEND PROPERTY LASTBYTE_BACKEND_TEST_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${source})
  endforeach()
  if(ARG_WHITE_BOX)
    set_property(GLOBAL APPEND PROPERTY LASTBYTE_BACKEND_TEST_INCLUDE_DIRS ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
endfunction()

# A backend whose library is missing: fatal only if it is the selected one.
function(lastbyte_backend_unavailable name why)
  set(package ${LASTBYTE_BACKEND_${name}_PACKAGE})
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
