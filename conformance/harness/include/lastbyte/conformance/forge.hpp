// The record forge: after a real handshake, the harness takes over one side's
// sending direction with that side's exported traffic secrets (key log) and
// protects records no library would send: zero-length records, data after
// close_notify, chosen alerts, oversized plaintext, padding-only records.
// Uses libcrypto inside the harness only. TLS 1.3 (AES-GCM, ChaCha20-Poly1305)
// and TLS 1.2 (AES-GCM, ChaCha20-Poly1305).
#pragma once

#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/engine/record.hpp>

#include <memory>
#include <string_view>

namespace lastbyte::conformance {

class Forge {
 public:
  // `keylog`: the sender's NSS key log lines; `server_wire`: the bytes the
  // server sent (its ServerHello carries the TLS 1.2 server random);
  // `next_seq`: records the sender already protected under the current keys.
  static Expected<Forge> create(TlsVersion version, std::string_view cipher, Role sender,
                                const std::vector<std::string>& keylog, std::span<const std::byte> server_wire,
                                std::uint64_t next_seq);

  // One protected record carrying `content` as `type` (TLS 1.3: plus
  // `padding` zero bytes inside the encryption).
  Bytes record(record::ContentType type, std::span<const std::byte> content, std::size_t padding = 0);
  Bytes data(std::span<const std::byte> content) { return record(record::ContentType::application_data, content); }
  Bytes alert(Alert alert);  // fatal level
  // TLS 1.3: a record whose inner plaintext is exactly `inner` (content, type
  // byte and padding as the caller wrote them).
  Bytes inner(std::span<const std::byte> inner_plaintext);
  // TLS 1.3: a KeyUpdate record; afterwards the forge protects with the next
  // traffic secret (RFC 8446 §7.2), as the peer would.
  Bytes key_update(std::uint8_t request_update);

  std::uint64_t next_seq() const { return seq_; }

 private:
  struct Keys {
    std::string cipher;  // EVP name
    Bytes key;
    Bytes iv;            // TLS 1.3 / ChaCha: 12 bytes; TLS 1.2 GCM: 4-byte salt
    std::string digest;  // TLS 1.3: for the next traffic secret
    Bytes secret;        // TLS 1.3: the current traffic secret
  };
  Forge(TlsVersion version, Keys keys, std::uint64_t seq) : version_(version), keys_(std::move(keys)), seq_(seq) {}
  Bytes seal(std::span<const std::byte> nonce, std::span<const std::byte> aad, std::span<const std::byte> plaintext);
  Bytes protect(std::byte type, std::span<const std::byte> plaintext, std::size_t content_length);

  TlsVersion version_;
  Keys keys_;
  std::uint64_t seq_;
};

}  // namespace lastbyte::conformance
