# FindWolfSSL: Debian's libwolfssl-dev ships a pkg-config file.
# Defines WolfSSL::wolfssl.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_WOLFSSL QUIET wolfssl)
endif()
find_path(WolfSSL_INCLUDE_DIR wolfssl/ssl.h HINTS ${PC_WOLFSSL_INCLUDE_DIRS})
find_library(WolfSSL_LIBRARY wolfssl HINTS ${PC_WOLFSSL_LIBRARY_DIRS})
set(WolfSSL_VERSION "${PC_WOLFSSL_VERSION}")
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(WolfSSL REQUIRED_VARS WolfSSL_LIBRARY WolfSSL_INCLUDE_DIR VERSION_VAR WolfSSL_VERSION)
if(WolfSSL_FOUND AND NOT TARGET WolfSSL::wolfssl)
  add_library(WolfSSL::wolfssl UNKNOWN IMPORTED)
  set_target_properties(WolfSSL::wolfssl PROPERTIES IMPORTED_LOCATION "${WolfSSL_LIBRARY}"
                                                    INTERFACE_INCLUDE_DIRECTORIES "${WolfSSL_INCLUDE_DIR}"
                                                    INTERFACE_COMPILE_OPTIONS "${PC_WOLFSSL_CFLAGS_OTHER}")
endif()
