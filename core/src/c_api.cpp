// lastbyte.h over the C++ core. Every entry point is noexcept: an exception
// (an allocation that failed) becomes LASTBYTE_ERR_OUT_OF_MEMORY, never an
// unwind into C.
#include <lastbyte/lastbyte.h>

#include <lastbyte/backend.hpp>
#include <lastbyte/connection.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <string>

struct lastbyte_config {
  lastbyte::Config config;
};
struct lastbyte_context {
  lastbyte::Context context;
};
struct lastbyte_connection {
  lastbyte::Connection connection;
  int last_error = LASTBYTE_OK;
};

namespace {

using lastbyte::errc;

// The C codes are errc's values.
static_assert(LASTBYTE_ERR_INPUT_AFTER_TRANSPORT_END == static_cast<int>(errc::input_after_transport_end));
static_assert(LASTBYTE_ERR_READ_AFTER_END == static_cast<int>(errc::read_after_end));
static_assert(LASTBYTE_ERR_WRITE_AFTER_CLOSE == static_cast<int>(errc::write_after_close));
static_assert(LASTBYTE_ERR_WRITE_AFTER_END == static_cast<int>(errc::write_after_end));
static_assert(LASTBYTE_ERR_WRITE_AFTER_PEER_CLOSE_TLS12 == static_cast<int>(errc::write_after_peer_close_tls12));
static_assert(LASTBYTE_ERR_WRITE_AFTER_RESET == static_cast<int>(errc::write_after_reset));
static_assert(LASTBYTE_ERR_CLOSE_DURING_HANDSHAKE == static_cast<int>(errc::close_during_handshake));
static_assert(LASTBYTE_ERR_HANDSHAKE_NOT_DONE == static_cast<int>(errc::handshake_not_done));
static_assert(LASTBYTE_ERR_INPUT_OVERFLOW == static_cast<int>(errc::input_overflow));
static_assert(LASTBYTE_ERR_INPUT_SPACE_STALE == static_cast<int>(errc::input_space_stale));
static_assert(LASTBYTE_ERR_OUTPUT_OVERFLOW == static_cast<int>(errc::output_overflow));
static_assert(LASTBYTE_ERR_EMPTY_BUFFER == static_cast<int>(errc::empty_buffer));
static_assert(LASTBYTE_ERR_INVALID_CONFIG == static_cast<int>(errc::invalid_config));
static_assert(LASTBYTE_ERR_UNSUPPORTED_BY_BACKEND == static_cast<int>(errc::unsupported_by_backend));
static_assert(LASTBYTE_ERR_UNKNOWN_BACKEND == static_cast<int>(errc::unknown_backend));
static_assert(LASTBYTE_ERR_BACKEND_FAILURE == static_cast<int>(errc::backend_failure));
static_assert(LASTBYTE_ERR_OUT_OF_MEMORY == static_cast<int>(errc::out_of_memory));
static_assert(LASTBYTE_REJECT_EXPIRED == static_cast<int>(lastbyte::RejectReason::expired));
static_assert(LASTBYTE_REJECT_HOSTNAME == static_cast<int>(lastbyte::RejectReason::hostname));
static_assert(LASTBYTE_REJECT_UNTRUSTED == static_cast<int>(lastbyte::RejectReason::untrusted));
static_assert(LASTBYTE_REJECT_USAGE == static_cast<int>(lastbyte::RejectReason::usage));
static_assert(LASTBYTE_REJECT_BAD_CERTIFICATE == static_cast<int>(lastbyte::RejectReason::bad_certificate));
static_assert(LASTBYTE_REJECT_PROTOCOL_VERSION == static_cast<int>(lastbyte::RejectReason::protocol_version));
static_assert(LASTBYTE_REJECT_NO_SHARED_CIPHER == static_cast<int>(lastbyte::RejectReason::no_shared_cipher));
static_assert(LASTBYTE_REJECT_NO_APPLICATION_PROTOCOL ==
              static_cast<int>(lastbyte::RejectReason::no_application_protocol));
static_assert(LASTBYTE_REJECT_CERTIFICATE_REQUIRED == static_cast<int>(lastbyte::RejectReason::certificate_required));
static_assert(LASTBYTE_REJECT_PROTOCOL == static_cast<int>(lastbyte::RejectReason::protocol));
static_assert(static_cast<int>(LASTBYTE_TLS1_2) == static_cast<int>(lastbyte::TlsVersion::tls1_2));
static_assert(static_cast<int>(LASTBYTE_TLS1_3) == static_cast<int>(lastbyte::TlsVersion::tls1_3));

int code_of(const std::error_code& e) {
  if (!e) return LASTBYTE_OK;
  return e.category() == lastbyte::error_category() ? e.value() : LASTBYTE_ERR_BACKEND_FAILURE;
}

void write_message(char* message, std::size_t size, std::string_view text) {
  if (!message || size == 0) return;
  std::size_t n = std::min(size - 1, text.size());
  std::memcpy(message, text.data(), n);
  message[n] = '\0';
}

// Runs `work` (returning an error code); an exception is out of memory.
template <class Work>
int guarded(Work&& work) noexcept {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    return LASTBYTE_ERR_OUT_OF_MEMORY;
  } catch (...) {
    return LASTBYTE_ERR_BACKEND_FAILURE;
  }
}

