// TLS record framing (RFC 8446 §5.1, RFC 5246 §6.2): identical for every
// backend, which is how the core knows, without asking the library, whether a
// complete record is buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace lastbyte::record {

inline constexpr std::size_t header_size = 5;
inline constexpr std::size_t max_plaintext = 16384;
// Largest ciphertext fragment a peer may send (the length field's limit).
inline constexpr std::size_t max_fragment_tls13 = max_plaintext + 256;
inline constexpr std::size_t max_fragment_tls12 = max_plaintext + 2048;
inline constexpr std::size_t max_record = header_size + max_fragment_tls12;

// TLS 1.3: the bytes every suite lastbyte enables adds to a record's
// content: the inner content type and a 16-byte tag (padding aside).
inline constexpr std::size_t tls13_aead_overhead = 1 + 16;

// TLS 1.2: the bytes an AEAD suite adds to every record's plaintext
// (AES-GCM: 8-byte explicit nonce + 16-byte tag; ChaCha20-Poly1305: 16-byte
// tag); nullopt for a suite lastbyte does not enable.
inline std::optional<std::size_t> tls12_aead_overhead(std::string_view iana_cipher) {
  if (iana_cipher.find("_GCM_") != std::string_view::npos) return 8 + 16;
  if (iana_cipher.find("_CHACHA20_POLY1305_") != std::string_view::npos) return 16;
  return std::nullopt;
}

// The largest fragment a peer may send once an AEAD suite is negotiated: a
// longer one must carry more than 2^14 bytes of plaintext (record_overflow),
// whatever it decrypts to. TLS 1.3: inner plaintext (2^14 + 1) + 16-byte tag
// (every suite lastbyte enables). Unknown suites: the version's length limit.
inline std::size_t aead_max_fragment(bool tls13, std::string_view iana_cipher) {
  if (tls13) return iana_cipher.empty() ? max_fragment_tls13 : max_plaintext + tls13_aead_overhead;
  auto overhead = tls12_aead_overhead(iana_cipher);
  return overhead ? max_plaintext + *overhead : max_fragment_tls12;
}

enum class ContentType : std::uint8_t {
  change_cipher_spec = 20,
  alert = 21,
  handshake = 22,
  application_data = 23,
};

struct Header {
  std::uint8_t type = 0;
  std::uint16_t version = 0;
  std::uint16_t length = 0;

  std::size_t record_size() const { return header_size + length; }
  bool known_type() const { return type >= 20 && type <= 23; }
};

// nullopt while fewer than 5 bytes are available.
inline std::optional<Header> parse_header(std::span<const std::byte> bytes) {
  if (bytes.size() < header_size) return std::nullopt;
  auto u8 = [&](std::size_t i) { return std::to_integer<std::uint8_t>(bytes[i]); };
  return Header{u8(0), static_cast<std::uint16_t>(u8(1) << 8 | u8(2)),
                static_cast<std::uint16_t>(u8(3) << 8 | u8(4))};
}

}  // namespace lastbyte::record
