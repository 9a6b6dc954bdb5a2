# Finds what backends/rustls/shim needs to build: Debian's Rust toolchain
# (package cargo, which brings rustc) and the crate sources of rustls and its
# dependencies as Debian installs them (package librust-rustls-dev, into
# /usr/share/cargo/registry), at the versions shim/Cargo.lock pins. Nothing
# is downloaded: cargo runs --offline against that registry.
#
# Defines Rustls::shim, an imported static library whose file the build
# makes (backends/rustls/CMakeLists.txt: cargo build), and sets
#   Rustls_FOUND, Rustls_CARGO, Rustls_RUSTC, Rustls_REGISTRY, Rustls_LIBRARY
#
# Debian's cargo is preferred over one elsewhere on PATH (rustup's in
# ~/.cargo/bin): a fresh Debian machine has only /usr/bin/cargo, and the
# crate sources are tested against Debian's rustc.
# Installed with lastbyte (lib/cmake/lastbyte/, no shim sources beside it):
# the shim's archive that cmake --install put beside lastbyte's.
if(NOT EXISTS "${CMAKE_CURRENT_LIST_DIR}/shim/Cargo.lock")
  find_library(Rustls_LIBRARY lastbyte_rustls PATHS "${CMAKE_CURRENT_LIST_DIR}/../.." NO_DEFAULT_PATH)
  include(FindPackageHandleStandardArgs)
  find_package_handle_standard_args(Rustls REQUIRED_VARS Rustls_LIBRARY)
  if(Rustls_FOUND AND NOT TARGET Rustls::shim)
    find_package(Threads REQUIRED)
    add_library(Rustls::shim STATIC IMPORTED)
    set_target_properties(Rustls::shim PROPERTIES IMPORTED_LOCATION "${Rustls_LIBRARY}"
                          INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
  endif()
  return()
endif()

set(Rustls_REGISTRY "/usr/share/cargo/registry" CACHE PATH "Directory of crate sources cargo builds the rustls shim from")
find_program(Rustls_CARGO cargo HINTS /usr/bin NO_DEFAULT_PATH)
find_program(Rustls_CARGO cargo)
get_filename_component(_rustls_bin "${Rustls_CARGO}" DIRECTORY)
find_program(Rustls_RUSTC rustc HINTS "${_rustls_bin}" NO_DEFAULT_PATH)
find_program(Rustls_RUSTC rustc)

# The crates the shim's Cargo.lock pins (the versions Debian 12 ships).
set(_rustls_lock "${CMAKE_CURRENT_LIST_DIR}/shim/Cargo.lock")
file(STRINGS "${_rustls_lock}" _rustls_lines REGEX "^(name|version) = ")
set(_rustls_missing "")
set(_rustls_name "")
foreach(_line IN LISTS _rustls_lines)
  if(_line MATCHES "^name = \"(.*)\"")
    set(_rustls_name "${CMAKE_MATCH_1}")
  elseif(_line MATCHES "^version = \"(.*)\"")
    set(_rustls_crate "${_rustls_name}-${CMAKE_MATCH_1}")
    if(_rustls_name MATCHES "^(rustls|webpki|ring|sct|untrusted|spin|once_cell|libc|cc)$"
       AND NOT EXISTS "${Rustls_REGISTRY}/${_rustls_crate}/Cargo.toml")
      list(APPEND _rustls_missing "${_rustls_crate}")
    endif()
  endif()
endforeach()

set(Rustls_FOUND TRUE)
set(_rustls_why "")
if(NOT Rustls_CARGO OR NOT Rustls_RUSTC)
  set(Rustls_FOUND FALSE)
  list(APPEND _rustls_why "no cargo/rustc (Debian package cargo)")
endif()
if(_rustls_missing)
  set(Rustls_FOUND FALSE)
  list(JOIN _rustls_missing ", " _rustls_list)
  list(APPEND _rustls_why "no crate sources ${_rustls_list} in ${Rustls_REGISTRY} (Debian package librust-rustls-dev)")
endif()
if(NOT Rustls_FOUND)
  list(JOIN _rustls_why "; " _rustls_why)
  if(NOT Rustls_FIND_QUIETLY)
    message(STATUS "Could NOT find Rustls: ${_rustls_why}")
  endif()
  set(Rustls_NOT_FOUND_MESSAGE "${_rustls_why}")
  return()
endif()

set(Rustls_LIBRARY "${PROJECT_BINARY_DIR}/backends/rustls/cargo/release/liblastbyte_rustls.a")
if(NOT TARGET Rustls::shim)
  find_package(Threads REQUIRED)
  add_library(Rustls::shim STATIC IMPORTED GLOBAL)
  # What a Rust static library needs of the C runtime (rustc --print native-static-libs).
  set_target_properties(Rustls::shim PROPERTIES IMPORTED_LOCATION "${Rustls_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/shim"
                        INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
endif()
if(NOT Rustls_FIND_QUIETLY)
  message(STATUS "Found Rustls: ${Rustls_CARGO} (${Rustls_RUSTC}), crates in ${Rustls_REGISTRY}")
endif()