lastbyte_io io_of(lastbyte_connection* c, const lastbyte::IoResult& r, std::size_t* moved) {
  if (moved) *moved = r.bytes;
  c->last_error = code_of(r.error);
  switch (r.status) {
    case lastbyte::IoStatus::ok: return LASTBYTE_IO_OK;
    case lastbyte::IoStatus::blocked: return LASTBYTE_IO_BLOCKED;
    case lastbyte::IoStatus::end: return LASTBYTE_IO_END;
    case lastbyte::IoStatus::refused: return LASTBYTE_IO_REFUSED;
  }
  return LASTBYTE_IO_REFUSED;
}

lastbyte_io refuse(lastbyte_connection* c, int code, std::size_t* moved) {
  if (moved) *moved = 0;
  if (c) c->last_error = code;
  return LASTBYTE_IO_REFUSED;
}

std::string bytes_text(const void* data, std::size_t length) {
  return length == 0 ? std::string() : std::string(static_cast<const char*>(data), length);
}

// A DER certificate or key as PEM, which every backend reads.
std::string der_to_pem(const void* der, std::size_t length, const char* label) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(der);
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  std::size_t line = 0;
  for (std::size_t i = 0; i < length; i += 3) {
    unsigned v = p[i] << 16 | (i + 1 < length ? p[i + 1] << 8 : 0) | (i + 2 < length ? p[i + 2] : 0);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += i + 1 < length ? alphabet[v >> 6 & 63] : '=';
    out += i + 2 < length ? alphabet[v & 63] : '=';
    if ((line += 4) == 64) out += '\n', line = 0;
  }
  if (line != 0) out += '\n';
  return out + "-----END " + label + "-----\n";
}

bool valid_version(lastbyte_version v) { return v == LASTBYTE_TLS1_2 || v == LASTBYTE_TLS1_3; }

}  // namespace

