/* lastbyte's C API: the sans-I/O connection of lastbyte/connection.hpp for
 * C programs and event loops (C99; no C++ flags needed). Implemented over
 * the C++ core; no exception crosses it. The contract is C1-C10 of
 * connection.hpp; docs/event-loops.md is the recipe for wiring it to a loop.
 *
 * Conventions:
 *  - Functions that can fail return lastbyte_error (0 = LASTBYTE_OK);
 *    lastbyte_strerror() names each code, and a context or connection that
 *    could not be made leaves a message in the caller's buffer.
 *  - I/O functions return lastbyte_io: LASTBYTE_IO_OK with the count in
 *    *moved (> 0, except a finished handshake and an empty write),
 *    LASTBYTE_IO_BLOCKED (nothing now: see lastbyte_wants()), LASTBYTE_IO_END
 *    (the stream ended: lastbyte_verdict() says how; read reports it once)
 *    or LASTBYTE_IO_REFUSED (misuse or a state that forbids the call:
 *    lastbyte_last_error()). "Nothing yet" and "closed" are never the same
 *    value.
 *  - Strings are NUL-terminated UTF-8 unless a length is given; buffers are
 *    (pointer, length) and copied where kept.
 */
#ifndef LASTBYTE_H
#define LASTBYTE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lastbyte_config lastbyte_config;
typedef struct lastbyte_context lastbyte_context;
typedef struct lastbyte_connection lastbyte_connection;

/* The values of lastbyte::errc (errors.hpp; checked at compile time), plus the C API's own. */
typedef enum lastbyte_error {
  LASTBYTE_OK = 0,
  LASTBYTE_ERR_INPUT_AFTER_TRANSPORT_END = 1,
  LASTBYTE_ERR_READ_AFTER_END = 2,
  LASTBYTE_ERR_WRITE_AFTER_CLOSE = 3,
  LASTBYTE_ERR_WRITE_AFTER_END = 4,
  LASTBYTE_ERR_WRITE_AFTER_PEER_CLOSE_TLS12 = 5,
  LASTBYTE_ERR_WRITE_AFTER_RESET = 6,
  LASTBYTE_ERR_CLOSE_DURING_HANDSHAKE = 7,
  LASTBYTE_ERR_HANDSHAKE_NOT_DONE = 8,
  LASTBYTE_ERR_INPUT_OVERFLOW = 9,
  LASTBYTE_ERR_INPUT_SPACE_STALE = 10,
  LASTBYTE_ERR_OUTPUT_OVERFLOW = 11,
  LASTBYTE_ERR_EMPTY_BUFFER = 12,
  LASTBYTE_ERR_INVALID_CONFIG = 13,
  LASTBYTE_ERR_UNSUPPORTED_BY_BACKEND = 14,
  LASTBYTE_ERR_UNKNOWN_BACKEND = 15,
  LASTBYTE_ERR_BACKEND_FAILURE = 16,
  LASTBYTE_ERR_OUT_OF_MEMORY = 17,
  LASTBYTE_ERR_NULL_ARGUMENT = 100, /* a required pointer was NULL */
  LASTBYTE_ERR_BAD_ARGUMENT = 101   /* a value out of range (an enum, a length) */
} lastbyte_error;

/* A static English text for any code (never NULL). */
const char* lastbyte_strerror(int code);

typedef enum lastbyte_io {
  LASTBYTE_IO_OK = 0,
  LASTBYTE_IO_BLOCKED = 1,
  LASTBYTE_IO_END = 2,
  LASTBYTE_IO_REFUSED = 3
} lastbyte_io;

/* Each enum's last member keeps it int-sized: any int a C caller passes is a
 * defined value of the type, refused as LASTBYTE_ERR_BAD_ARGUMENT when it
 * names nothing. */
typedef enum lastbyte_role { LASTBYTE_CLIENT = 0, LASTBYTE_SERVER = 1, LASTBYTE_ROLE_INT_SIZED = 0x7fffffff } lastbyte_role;
typedef enum lastbyte_version { LASTBYTE_TLS1_2 = 0x0303, LASTBYTE_TLS1_3 = 0x0304, LASTBYTE_VERSION_INT_SIZED = 0x7fffffff } lastbyte_version;
typedef enum lastbyte_client_auth {
  LASTBYTE_CLIENT_AUTH_NONE = 0,
  LASTBYTE_CLIENT_AUTH_OPTIONAL = 1,
  LASTBYTE_CLIENT_AUTH_REQUIRED = 2, LASTBYTE_CLIENT_AUTH_INT_SIZED = 0x7fffffff
} lastbyte_client_auth;
typedef enum lastbyte_format { LASTBYTE_PEM = 0, LASTBYTE_DER = 1, LASTBYTE_FORMAT_INT_SIZED = 0x7fffffff } lastbyte_format;

/* ---- configuration -------------------------------------------------------- */

/* NULL only when memory ran out. Defaults as lastbyte::Config: verify the
 * peer (clients), TLS 1.2-1.3, tickets on, SSLKEYLOGFILE honoured. */
