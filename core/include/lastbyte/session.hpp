// What a finished handshake negotiated (Connection::info()).
#pragma once

#include <lastbyte/config.hpp>

#include <string>
#include <string_view>

namespace lastbyte {

struct SessionInfo {
  TlsVersion version = TlsVersion::tls1_3;
  std::string cipher;  // IANA name, e.g. TLS_AES_128_GCM_SHA256
  std::string alpn;    // empty when none was negotiated
  bool resumed = false;
  std::string_view backend;
};

}  // namespace lastbyte