extern "C" {

const char* lastbyte_strerror(int code) {
  switch (code) {
    case LASTBYTE_ERR_NULL_ARGUMENT: return "a required pointer argument was NULL";
    case LASTBYTE_ERR_BAD_ARGUMENT: return "an argument was out of range (an unknown enum value or a bad length)";
    default: break;
  }
  if (code < 0 || code > LASTBYTE_ERR_OUT_OF_MEMORY) return "unknown lastbyte error code";
  // errors.cpp's texts, made once: the pointers stay valid for the program's life.
  try {
    static const auto texts = [] {
      std::array<std::string, LASTBYTE_ERR_OUT_OF_MEMORY + 1> all;
      for (int i = 0; i <= LASTBYTE_ERR_OUT_OF_MEMORY; ++i) all[static_cast<std::size_t>(i)] = lastbyte::error_category().message(i);
      return all;
    }();
    return texts[static_cast<std::size_t>(code)].c_str();
  } catch (...) {
    return "lastbyte error (no memory for its text)";
  }
}

// ---- configuration ----------------------------------------------------------

lastbyte_config* lastbyte_config_new(lastbyte_role role) {
  if (role != LASTBYTE_CLIENT && role != LASTBYTE_SERVER) return nullptr;
  auto* config = new (std::nothrow) lastbyte_config;
  if (config) config->config.role = role == LASTBYTE_CLIENT ? lastbyte::Role::client : lastbyte::Role::server;
  return config;
}

void lastbyte_config_free(lastbyte_config* config) { delete config; }

int lastbyte_config_set_server_name(lastbyte_config* config, const char* name) {
  if (!config || !name) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int { return config->config.server_name = name, LASTBYTE_OK; });
}

int lastbyte_config_set_alpn(lastbyte_config* config, const char* const* protocols, size_t count) {
  if (!config || (count > 0 && !protocols)) return LASTBYTE_ERR_NULL_ARGUMENT;
  for (size_t i = 0; i < count; ++i)
    if (!protocols[i]) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int {
    std::vector<std::string> list(protocols, protocols + count);
    config->config.alpn = std::move(list);
    return LASTBYTE_OK;
  });
}

int lastbyte_config_set_versions(lastbyte_config* config, lastbyte_version min, lastbyte_version max) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  if (!valid_version(min) || !valid_version(max)) return LASTBYTE_ERR_BAD_ARGUMENT;
  config->config.min_version = static_cast<lastbyte::TlsVersion>(min);
  config->config.max_version = static_cast<lastbyte::TlsVersion>(max);
  return LASTBYTE_OK;
}

int lastbyte_config_set_ca_file(lastbyte_config* config, const char* path) {
  if (!config || !path) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int { return config->config.ca_file = path, LASTBYTE_OK; });
}

int lastbyte_config_set_ca_dir(lastbyte_config* config, const char* path) {
  if (!config || !path) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int { return config->config.ca_dir = path, LASTBYTE_OK; });
}

int lastbyte_config_add_ca(lastbyte_config* config, const void* data, size_t length, lastbyte_format format) {
  if (!config || !data) return LASTBYTE_ERR_NULL_ARGUMENT;
  if ((format != LASTBYTE_PEM && format != LASTBYTE_DER) || length == 0) return LASTBYTE_ERR_BAD_ARGUMENT;
  return guarded([&]() -> int {
    std::string pem = format == LASTBYTE_PEM ? bytes_text(data, length) : der_to_pem(data, length, "CERTIFICATE");
    if (!config->config.ca_pem.empty() && !config->config.ca_pem.ends_with('\n')) config->config.ca_pem += '\n';
    config->config.ca_pem += pem;
    return LASTBYTE_OK;
  });
}

int lastbyte_config_set_certificate_files(lastbyte_config* config, const char* chain_path, const char* key_path) {
  if (!config || !chain_path || !key_path) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int {
    config->config.cert_chain_file = chain_path;
    config->config.private_key_file = key_path;
    return LASTBYTE_OK;
  });
}

int lastbyte_config_set_certificate(lastbyte_config* config, const void* chain, size_t chain_length, const void* key,
                                    size_t key_length, lastbyte_format format) {
  if (!config || !chain || !key) return LASTBYTE_ERR_NULL_ARGUMENT;
  if ((format != LASTBYTE_PEM && format != LASTBYTE_DER) || chain_length == 0 || key_length == 0)
    return LASTBYTE_ERR_BAD_ARGUMENT;
  return guarded([&]() -> int {
    // DER: one certificate and a PKCS#8 key.
    config->config.cert_chain_pem =
        format == LASTBYTE_PEM ? bytes_text(chain, chain_length) : der_to_pem(chain, chain_length, "CERTIFICATE");
    config->config.private_key_pem =
        format == LASTBYTE_PEM ? bytes_text(key, key_length) : der_to_pem(key, key_length, "PRIVATE KEY");
    return LASTBYTE_OK;
  });
}

