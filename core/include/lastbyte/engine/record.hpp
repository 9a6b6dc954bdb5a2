// TLS record framing (RFC 8446 §5.1, RFC 5246 §6.2): identical for every
// backend, which is how the core knows, without asking the library, whether a
// complete record is buffered.
#pragma once

#include <array>
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

// What record protection adds to a record's content once a suite is
// negotiated (every suite lastbyte enables is an AEAD with a 16-byte tag).
struct Sealing {
  std::size_t tag = 16;
  std::size_t explicit_nonce = 0;  // TLS 1.2 AES-GCM: 8
  std::size_t inner_type = 0;      // TLS 1.3: the inner content type byte

  // The fragment length of a record with no content (padding aside).
  std::size_t overhead() const { return tag + explicit_nonce + inner_type; }
  // Shorter fragments cannot hold the nonce and the tag: they can never
  // authenticate, whatever they contain.
  std::size_t min_fragment() const { return tag + explicit_nonce; }
  // Longer fragments carry more than 2^14 bytes of content (record_overflow),
  // whatever they decrypt to. TLS 1.3 padding is bounded the same way: the
  // inner plaintext (content, type, padding) is at most 2^14 + 1 bytes.
  std::size_t max_fragment() const { return max_plaintext + overhead(); }
};

// The sealing of a negotiated suite (IANA name), or nullopt for one
// lastbyte does not enable.
inline std::optional<Sealing> sealing(bool tls13, std::string_view iana_cipher) {
  if (tls13) {
    if (!iana_cipher.starts_with("TLS_AES_") && !iana_cipher.starts_with("TLS_CHACHA20_")) return std::nullopt;
    return Sealing{.tag = 16, .explicit_nonce = 0, .inner_type = 1};
  }
  if (iana_cipher.find("_GCM_") != std::string_view::npos) return Sealing{.tag = 16, .explicit_nonce = 8};
  if (iana_cipher.find("_CHACHA20_POLY1305_") != std::string_view::npos) return Sealing{.tag = 16};
  return std::nullopt;
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

// ---- what an adapter reads on the wire ---------------------------------------
// Written once here, so that no adapter parses messages by hand.

// A plaintext record holding one fatal alert (a handshake failure's alert,
// sent before any key): its description, or nullopt for any other record.
inline std::optional<std::uint8_t> plaintext_fatal_alert(std::span<const unsigned char> record) {
  constexpr unsigned char fatal = 2;
  if (record.size() != header_size + 2 || record[0] != static_cast<unsigned char>(ContentType::alert) ||
      record[header_size] != fatal)
    return std::nullopt;
  return record[header_size + 1];
}

// The cipher suite a ServerHello selects, from the message's body (after
// its 4-byte handshake header): legacy_version (2), random (32),
// legacy_session_id (1 + n), cipher_suite (2) (RFC 8446 §4.1.3, RFC 5246
// §7.4.1.3). nullopt when the body is too short to hold it.
inline std::optional<std::array<unsigned char, 2>> server_hello_cipher_suite(std::span<const unsigned char> body) {
  constexpr std::size_t session_id_length_at = 2 + 32;
  if (body.size() <= session_id_length_at) return std::nullopt;
  std::size_t at = session_id_length_at + 1 + body[session_id_length_at];
  if (body.size() < at + 2) return std::nullopt;
  return std::array{body[at], body[at + 1]};
}

// Calls visit(group) with each KeyShareEntry's named group (2 bytes) of a
// ClientHello's key_share extension, given the client_shares vector's
// contents (after its 2-byte length): group (2), key_exchange length (2),
// key_exchange (RFC 8446 §4.2.8). Stops at an entry that does not fit.
template <class Visit>
void for_each_key_share_group(std::span<const unsigned char> client_shares, Visit visit) {
  while (client_shares.size() >= 4) {
    std::size_t entry = 4 + (std::size_t{client_shares[2]} << 8 | client_shares[3]);
    if (entry > client_shares.size()) return;
    visit(std::array{client_shares[0], client_shares[1]});
    client_shares = client_shares.subspan(entry);
  }
}

}  // namespace lastbyte::record