lastbyte_config* lastbyte_config_new(lastbyte_role role);
void lastbyte_config_free(lastbyte_config* config);

int lastbyte_config_set_server_name(lastbyte_config* config, const char* name);
/* `protocols`: `count` NUL-terminated names, in order of preference. */
int lastbyte_config_set_alpn(lastbyte_config* config, const char* const* protocols, size_t count);
int lastbyte_config_set_versions(lastbyte_config* config, lastbyte_version min, lastbyte_version max);
/* Trust anchors (adds to what was set before): a file, a directory, or a
 * buffer of PEM certificates or one DER certificate. Without any, the
 * system store. */
int lastbyte_config_set_ca_file(lastbyte_config* config, const char* path);
int lastbyte_config_set_ca_dir(lastbyte_config* config, const char* path);
int lastbyte_config_add_ca(lastbyte_config* config, const void* data, size_t length, lastbyte_format format);
/* Our certificate chain (leaf first) and key, from files or buffers. */
int lastbyte_config_set_certificate_files(lastbyte_config* config, const char* chain_path, const char* key_path);
int lastbyte_config_set_certificate(lastbyte_config* config, const void* chain, size_t chain_length,
                                    const void* key, size_t key_length, lastbyte_format format);
int lastbyte_config_set_client_auth(lastbyte_config* config, lastbyte_client_auth mode);
int lastbyte_config_set_session_tickets(lastbyte_config* config, int enabled);
int lastbyte_config_set_honour_sslkeylogfile(lastbyte_config* config, int enabled);
/* Explicit opt-ins, never defaults. */
int lastbyte_config_set_accept_truncation(lastbyte_config* config, int accept);
int lastbyte_config_dangerously_disable_certificate_verification(lastbyte_config* config);
int lastbyte_config_set_queue_sizes(lastbyte_config* config, size_t inbound, size_t outbound);
/* Nonzero: keep both queues and the library's record buffers while the
 * connection is idle (by default they are freed and come back with the
 * next bytes; Config::keep_buffers_when_idle). */
int lastbyte_config_set_keep_buffers_when_idle(lastbyte_config* config, int keep);
/* NSS key log lines (without newline), from the connection call that made
 * the secret, on its thread. */
typedef void (*lastbyte_keylog_fn)(void* user, const char* line, size_t length);
int lastbyte_config_set_keylog(lastbyte_config* config, lastbyte_keylog_fn callback, void* user);
/* A client's resumable session, as an opaque blob for
 * lastbyte_connection_new(). */
typedef void (*lastbyte_session_fn)(void* user, const uint8_t* blob, size_t length);
int lastbyte_config_set_on_new_session(lastbyte_config* config, lastbyte_session_fn callback, void* user);

/* ---- context: a validated configuration bound to the configured backend ---- */

/* The config may be freed afterwards. On failure *out is NULL and, when
 * `message` is not NULL, the reason is written there (NUL-terminated,
 * truncated to `message_size`). */
int lastbyte_context_new(const lastbyte_config* config, lastbyte_context** out, char* message, size_t message_size);
void lastbyte_context_free(lastbyte_context* context);
/* The configured backend: "openssl", "mbedtls", "wolfssl" or "gnutls". */
const char* lastbyte_backend_name(void);

/* ---- connection ------------------------------------------------------------ */

/* `server_name` (NULL: the config's) and a session blob to resume (NULL, 0:
 * none). A client's ClientHello is in the output at once. The context may
 * be freed while connections made from it live. */
int lastbyte_connection_new(const lastbyte_context* context, const char* server_name, const uint8_t* session,
                            size_t session_length, lastbyte_connection** out, char* message, size_t message_size);
void lastbyte_connection_free(lastbyte_connection* connection);

/* Transport side. feed: *taken < length means the inbound queue is full
 * (read first). input_space + commit_input: receive straight into the queue;
 * the space is valid until the next call other than commit_input, output,
 * consume_output and the queries. */
lastbyte_io lastbyte_feed(lastbyte_connection* connection, const void* data, size_t length, size_t* taken);
int lastbyte_input_space(lastbyte_connection* connection, uint8_t** space, size_t* length);
int lastbyte_commit_input(lastbyte_connection* connection, size_t n);
/* Ends an offer that received nothing (EAGAIN): an idle connection then
 * gives its queues back. */
void lastbyte_cancel_input(lastbyte_connection* connection);
int lastbyte_feed_eof(lastbyte_connection* connection);
int lastbyte_feed_reset(lastbyte_connection* connection);
/* The transport failed and the caller cannot tell EOF from RST. */
int lastbyte_feed_transport_error(lastbyte_connection* connection);
/* Ciphertext to send (valid until the next call on the connection), then
 * consume what the socket took. */
int lastbyte_output(const lastbyte_connection* connection, const uint8_t** data, size_t* length);
int lastbyte_consume_output(lastbyte_connection* connection, size_t n);