int lastbyte_config_set_client_auth(lastbyte_config* config, lastbyte_client_auth mode) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  switch (mode) {
    case LASTBYTE_CLIENT_AUTH_NONE: config->config.client_auth = lastbyte::ClientAuth::none; break;
    case LASTBYTE_CLIENT_AUTH_OPTIONAL: config->config.client_auth = lastbyte::ClientAuth::optional; break;
    case LASTBYTE_CLIENT_AUTH_REQUIRED: config->config.client_auth = lastbyte::ClientAuth::required; break;
    default: return LASTBYTE_ERR_BAD_ARGUMENT;
  }
  return LASTBYTE_OK;
}

int lastbyte_config_set_session_tickets(lastbyte_config* config, int enabled) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  config->config.session_tickets = enabled != 0;
  return LASTBYTE_OK;
}

int lastbyte_config_set_honour_sslkeylogfile(lastbyte_config* config, int enabled) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  config->config.honour_sslkeylogfile = enabled != 0;
  return LASTBYTE_OK;
}

int lastbyte_config_set_accept_truncation(lastbyte_config* config, int accept) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  config->config.accept_truncation = accept != 0;
  return LASTBYTE_OK;
}

int lastbyte_config_set_keep_buffers_when_idle(lastbyte_config* config, int keep) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  config->config.keep_buffers_when_idle = keep != 0;
  return LASTBYTE_OK;
}

int lastbyte_config_dangerously_disable_certificate_verification(lastbyte_config* config) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  config->config.dangerously_disable_certificate_verification = true;
  return LASTBYTE_OK;
}

int lastbyte_config_set_queue_sizes(lastbyte_config* config, size_t inbound, size_t outbound) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  config->config.inbound_capacity = inbound;  // Context creation checks them
  config->config.outbound_capacity = outbound;
  return LASTBYTE_OK;
}

int lastbyte_config_set_keylog(lastbyte_config* config, lastbyte_keylog_fn callback, void* user) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  if (!callback) return config->config.keylog = nullptr, LASTBYTE_OK;
  return guarded([&]() -> int {
    config->config.keylog = [callback, user](std::string_view line) {
      std::string text(line);  // NUL-terminated for C
      callback(user, text.c_str(), text.size());
    };
    return LASTBYTE_OK;
  });
}

int lastbyte_config_set_on_new_session(lastbyte_config* config, lastbyte_session_fn callback, void* user) {
  if (!config) return LASTBYTE_ERR_NULL_ARGUMENT;
  if (!callback) return config->config.on_new_session = nullptr, LASTBYTE_OK;
  return guarded([&]() -> int {
    config->config.on_new_session = [callback, user](std::span<const std::byte> blob) {
      callback(user, reinterpret_cast<const uint8_t*>(blob.data()), blob.size());
    };
    return LASTBYTE_OK;
  });
}

// ---- context --------------------------------------------------------------------

int lastbyte_context_new(const lastbyte_config* config, lastbyte_context** out, char* message, size_t message_size) {
  if (out) *out = nullptr;
  if (!config || !out) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int {
    auto context = lastbyte::Context::create(config->config, lastbyte::default_backend());
    if (!context) {
      write_message(message, message_size, context.error().message());
      return code_of(context.error().code);
    }
    *out = new lastbyte_context{std::move(*context)};
    write_message(message, message_size, "");
    return LASTBYTE_OK;
  });
}

void lastbyte_context_free(lastbyte_context* context) { delete context; }

const char* lastbyte_backend_name(void) { return lastbyte::default_backend().name.data(); }

// ---- connection -------------------------------------------------------------------

