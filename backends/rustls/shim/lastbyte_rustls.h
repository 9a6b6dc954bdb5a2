/* lastbyte's C interface over rustls 0.20 (the Rust side: src/lib.rs).
 *
 * Panics: none crosses this interface. Every function catches a panic of
 * its own and returns LB_RUSTLS_PANIC (functions returning no status then
 * do nothing); the connection is then unusable but safe to free.
 *
 * Ownership, for every pointer:
 *   - lb_rustls_context / lb_rustls_conn: owned by the caller from the _new
 *     call that made it to the _free call; a context must outlive its
 *     connections. _free accepts NULL.
 *   - every `const uint8_t*` / `const char*` argument: borrowed for the call
 *     only (the shim copies what it keeps).
 *   - `message` buffers: the caller's; the shim writes a NUL-terminated
 *     text of at most capacity bytes.
 *   - lb_rustls_info::alpn: owned by the connection, valid until the next
 *     call on it.
 *   - callbacks: the data pointers they receive are valid during the call
 *     only. `user` is the pointer given to lb_rustls_conn_new (the shim never
 *     dereferences it). Callbacks run on the thread calling into the shim,
 *     during lb_rustls_conn_new (new_session never), _feed, _flush, _write and
 *     _send_close_notify; they must not unwind (C++: noexcept) and must be
 *     thread-safe (a context's connections run on many threads).
 *
 * Threads: a context may be used by many threads at once; a connection by
 * one at a time.
 */
#ifndef LASTBYTE_RUSTLS_H
#define LASTBYTE_RUSTLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  LB_RUSTLS_OK = 0,
  LB_RUSTLS_WOULD_BLOCK = 1,    /* nothing now: needs more input, or room */
  LB_RUSTLS_CLOSED = 2,         /* read: the peer's close_notify was read, and all before it */
  LB_RUSTLS_TLS_ERROR = 3,      /* fatal: lb_rustls_conn_failure() says what */
  LB_RUSTLS_CONFIG_ERROR = 4,   /* the message says why */
  LB_RUSTLS_INVALID_ARGUMENT = 5,
  LB_RUSTLS_PANIC = 6,          /* a bug in the shim or rustls: the object is unusable */
  LB_RUSTLS_UNEXPECTED_EOF = 7, /* read: the transport ended without close_notify (after _eof only) */
};

/* Certificate faults: the bits of lastbyte::policy::CertificateFault. */
enum {
  LB_RUSTLS_FAULT_MISSING = 1,
  LB_RUSTLS_FAULT_UNTRUSTED = 2,
  LB_RUSTLS_FAULT_USAGE = 4,
  LB_RUSTLS_FAULT_HOSTNAME = 8,
  LB_RUSTLS_FAULT_EXPIRED = 16,
  LB_RUSTLS_FAULT_BAD_CERTIFICATE = 32,
};

/* lb_rustls_failure::kind: the class of rustls's error. */
enum {
  LB_RUSTLS_ERROR_NONE = 0,
  LB_RUSTLS_ERROR_LIBRARY = 1,            /* rustls's own failure (General, random, time) */
  LB_RUSTLS_ERROR_ALERT_RECEIVED = 2,     /* the peer's fatal alert: alert_received */
  LB_RUSTLS_ERROR_CERTIFICATE = 3,        /* the certificate check refused (faults via verify) */
  LB_RUSTLS_ERROR_NO_CERTIFICATE = 4,     /* the peer sent no certificate where one is required */
  LB_RUSTLS_ERROR_INCOMPATIBLE = 5,       /* nothing in common (suites, groups, signature schemes) */
  LB_RUSTLS_ERROR_NO_APPLICATION_PROTOCOL = 6,
  LB_RUSTLS_ERROR_PROTOCOL = 7,           /* the peer broke the protocol: protocol_alert */
  LB_RUSTLS_ERROR_VERSION = 8,            /* no TLS version in common (rustls sent protocol_version) */
};

typedef struct LbRustlsContext lb_rustls_context;
typedef struct LbRustlsConn lb_rustls_conn;

typedef struct lb_rustls_callbacks {
  /* NSS key log material (label, client random, secret); NULL: none. */
  void (*keylog)(void* user, const uint8_t* label, size_t label_len, const uint8_t* client_random,
                 size_t random_len, const uint8_t* secret, size_t secret_len);
  /* The peer's certificate, after the chain check found chain_faults (bits
   * above; 0: the chain is good): returns every fault, 0 to accept. NULL:
   * chain_faults decide. */
  uint32_t (*verify)(void* user, uint32_t chain_faults, const uint8_t* leaf_der, size_t leaf_len);
  /* Client: a new resumable session, as a blob for lb_rustls_conn_new. */
  void (*new_session)(void* user, const uint8_t* blob, size_t len);
  /* Ciphertext to send, in order. */
  void (*push)(void* user, const uint8_t* data, size_t len);
} lb_rustls_callbacks;

typedef struct lb_rustls_options {
  int32_t server;             /* 0 client, 1 server */
  int32_t tls12, tls13;       /* versions enabled */
  const uint16_t* suites;     /* IANA ids, in order of preference */
  size_t suite_count;
  const uint8_t* alpn;        /* RFC 7301 ProtocolNameList: each name after its length byte */
  size_t alpn_len;
  const uint8_t* ca_pem;      /* trust anchors, PEM (may be empty: nothing is trusted) */
  size_t ca_pem_len;
  const uint8_t* chain_pem;   /* our chain, leaf first, PEM (empty: none) */
  size_t chain_pem_len;
  const uint8_t* key_pem;     /* its private key: PKCS#8, PKCS#1 RSA (or SEC1 EC) PEM */
  size_t key_pem_len;
  int32_t verify;             /* client: 0 off, 1 the chain by webpki (the host name is the verify
                                 callback's), 2 rustls's own WebPkiVerifier (chain and host name:
                                 the library used directly). Server: 0 none, 1 optional, 2 required */
  int32_t tickets;            /* session resumption (tickets, server session cache) */
  int32_t keylog;             /* call callbacks.keylog */
} lb_rustls_options;

