#include <lastbyte/conformance/forge.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <sstream>

namespace lastbyte::conformance {
namespace {

struct Suite {
  const char* cipher;  // EVP name
  const char* digest;
  std::size_t key_len;
  std::size_t iv_len;  // TLS 1.2 GCM: implicit salt
};

std::optional<Suite> suite_for(std::string_view name) {
  if (name.ends_with("AES_128_GCM_SHA256")) return Suite{"AES-128-GCM", "SHA256", 16, 12};
  if (name.ends_with("AES_256_GCM_SHA384")) return Suite{"AES-256-GCM", "SHA384", 32, 12};
  if (name.ends_with("CHACHA20_POLY1305_SHA256")) return Suite{"ChaCha20-Poly1305", "SHA256", 32, 12};
  return std::nullopt;
}

Bytes from_hex(std::string_view hex) {
  Bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return out;
}

// The secret after `label` in an NSS key log ("LABEL <client_random> <secret>").
std::optional<std::pair<Bytes, Bytes>> find_line(const std::vector<std::string>& keylog, std::string_view label) {
  for (const auto& line : keylog) {
    std::istringstream in(line);
    std::string l, random, secret;
    if (in >> l >> random >> secret && l == label) return std::pair{from_hex(random), from_hex(secret)};
  }
  return std::nullopt;
}

Bytes kdf(const char* name, std::vector<OSSL_PARAM> params, std::size_t out_len) {
  params.push_back(OSSL_PARAM_construct_end());
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, name, nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  Bytes out(out_len);
  int ok = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), out_len, params.data());
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  if (ok != 1) out.clear();
  return out;
}

OSSL_PARAM octets(const char* key, Bytes& value) {
  return OSSL_PARAM_construct_octet_string(key, value.data(), value.size());
}

// RFC 8446 §7.1 HKDF-Expand-Label(secret, label, "", length).
Bytes expand_label(const char* digest, Bytes secret, std::string_view label, std::size_t length) {
  std::string full = "tls13 " + std::string(label);
  Bytes info{static_cast<std::byte>(length >> 8), static_cast<std::byte>(length & 0xff),
             static_cast<std::byte>(full.size())};
  for (char c : full) info.push_back(static_cast<std::byte>(c));
  info.push_back(std::byte{0});
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  return kdf("HKDF",
             {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
              OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode), octets(OSSL_KDF_PARAM_KEY, secret),
              octets(OSSL_KDF_PARAM_INFO, info)},
             length);
}

// RFC 5246 §6.3 key block.
Bytes key_block(const char* digest, Bytes master, const Bytes& server_random, const Bytes& client_random,
                std::size_t length) {
  std::string label = "key expansion";
  Bytes seed(reinterpret_cast<const std::byte*>(label.data()), reinterpret_cast<const std::byte*>(label.data()) + label.size());
  seed.insert(seed.end(), server_random.begin(), server_random.end());
  seed.insert(seed.end(), client_random.begin(), client_random.end());
  return kdf("TLS1-PRF",
             {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
              octets(OSSL_KDF_PARAM_SECRET, master), octets(OSSL_KDF_PARAM_SEED, seed)},
             length);
}

// ServerHello.random: record header (5) + handshake header (4) + version (2).
std::optional<Bytes> server_random(std::span<const std::byte> server_wire) {
  if (server_wire.size() < 5 + 4 + 2 + 32 || server_wire[0] != std::byte{22} || server_wire[5] != std::byte{2})
    return std::nullopt;
  auto random = server_wire.subspan(11, 32);
  return Bytes(random.begin(), random.end());
}

void put_u64(std::byte* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<std::byte>(v & 0xff);
}

}  // namespace