int lastbyte_connection_new(const lastbyte_context* context, const char* server_name, const uint8_t* session,
                            size_t session_length, lastbyte_connection** out, char* message, size_t message_size) {
  if (out) *out = nullptr;
  if (!context || !out || (session_length > 0 && !session)) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int {
    lastbyte::ConnectionOptions options;
    if (server_name) options.server_name = server_name;
    const auto* blob = reinterpret_cast<const std::byte*>(session);
    if (session_length > 0) options.resume_session.assign(blob, blob + session_length);
    auto connection = lastbyte::Connection::create(context->context, std::move(options));
    if (!connection) {
      write_message(message, message_size, connection.error().message());
      return code_of(connection.error().code);
    }
    *out = new lastbyte_connection{.connection = std::move(*connection)};
    write_message(message, message_size, "");
    return LASTBYTE_OK;
  });
}

void lastbyte_connection_free(lastbyte_connection* connection) { delete connection; }

lastbyte_io lastbyte_feed(lastbyte_connection* c, const void* data, size_t length, size_t* taken) {
  if (!c || (length > 0 && !data)) return refuse(c, LASTBYTE_ERR_NULL_ARGUMENT, taken);
  auto r = c->connection.feed(std::span(static_cast<const std::byte*>(data), length));
  return io_of(c, r, taken);
}

int lastbyte_input_space(lastbyte_connection* c, uint8_t** space, size_t* length) {
  if (!c || !space || !length) return LASTBYTE_ERR_NULL_ARGUMENT;
  return guarded([&]() -> int {
    auto offer = c->connection.input_space();
    *space = reinterpret_cast<uint8_t*>(offer.data());
    *length = offer.size();
    return LASTBYTE_OK;
  });
}

int lastbyte_commit_input(lastbyte_connection* c, size_t n) {
  if (!c) return LASTBYTE_ERR_NULL_ARGUMENT;
  return code_of(c->connection.commit_input(n));
}

void lastbyte_cancel_input(lastbyte_connection* c) {
  if (c) c->connection.cancel_input();
}

int lastbyte_feed_eof(lastbyte_connection* c) { return c ? code_of(c->connection.feed_eof()) : LASTBYTE_ERR_NULL_ARGUMENT; }
int lastbyte_feed_reset(lastbyte_connection* c) {
  return c ? code_of(c->connection.feed_reset()) : LASTBYTE_ERR_NULL_ARGUMENT;
}
int lastbyte_feed_transport_error(lastbyte_connection* c) {
  return c ? code_of(c->connection.feed_transport_error()) : LASTBYTE_ERR_NULL_ARGUMENT;
}

int lastbyte_output(const lastbyte_connection* c, const uint8_t** data, size_t* length) {
  if (!c || !data || !length) return LASTBYTE_ERR_NULL_ARGUMENT;
  auto out = c->connection.output();
  *data = reinterpret_cast<const uint8_t*>(out.data());
  *length = out.size();
  return LASTBYTE_OK;
}

int lastbyte_consume_output(lastbyte_connection* c, size_t n) {
  return c ? code_of(c->connection.consume_output(n)) : LASTBYTE_ERR_NULL_ARGUMENT;
}

lastbyte_io lastbyte_handshake(lastbyte_connection* c) {
  if (!c) return LASTBYTE_IO_REFUSED;
  return io_of(c, c->connection.handshake(), nullptr);
}

lastbyte_io lastbyte_read(lastbyte_connection* c, void* buffer, size_t length, size_t* moved) {
  if (!c || (length > 0 && !buffer)) return refuse(c, LASTBYTE_ERR_NULL_ARGUMENT, moved);
  return io_of(c, c->connection.read(std::span(static_cast<std::byte*>(buffer), length)), moved);
}

lastbyte_io lastbyte_write(lastbyte_connection* c, const void* data, size_t length, size_t* moved) {
  if (!c || (length > 0 && !data)) return refuse(c, LASTBYTE_ERR_NULL_ARGUMENT, moved);
  return io_of(c, c->connection.write(std::span(static_cast<const std::byte*>(data), length)), moved);
}