/* Application side. */
lastbyte_io lastbyte_handshake(lastbyte_connection* connection);
lastbyte_io lastbyte_read(lastbyte_connection* connection, void* buffer, size_t length, size_t* moved);
lastbyte_io lastbyte_write(lastbyte_connection* connection, const void* data, size_t length, size_t* moved);
/* Queues close_notify after every accepted byte; flush the output after it. */
int lastbyte_close(lastbyte_connection* connection);
/* Frees both queues (and the library's record buffers where it can) while
 * idle; 1 if freed, 0 if a queue held bytes. Done by itself unless
 * lastbyte_config_set_keep_buffers_when_idle. */
int lastbyte_release_buffers(lastbyte_connection* connection);
/* Bytes of queue storage held now: 0 while idle. */
size_t lastbyte_queue_storage_bytes(const lastbyte_connection* connection);
/* The error of the last LASTBYTE_IO_REFUSED (or LASTBYTE_OK). */
int lastbyte_last_error(const lastbyte_connection* connection);

/* What the connection needs next: a bitmask. */
#define LASTBYTE_WANTS_READ 1u           /* call lastbyte_read(): progress without the transport */
#define LASTBYTE_WANTS_INPUT 2u          /* room for (and need of) transport bytes */
#define LASTBYTE_WANTS_OUTPUT 4u         /* lastbyte_output() holds ciphertext to send */
#define LASTBYTE_WANTS_HANDSHAKE_DONE 8u /* not a want: the handshake has finished */
/* Not a want: our close_notify (after every accepted byte) left the output.
 * The close hook of a loop: lastbyte_close(), flush until this bit is set
 * (or the verdict is set and is not CLOSE_NOTIFY: then none will be), then
 * shut the socket down. */
#define LASTBYTE_WANTS_CLOSE_SENT 16u
unsigned lastbyte_wants(const lastbyte_connection* connection);
/* Accepted plaintext not yet in the output (C10). */
size_t lastbyte_unsent(const lastbyte_connection* connection);

/* How the stream ended. */
typedef enum lastbyte_verdict_kind {
  LASTBYTE_VERDICT_NONE = 0, /* not ended yet */
  LASTBYTE_VERDICT_CLOSE_NOTIFY,
  LASTBYTE_VERDICT_TRUNCATED,
  LASTBYTE_VERDICT_RESET,
  LASTBYTE_VERDICT_PEER_ALERT,
  LASTBYTE_VERDICT_PROTOCOL_ERROR,
  LASTBYTE_VERDICT_HANDSHAKE_REJECTED,
  LASTBYTE_VERDICT_LOCAL_ERROR
} lastbyte_verdict_kind;

/* HANDSHAKE_REJECTED: why (lastbyte::RejectReason). */
typedef enum lastbyte_reject_reason {
  LASTBYTE_REJECT_EXPIRED = 0,
  LASTBYTE_REJECT_HOSTNAME = 1,
  LASTBYTE_REJECT_UNTRUSTED = 2,
  LASTBYTE_REJECT_USAGE = 3,
  LASTBYTE_REJECT_BAD_CERTIFICATE = 4,
  LASTBYTE_REJECT_PROTOCOL_VERSION = 5,
  LASTBYTE_REJECT_NO_SHARED_CIPHER = 6,
  LASTBYTE_REJECT_NO_APPLICATION_PROTOCOL = 7,
  LASTBYTE_REJECT_CERTIFICATE_REQUIRED = 8,
  LASTBYTE_REJECT_PROTOCOL = 9
} lastbyte_reject_reason;

typedef struct lastbyte_verdict {
  lastbyte_verdict_kind kind;
  uint64_t bytes;        /* CLOSE_NOTIFY: ignored after it; TRUNCATED, RESET: leftover of a partial record */
  int during_handshake;  /* TRUNCATED, RESET */
  int eof_or_reset;      /* RESET from lastbyte_feed_transport_error() */
  int alert;             /* PEER_ALERT, PROTOCOL_ERROR: the TLS alert code */
  int reject_reason;     /* HANDSHAKE_REJECTED: a lastbyte_reject_reason */
  int acceptable;        /* CLOSE_NOTIFY, or a TRUNCATED end the config accepted */
  char text[256];        /* one line, as lastbyte::describe(), NUL-terminated */
} lastbyte_verdict;

/* Fills *out (kind LASTBYTE_VERDICT_NONE while the stream has not ended). */
int lastbyte_verdict_get(const lastbyte_connection* connection, lastbyte_verdict* out);

typedef struct lastbyte_session_info {
  lastbyte_version version;
  char cipher[64]; /* IANA name */
  char alpn[256];  /* empty when none */
  int resumed;
} lastbyte_session_info;

/* LASTBYTE_ERR_HANDSHAKE_NOT_DONE before the handshake finished. */
int lastbyte_session_info_get(const lastbyte_connection* connection, lastbyte_session_info* out);

#ifdef __cplusplus
}
#endif

#endif /* LASTBYTE_H */