Expected<Forge> Forge::create(TlsVersion version, std::string_view cipher, Role sender,
                              const std::vector<std::string>& keylog, std::span<const std::byte> server_wire,
                              std::uint64_t next_seq) {
  auto suite = suite_for(cipher);
  if (!suite) return Error{errc::unsupported_by_backend, "the forge cannot protect records of " + std::string(cipher)};
  bool client = sender == Role::client;
  if (version == TlsVersion::tls1_3) {
    auto line = find_line(keylog, client ? "CLIENT_TRAFFIC_SECRET_0" : "SERVER_TRAFFIC_SECRET_0");
    if (!line) return Error{errc::invalid_config, "no traffic secret in the sender's key log"};
    Keys keys{suite->cipher, expand_label(suite->digest, line->second, "key", suite->key_len),
              expand_label(suite->digest, line->second, "iv", 12), suite->digest, line->second};
    return Forge(version, std::move(keys), next_seq);
  }
  auto line = find_line(keylog, "CLIENT_RANDOM");
  auto sr = server_random(server_wire);
  if (!line || !sr) return Error{errc::invalid_config, "no master secret or ServerHello for the TLS 1.2 forge"};
  std::size_t iv_len = std::string_view(suite->cipher).starts_with("ChaCha") ? 12 : 4;
  Bytes block = key_block(suite->digest, line->second, *sr, line->first, 2 * (suite->key_len + iv_len));
  if (block.empty()) return Error{errc::backend_failure, "TLS1-PRF failed"};
  auto take = [&](std::size_t at, std::size_t n) { return Bytes(block.begin() + at, block.begin() + at + n); };
  std::size_t k = suite->key_len;
  Keys keys{suite->cipher, client ? take(0, k) : take(k, k), client ? take(2 * k, iv_len) : take(2 * k + iv_len, iv_len),
            {}, {}};
  return Forge(version, std::move(keys), next_seq);
}

Bytes Forge::seal(std::span<const std::byte> nonce, std::span<const std::byte> aad, std::span<const std::byte> plaintext) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, keys_.cipher.c_str(), nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  auto u = [](auto* p) { return reinterpret_cast<const unsigned char*>(p); };
  Bytes out(plaintext.size() + 16);
  int len = 0;
  EVP_EncryptInit_ex2(ctx, cipher, u(keys_.key.data()), u(nonce.data()), nullptr);
  EVP_EncryptUpdate(ctx, nullptr, &len, u(aad.data()), static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, u(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + plaintext.size());
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  return out;
}

Bytes Forge::record(record::ContentType type, std::span<const std::byte> content, std::size_t padding) {
  if (version_ == TlsVersion::tls1_2) return protect(static_cast<std::byte>(type), content, content.size());
  Bytes plaintext(content.begin(), content.end());
  plaintext.push_back(static_cast<std::byte>(type));
  plaintext.resize(plaintext.size() + padding);
  return inner(plaintext);
}

Bytes Forge::inner(std::span<const std::byte> inner_plaintext) {
  return protect(std::byte{23}, inner_plaintext, inner_plaintext.size());
}

// One record: `plaintext` sealed under the current keys and sequence number.
Bytes Forge::protect(std::byte type, std::span<const std::byte> plaintext, std::size_t content_length) {
  std::uint64_t seq = seq_++;
  std::byte seq_bytes[8];
  put_u64(seq_bytes, seq);
  bool tls13 = version_ == TlsVersion::tls1_3;
  bool explicit_nonce = !tls13 && keys_.iv.size() == 4;

  Bytes nonce = keys_.iv;
  if (explicit_nonce)
    nonce.insert(nonce.end(), seq_bytes, seq_bytes + 8);
  else
    for (int i = 0; i < 8; ++i) nonce[4 + i] ^= seq_bytes[i];

  std::size_t length = (explicit_nonce ? 8 : 0) + plaintext.size() + 16;
  Bytes header{type, std::byte{3}, std::byte{3}, static_cast<std::byte>(length >> 8),
               static_cast<std::byte>(length & 0xff)};
  Bytes aad = header;
  if (!tls13) {  // seq_num + type + version + plaintext length
    aad.assign(seq_bytes, seq_bytes + 8);
    aad.insert(aad.end(), {type, std::byte{3}, std::byte{3}, static_cast<std::byte>(content_length >> 8),
                           static_cast<std::byte>(content_length & 0xff)});
  }
  Bytes sealed = seal(nonce, aad, plaintext);
  Bytes out = header;
  if (explicit_nonce) out.insert(out.end(), seq_bytes, seq_bytes + 8);
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Bytes Forge::key_update(std::uint8_t request_update) {
  const std::byte message[] = {std::byte{24}, std::byte{0}, std::byte{0}, std::byte{1}, std::byte{request_update}};
  Bytes out = record(record::ContentType::handshake, message);
  std::size_t hash_len = keys_.digest == "SHA384" ? 48 : 32;
  keys_.secret = expand_label(keys_.digest.c_str(), keys_.secret, "traffic upd", hash_len);
  keys_.key = expand_label(keys_.digest.c_str(), keys_.secret, "key", keys_.key.size());
  keys_.iv = expand_label(keys_.digest.c_str(), keys_.secret, "iv", 12);
  seq_ = 0;
  return out;
}

Bytes Forge::alert(Alert alert) {
  const std::byte body[] = {std::byte{2}, static_cast<std::byte>(alert)};
  return record(record::ContentType::alert, body);
}

}  // namespace lastbyte::conformance