int lastbyte_close(lastbyte_connection* c) { return c ? code_of(c->connection.close()) : LASTBYTE_ERR_NULL_ARGUMENT; }

int lastbyte_release_buffers(lastbyte_connection* c) { return c && c->connection.release_buffers() ? 1 : 0; }

size_t lastbyte_queue_storage_bytes(const lastbyte_connection* c) { return c ? c->connection.queue_storage_bytes() : 0; }

int lastbyte_last_error(const lastbyte_connection* c) { return c ? c->last_error : LASTBYTE_ERR_NULL_ARGUMENT; }

unsigned lastbyte_wants(const lastbyte_connection* c) {
  if (!c) return 0;
  auto w = c->connection.wants();
  return (w.read_now ? LASTBYTE_WANTS_READ : 0u) | (w.transport_input ? LASTBYTE_WANTS_INPUT : 0u) |
         (w.output ? LASTBYTE_WANTS_OUTPUT : 0u) | (w.handshake_done ? LASTBYTE_WANTS_HANDSHAKE_DONE : 0u) |
         (w.close_sent ? LASTBYTE_WANTS_CLOSE_SENT : 0u);
}

size_t lastbyte_unsent(const lastbyte_connection* c) { return c ? c->connection.unsent() : 0; }

int lastbyte_verdict_get(const lastbyte_connection* c, lastbyte_verdict* out) {
  if (!c || !out) return LASTBYTE_ERR_NULL_ARGUMENT;
  *out = lastbyte_verdict{};
  const auto& verdict = c->connection.verdict();
  if (!verdict) return LASTBYTE_OK;
  return guarded([&]() -> int {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, lastbyte::CloseNotify>) {
            out->kind = LASTBYTE_VERDICT_CLOSE_NOTIFY, out->bytes = v.ignored_bytes;
          } else if constexpr (std::is_same_v<T, lastbyte::Truncated>) {
            out->kind = LASTBYTE_VERDICT_TRUNCATED, out->bytes = v.leftover_bytes;
            out->during_handshake = v.during_handshake;
          } else if constexpr (std::is_same_v<T, lastbyte::Reset>) {
            out->kind = LASTBYTE_VERDICT_RESET, out->bytes = v.leftover_bytes;
            out->during_handshake = v.during_handshake, out->eof_or_reset = v.eof_or_reset;
          } else if constexpr (std::is_same_v<T, lastbyte::PeerAlert>) {
            out->kind = LASTBYTE_VERDICT_PEER_ALERT, out->alert = static_cast<int>(v.alert);
          } else if constexpr (std::is_same_v<T, lastbyte::ProtocolError>) {
            out->kind = LASTBYTE_VERDICT_PROTOCOL_ERROR, out->alert = static_cast<int>(v.alert);
          } else if constexpr (std::is_same_v<T, lastbyte::HandshakeRejected>) {
            out->kind = LASTBYTE_VERDICT_HANDSHAKE_REJECTED, out->reject_reason = static_cast<int>(v.reason);
          } else {
            out->kind = LASTBYTE_VERDICT_LOCAL_ERROR;
          }
        },
        *verdict);
    out->acceptable = lastbyte::is_acceptable_end(*verdict);
    write_message(out->text, sizeof out->text, lastbyte::describe(*verdict));
    return LASTBYTE_OK;
  });
}

int lastbyte_session_info_get(const lastbyte_connection* c, lastbyte_session_info* out) {
  if (!c || !out) return LASTBYTE_ERR_NULL_ARGUMENT;
  *out = lastbyte_session_info{};
  return guarded([&]() -> int {
    auto info = c->connection.info();
    if (!info) return code_of(info.error().code);
    out->version = static_cast<lastbyte_version>(info->version);
    write_message(out->cipher, sizeof out->cipher, info->cipher);
    write_message(out->alpn, sizeof out->alpn, info->alpn);
    out->resumed = info->resumed;
    return LASTBYTE_OK;
  });
}

}  // extern "C"
