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
list(JOIN LASTBYTE_BACKEND_${LASTBYTE_BACKEND}_FIND " " LASTBYTE_BACKEND_FIND)
configure_package_config_file(cmake/lastbyteConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfig.cmake"
                              INSTALL_DESTINATION ${LASTBYTE_CMAKE_DIR})
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
# The find modules the selected backend's FIND may need (CMake's own, or the
# one in its backend's folder).
file(GLOB LASTBYTE_FIND_MODULES "${PROJECT_SOURCE_DIR}/backends/*/Find*.cmake")
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/lastbyteConfigVersion.cmake"
              ${LASTBYTE_FIND_MODULES}
        DESTINATION ${LASTBYTE_CMAKE_DIR})

# pkg-config: static archives, so the TLS library is a public requirement
# (PC / PC_LIBS in backends/backends.cmake).
set(LASTBYTE_PC_REQUIRES "${LASTBYTE_BACKEND_${LASTBYTE_BACKEND}_PC}")
set(LASTBYTE_PC_EXTRA_LIBS "${LASTBYTE_BACKEND_${LASTBYTE_BACKEND}_PC_LIBS}")
# Relocatable: the prefix is found relative to the .pc file itself.
file(RELATIVE_PATH LASTBYTE_PC_PREFIX_FROM_PCDIR "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file(cmake/lastbyte.pc.in "${CMAKE_CURRENT_BINARY_DIR}/lastbyte.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/lastbyte.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
