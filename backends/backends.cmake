# Every backend lastbyte knows, one entry each; the first is the default
# LASTBYTE_BACKEND. Adding a backend is a folder backends/<name>/ (its
# adapter and public header, its direct driver in direct/, a Find<Package>.cmake
# if CMake has none, white-box tests of its adapter in tests/, and a
# CMakeLists.txt calling lastbyte_add_backend, lastbyte_add_direct_driver and
# lastbyte_add_backend_test) plus one entry here; everything else that
# names backends reads this list: the LASTBYTE_BACKEND option and its error
# texts, the installed package config's dependency, lastbyte.pc, the
# symbol-clash test, the `backend` presets and .ci/deps.sh (which reads the
# PACKAGE fields).
#
#   OPT_IN   built only when named in -DLASTBYTE_OPT_IN_BACKENDS (or chosen as
#            LASTBYTE_BACKEND); .ci/deps.sh installs it only then (the
#            variable of the same name in its environment)
#   PACKAGE  the Debian package(s) with the library's development files
#            (several: quoted, separated by spaces)
#   FIND     find_package() arguments that find it (here, and in the installed
#            package config for consumers)
#   TARGETS  the imported targets the adapter links
#   PC       pkg-config modules a consumer of lastbyte.pc needs, or
#   PC_LIBS  link flags when the library ships no .pc file
#   SONAMES  regular expression matching its shared libraries (symbol-clash test)
lastbyte_known_backend(openssl PACKAGE libssl-dev FIND OpenSSL 3.0 TARGETS OpenSSL::SSL OpenSSL::Crypto
                       PC "libssl libcrypto" SONAMES "libssl|libcrypto")
lastbyte_known_backend(mbedtls PACKAGE libmbedtls-dev FIND MbedTLS TARGETS MbedTLS::mbedtls
                       PC_LIBS "-lmbedtls -lmbedx509 -lmbedcrypto" SONAMES "libmbed")
lastbyte_known_backend(wolfssl PACKAGE libwolfssl-dev FIND WolfSSL TARGETS WolfSSL::wolfssl
                       PC wolfssl SONAMES "libwolfssl")
lastbyte_known_backend(gnutls PACKAGE libgnutls28-dev FIND GnuTLS 3.7 TARGETS GnuTLS::GnuTLS
                       PC gnutls SONAMES "libgnutls")
# rustls 0.20 through a shim crate (backends/rustls/shim, cargo --offline
# against Debian's crate registry). Opt-in while CI does not run it yet
# (docs/decisions.md, "rustls, the fifth backend").
lastbyte_known_backend(rustls OPT_IN PACKAGE "librust-rustls-dev cargo" FIND Rustls TARGETS Rustls::shim
                       PC_LIBS "-llastbyte_rustls -lpthread -ldl -lm" SONAMES "liblastbyte_rustls")
