# cmake --install: static libraries, headers, a CMake package
# (find_package(lastbyte CONFIG) -> lastbyte::lastbyte) and lastbyte.pc.
include(CMakePackageConfigHelpers)

install(TARGETS lastbyte lastbyte_core lastbyte_net lastbyte_backend_${LASTBYTE_BACKEND}
        EXPORT lastbyteTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY core/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(LASTBYTE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lastbyte)
install(EXPORT lastbyteTargets NAMESPACE lastbyte:: DESTINATION ${LASTBYTE_CMAKE_DIR})
configure_package_config_file(cmake/lastbyteConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfig.cmake"
                              INSTALL_DESTINATION ${LASTBYTE_CMAKE_DIR})
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfigVersion.cmake"
              cmake/FindMbedTLS.cmake cmake/FindWolfSSL.cmake
        DESTINATION ${LASTBYTE_CMAKE_DIR})

# pkg-config: static archives, so the TLS library is a public requirement.
set(LASTBYTE_PC_REQUIRES_openssl "libssl libcrypto")
set(LASTBYTE_PC_REQUIRES_mbedtls "")
set(LASTBYTE_PC_LIBS_mbedtls "-lmbedtls -lmbedx509 -lmbedcrypto")
set(LASTBYTE_PC_REQUIRES_wolfssl "wolfssl")
set(LASTBYTE_PC_REQUIRES "${LASTBYTE_PC_REQUIRES_${LASTBYTE_BACKEND}}")
set(LASTBYTE_PC_EXTRA_LIBS "${LASTBYTE_PC_LIBS_${LASTBYTE_BACKEND}}")
# Relocatable: the prefix is found relative to the .pc file itself.
file(RELATIVE_PATH LASTBYTE_PC_PREFIX_FROM_PCDIR "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file(cmake/lastbyte.pc.in "${CMAKE_CURRENT_BINARY_DIR}/lastbyte.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/lastbyte.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