/* Makes a context; *out is the caller's (lb_rustls_context_free). */
int lb_rustls_context_new(const lb_rustls_options* options, const lb_rustls_callbacks* callbacks,
                          lb_rustls_context** out, char* message, size_t message_capacity);
void lb_rustls_context_free(lb_rustls_context* context);

/* A connection of the context. Client: server_name (UTF-8; an IP literal is
 * an address, empty where none is checked), whether it goes out as SNI, and
 * a blob from new_session to resume (may be empty). `user` is passed to
 * every callback the connection causes. */
int lb_rustls_conn_new(const lb_rustls_context* context, void* user, const uint8_t* server_name,
                       size_t server_name_len, int32_t send_sni, const uint8_t* resume, size_t resume_len,
                       lb_rustls_conn** out, char* message, size_t message_capacity);
void lb_rustls_conn_free(lb_rustls_conn* conn);

/* Feeds received ciphertext (lastbyte's adapter: whole records; native mode: what
 * recv() gave), processes it and pushes rustls's answer. Never an end of
 * stream (that is _eof). LB_RUSTLS_TLS_ERROR: fatal (the alert rustls sends
 * for it is pushed). */
int lb_rustls_conn_feed(lb_rustls_conn* conn, const uint8_t* data, size_t len);
/* The transport ended (recv() returned 0): rustls's own EOF path, for
 * driving rustls the way an application over a socket does (native mode).
 * lastbyte's adapter never calls it: the core decides how a stream ended. */
int lb_rustls_conn_eof(lb_rustls_conn* conn);
/* Pushes whatever rustls has sealed (the ClientHello, first of all). */
int lb_rustls_conn_flush(lb_rustls_conn* conn);
int lb_rustls_conn_is_handshaking(const lb_rustls_conn* conn);
int lb_rustls_conn_peer_closed(lb_rustls_conn* conn);
/* Plaintext: LB_RUSTLS_OK with *read > 0; LB_RUSTLS_WOULD_BLOCK (nothing
 * held); LB_RUSTLS_CLOSED (close_notify read). */
int lb_rustls_conn_read(lb_rustls_conn* conn, uint8_t* out, size_t capacity, size_t* read);
size_t lb_rustls_conn_pending(const lb_rustls_conn* conn);
/* Seals up to len bytes (*written; rustls buffers at most its limit) and pushes them. */
int lb_rustls_conn_write(lb_rustls_conn* conn, const uint8_t* data, size_t len, size_t* written);
int lb_rustls_conn_send_close_notify(lb_rustls_conn* conn);

typedef struct lb_rustls_info {
  uint16_t version;     /* 0x0303, 0x0304; 0 before the handshake */
  uint16_t suite;       /* IANA id */
  const uint8_t* alpn;  /* the connection's (see above) */
  size_t alpn_len;
  int32_t resumed;      /* server: 0 or 1; client: -1 (rustls 0.20 does not tell) */
} lb_rustls_info;
int lb_rustls_conn_info(lb_rustls_conn* conn, lb_rustls_info* info);

typedef struct lb_rustls_failure {
  int32_t kind;            /* LB_RUSTLS_ERROR_* */
  int32_t alert_received;  /* -1: none */
  int32_t alert_sent;      /* the fatal alert rustls sent with the error; -1: none */
  int32_t protocol_alert;  /* the alert class of the error; -1: none */
} lb_rustls_failure;
int lb_rustls_conn_failure(const lb_rustls_conn* conn, lb_rustls_failure* failure, char* message,
                           size_t message_capacity);

/* The subjectAltNames of a DER certificate: each(user, 2, name) for a
 * dNSName, each(user, 7, bytes) for an iPAddress. LB_RUSTLS_INVALID_ARGUMENT
 * where the DER is malformed (names found before it were reported). */
int lb_rustls_subject_alt_names(const uint8_t* der, size_t len,
                                void (*each)(void* user, int32_t kind, const uint8_t* name, size_t len), void* user);

/* The record cipher alone, for the benchmarks' ceiling: ring's AEAD, which
 * rustls's record layer uses. chacha20: ChaCha20-Poly1305, else AES-128-GCM
 * (key_len 32 or 16). Nonces are 12 bytes, tags 16. */
typedef struct LbRustlsAead lb_rustls_aead;
int lb_rustls_aead_new(int32_t chacha20, const uint8_t* key, size_t key_len, lb_rustls_aead** out);
void lb_rustls_aead_free(lb_rustls_aead* aead);
/* Seals len bytes in place at data; the tag goes to data[len..len+16). */
int lb_rustls_aead_seal(const lb_rustls_aead* aead, const uint8_t* nonce, const uint8_t* aad, size_t aad_len,
                        uint8_t* data, size_t len);
/* Opens len bytes (ciphertext, then tag) in place; LB_RUSTLS_TLS_ERROR: not authentic. */
int lb_rustls_aead_open(const lb_rustls_aead* aead, const uint8_t* nonce, const uint8_t* aad, size_t aad_len,
                        uint8_t* data, size_t len);

/* "rustls 0.20.8": static storage. */
const char* lb_rustls_version(void);

#ifdef __cplusplus
}
#endif

#endif
