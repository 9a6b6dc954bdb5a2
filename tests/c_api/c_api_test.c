/* The C API (lastbyte.h), compiled as C99: every function, on in-memory
 * pairs of the configured backend. Usage: c_api_test PKI_DIR (written by
 * lastbyte-write-test-pki). Exit 0 when every check held; each failed check
 * is printed with its line. */
#include <lastbyte/lastbyte.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static const char* pki_dir = ".";

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "c_api_test.c:%d: check failed: %s\n", __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

static char* read_file(const char* name, size_t* length) {
  char path[1024];
  FILE* f;
  char* data;
  long size;
  snprintf(path, sizeof path, "%s/%s", pki_dir, name);
  f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "c_api_test: cannot open %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = malloc((size_t)size + 1);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) exit(2);
  data[size] = '\0';
  fclose(f);
  *length = (size_t)size;
  return data;
}

static const char* path_of(const char* name) {
  static char path[4][1024];
  static int next = 0;
  char* p = path[next++ % 4];
  snprintf(p, 1024, "%s/%s", pki_dir, name);
  return p;
}

/* Moves one side's output to the other: through feed(), or, with
 * `zero_copy`, through input_space() + commit_input(). */
static void transfer(lastbyte_connection* from, lastbyte_connection* to, int zero_copy) {
  const uint8_t* data;
  size_t length, taken;
  CHECK(lastbyte_output(from, &data, &length) == LASTBYTE_OK);
  if (length == 0) return;
  if (zero_copy) {
    uint8_t* space;
    size_t room;
    CHECK(lastbyte_input_space(to, &space, &room) == LASTBYTE_OK);
    taken = length < room ? length : room;
    memcpy(space, data, taken);
    CHECK(lastbyte_commit_input(to, taken) == LASTBYTE_OK);
  } else {
    lastbyte_io io = lastbyte_feed(to, data, length, &taken);
    CHECK(io == LASTBYTE_IO_OK || io == LASTBYTE_IO_BLOCKED);
  }
  CHECK(lastbyte_consume_output(from, taken) == LASTBYTE_OK);
}

static int handshake(lastbyte_connection* client, lastbyte_connection* server) {
  int round;
  for (round = 0; round < 10; ++round) {
    lastbyte_io c, s;
    transfer(client, server, round % 2);
    s = lastbyte_handshake(server);
    transfer(server, client, 0);
    c = lastbyte_handshake(client);
    if (c == LASTBYTE_IO_END || s == LASTBYTE_IO_END) return 0;
    if ((lastbyte_wants(client) & LASTBYTE_WANTS_HANDSHAKE_DONE) &&
        (lastbyte_wants(server) & LASTBYTE_WANTS_HANDSHAKE_DONE)) {
      transfer(client, server, 0);
      return 1;
    }
  }
  return 0;
}

/* Reads everything available into buf; returns the last status. */
static lastbyte_io read_all(lastbyte_connection* c, char* buf, size_t size, size_t* total) {
  lastbyte_io io;
  size_t moved;
  *total = 0;
  for (;;) {
    io = lastbyte_read(c, buf + *total, size - *total, &moved);
    if (io != LASTBYTE_IO_OK) return io;
    *total += moved;
    if (*total == size) return io;
  }
}

static int keylog_lines = 0;
static void on_keylog(void* user, const char* line, size_t length) {
  (void)user;
  if (length > 0 && strlen(line) == length) ++keylog_lines;
}

static uint8_t saved_session[8192];
static size_t saved_session_length = 0;
static void on_session(void* user, const uint8_t* blob, size_t length) {
  (void)user;
  if (length <= sizeof saved_session) {
    memcpy(saved_session, blob, length);
    saved_session_length = length;
  }
}

static lastbyte_context* context_or_die(lastbyte_config* config) {
  lastbyte_context* context = NULL;
  char message[512];
  int rc = lastbyte_context_new(config, &context, message, sizeof message);
  if (rc != LASTBYTE_OK) {
    fprintf(stderr, "c_api_test: lastbyte_context_new: %s (%s)\n", lastbyte_strerror(rc), message);
    exit(1);
  }
  return context;
}

static lastbyte_config* server_config_pem_files(void) {
  lastbyte_config* config = lastbyte_config_new(LASTBYTE_SERVER);
  CHECK(config != NULL);
  CHECK(lastbyte_config_set_certificate_files(config, path_of("server.pem"), path_of("server.key")) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_honour_sslkeylogfile(config, 0) == LASTBYTE_OK);
  return config;
}

static lastbyte_config* client_config(void) {
  lastbyte_config* config = lastbyte_config_new(LASTBYTE_CLIENT);
  size_t length;
  char* ca = read_file("ca.pem", &length);
  CHECK(config != NULL);
  CHECK(lastbyte_config_add_ca(config, ca, length, LASTBYTE_PEM) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_server_name(config, "server.test") == LASTBYTE_OK);
  CHECK(lastbyte_config_set_honour_sslkeylogfile(config, 0) == LASTBYTE_OK);
  free(ca);
  return config;
}

static lastbyte_connection* connect_or_die(lastbyte_context* context, const char* name, const uint8_t* session,
                                           size_t session_length) {
  lastbyte_connection* c = NULL;
  char message[512];
  int rc = lastbyte_connection_new(context, name, session, session_length, &c, message, sizeof message);
  if (rc != LASTBYTE_OK) {
    fprintf(stderr, "c_api_test: lastbyte_connection_new: %s (%s)\n", lastbyte_strerror(rc), message);
    exit(1);
  }
  return c;
}

/* A whole exchange: ALPN, key log, data both ways, close_notify, misuse
 * after the end, buffers released. */
static void test_exchange(void) {
  const char* protocols[] = {"h2", "http/1.1"};
  const char* server_protocols[] = {"http/1.1"};
  lastbyte_config* sc = server_config_pem_files();
  lastbyte_config* cc = client_config();
  lastbyte_context *server_context, *client_context;
  lastbyte_connection *client, *server;
  lastbyte_session_info info;
  lastbyte_verdict verdict;
  char buf[65536];
  size_t moved, total;
  CHECK(lastbyte_config_set_alpn(cc, protocols, 2) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_alpn(sc, server_protocols, 1) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_keylog(cc, on_keylog, NULL) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_queue_sizes(cc, 64 * 1024, 64 * 1024) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_keep_buffers_when_idle(cc, 1) == LASTBYTE_OK);
  server_context = context_or_die(sc);
  client_context = context_or_die(cc);
  lastbyte_config_free(sc);
  lastbyte_config_free(cc);
  client = connect_or_die(client_context, NULL, NULL, 0);
  server = connect_or_die(server_context, NULL, NULL, 0);
  lastbyte_context_free(client_context); /* connections outlive it */
  CHECK(lastbyte_session_info_get(client, &info) == LASTBYTE_ERR_HANDSHAKE_NOT_DONE);
  CHECK(lastbyte_close(client) == LASTBYTE_ERR_CLOSE_DURING_HANDSHAKE);
  /* Written before the handshake: held, then sealed (C10). */
  CHECK(lastbyte_write(client, "hello", 5, &moved) == LASTBYTE_IO_OK && moved == 5);
  CHECK(lastbyte_unsent(client) == 5);
  CHECK(handshake(client, server));
  CHECK(lastbyte_session_info_get(client, &info) == LASTBYTE_OK);
  CHECK(strcmp(info.alpn, "http/1.1") == 0);
  CHECK(strlen(info.cipher) > 0 && info.resumed == 0);
  CHECK(info.version == LASTBYTE_TLS1_2 || info.version == LASTBYTE_TLS1_3);
  CHECK(keylog_lines > 0);
  transfer(client, server, 0);
  CHECK(lastbyte_unsent(client) == 0);
  CHECK(read_all(server, buf, sizeof buf, &total) == LASTBYTE_IO_BLOCKED);
  CHECK(total == 5 && memcmp(buf, "hello", 5) == 0);
  /* Idle (everything read, nothing to send): the queues went back by
   * themselves. */
  CHECK(lastbyte_queue_storage_bytes(server) == 0);
  { /* an offer that received nothing, cancelled: idle again */
    uint8_t* space;
    size_t room;
    CHECK(lastbyte_input_space(server, &space, &room) == LASTBYTE_OK && room > 0);
    CHECK(lastbyte_queue_storage_bytes(server) > 0);
    lastbyte_cancel_input(server);
    CHECK(lastbyte_queue_storage_bytes(server) == 0);
    lastbyte_cancel_input(NULL);
  }
  /* The client keeps its queues (lastbyte_config_set_keep_buffers_when_idle)
   * until lastbyte_release_buffers. */
  CHECK(read_all(client, buf, sizeof buf, &total) == LASTBYTE_IO_BLOCKED && total == 0);
  CHECK(lastbyte_queue_storage_bytes(client) == 2 * 64 * 1024);
  CHECK(lastbyte_release_buffers(client) == 1 && lastbyte_queue_storage_bytes(client) == 0);
  CHECK(lastbyte_write(server, "world!", 6, &moved) == LASTBYTE_IO_OK && moved == 6);
  CHECK(lastbyte_queue_storage_bytes(server) >= 64 * 1024); /* the record waits in output */
  CHECK(!(lastbyte_wants(server) & LASTBYTE_WANTS_CLOSE_SENT));
  CHECK(lastbyte_close(server) == LASTBYTE_OK);
  CHECK(lastbyte_wants(server) & LASTBYTE_WANTS_OUTPUT);
  CHECK(!(lastbyte_wants(server) & LASTBYTE_WANTS_CLOSE_SENT)); /* queued, not yet sent */
  transfer(server, client, 1);
  CHECK(lastbyte_wants(server) & LASTBYTE_WANTS_CLOSE_SENT); /* the close hook's signal */
  CHECK(lastbyte_wants(client) & LASTBYTE_WANTS_READ);
  CHECK(read_all(client, buf, sizeof buf, &total) == LASTBYTE_IO_END);
  CHECK(total == 6 && memcmp(buf, "world!", 6) == 0);
  CHECK(lastbyte_verdict_get(client, &verdict) == LASTBYTE_OK);
  CHECK(verdict.kind == LASTBYTE_VERDICT_CLOSE_NOTIFY && verdict.acceptable == 1);
  CHECK(strcmp(verdict.text, "close_notify") == 0);
  /* The end is reported once; then misuse is refused with its reason. */
  CHECK(lastbyte_read(client, buf, sizeof buf, &moved) == LASTBYTE_IO_REFUSED && moved == 0);
  CHECK(lastbyte_last_error(client) == LASTBYTE_ERR_READ_AFTER_END);
  CHECK(lastbyte_read(client, NULL, 10, &moved) == LASTBYTE_IO_REFUSED);
  CHECK(lastbyte_last_error(client) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_feed_eof(client) == LASTBYTE_OK);
  CHECK(lastbyte_feed_eof(client) == LASTBYTE_ERR_INPUT_AFTER_TRANSPORT_END);
  CHECK(lastbyte_consume_output(client, 1u << 30) == LASTBYTE_ERR_OUTPUT_OVERFLOW);
  CHECK(lastbyte_commit_input(client, 1) != LASTBYTE_OK);
  CHECK(lastbyte_close(client) == LASTBYTE_OK); /* our close_notify (TLS 1.2: already sent in answer) */
  transfer(client, server, 0);
  CHECK(read_all(server, buf, sizeof buf, &total) == LASTBYTE_IO_END && total == 0);
  CHECK(lastbyte_verdict_get(server, &verdict) == LASTBYTE_OK && verdict.kind == LASTBYTE_VERDICT_CLOSE_NOTIFY);
  CHECK(lastbyte_release_buffers(server) == 1); /* idle: both queues empty */
  lastbyte_connection_free(client);
  lastbyte_connection_free(server);
  lastbyte_context_free(server_context);
}

/* DER trust anchor and certificate, TLS 1.2, a session resumed from the
 * blob, and the transport ends that are never clean. */
static void test_der_resumption_and_ends(void) {
  size_t ca_length, cert_length, key_length, moved, total;
  char* ca = read_file("ca.der", &ca_length);
  char* cert = read_file("server.der", &cert_length);
  char* key = read_file("server.key.der", &key_length);
  lastbyte_config* sc = lastbyte_config_new(LASTBYTE_SERVER);
  lastbyte_config* cc = lastbyte_config_new(LASTBYTE_CLIENT);
  lastbyte_context *server_context, *client_context;
  lastbyte_connection *client, *server;
  lastbyte_session_info info;
  lastbyte_verdict verdict;
  char buf[4096];
  const char* ends[3] = {"reset", "transport error", "eof accepted"};
  int i;
  CHECK(lastbyte_config_set_certificate(sc, cert, cert_length, key, key_length, LASTBYTE_DER) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_session_tickets(sc, 1) == LASTBYTE_OK);
  CHECK(lastbyte_config_add_ca(cc, ca, ca_length, LASTBYTE_DER) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_server_name(cc, "localhost") == LASTBYTE_OK);
  CHECK(lastbyte_config_set_versions(cc, LASTBYTE_TLS1_2, LASTBYTE_TLS1_2) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_on_new_session(cc, on_session, NULL) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_accept_truncation(cc, 1) == LASTBYTE_OK);
  server_context = context_or_die(sc);
  client_context = context_or_die(cc);
  for (i = 0; i < 4; ++i) {
    client = connect_or_die(client_context, i == 0 ? NULL : "localhost", i == 0 ? NULL : saved_session,
                            i == 0 ? 0 : saved_session_length);
    server = connect_or_die(server_context, NULL, NULL, 0);
    CHECK(handshake(client, server));
    CHECK(lastbyte_session_info_get(client, &info) == LASTBYTE_OK);
    CHECK(info.version == LASTBYTE_TLS1_2);
    CHECK(info.resumed == (i > 0));
    CHECK(saved_session_length > 0);
    if (i > 0) {
      CHECK(lastbyte_write(server, "tail", 4, &moved) == LASTBYTE_IO_OK);
      transfer(server, client, 0);
      CHECK(lastbyte_feed_reset(i == 1 ? client : NULL) == (i == 1 ? LASTBYTE_OK : LASTBYTE_ERR_NULL_ARGUMENT));
      if (i == 2) CHECK(lastbyte_feed_transport_error(client) == LASTBYTE_OK);
      if (i == 3) CHECK(lastbyte_feed_eof(client) == LASTBYTE_OK);
      CHECK(read_all(client, buf, sizeof buf, &total) == LASTBYTE_IO_END);
      CHECK(total == 4);
      CHECK(lastbyte_verdict_get(client, &verdict) == LASTBYTE_OK);
      if (i < 3) {
        CHECK(verdict.kind == LASTBYTE_VERDICT_RESET && verdict.acceptable == 0);
        CHECK(verdict.eof_or_reset == (i == 2));
        CHECK(lastbyte_write(client, "x", 1, &moved) == LASTBYTE_IO_REFUSED);
        CHECK(lastbyte_last_error(client) == LASTBYTE_ERR_WRITE_AFTER_RESET);
      } else {
        CHECK(verdict.kind == LASTBYTE_VERDICT_TRUNCATED && verdict.acceptable == 1);
      }
      if (failures) fprintf(stderr, "  (after the %s end)\n", ends[i - 1]);
    }
    lastbyte_connection_free(client);
    lastbyte_connection_free(server);
  }
  lastbyte_config_free(sc);
  lastbyte_config_free(cc);
  lastbyte_context_free(server_context);
  lastbyte_context_free(client_context);
  free(ca);
  free(cert);
  free(key);
}

/* Verification on by default; the loud opt-out; client certificates. */
static void test_verification(void) {
  lastbyte_config* sc = server_config_pem_files();
  lastbyte_config* strict = lastbyte_config_new(LASTBYTE_CLIENT); /* system store only */
  lastbyte_config* loud = lastbyte_config_new(LASTBYTE_CLIENT);
  lastbyte_context *server_context, *strict_context, *loud_context;
  lastbyte_connection *client, *server;
  lastbyte_verdict verdict;
  CHECK(lastbyte_config_set_server_name(strict, "server.test") == LASTBYTE_OK);
  CHECK(lastbyte_config_set_ca_file(strict, "/nonexistent/ca.pem") == LASTBYTE_OK);
  {
    char message[256];
    lastbyte_context* none = (lastbyte_context*)&message;
    CHECK(lastbyte_context_new(strict, &none, message, sizeof message) != LASTBYTE_OK);
    CHECK(none == NULL && strlen(message) > 0);
  }
  lastbyte_config_free(strict);
  strict = lastbyte_config_new(LASTBYTE_CLIENT);
  CHECK(lastbyte_config_set_server_name(strict, "server.test") == LASTBYTE_OK);
  CHECK(lastbyte_config_set_ca_dir(strict, NULL) == LASTBYTE_ERR_NULL_ARGUMENT); /* no anchors: the system store */
  CHECK(lastbyte_config_dangerously_disable_certificate_verification(loud) == LASTBYTE_OK);
  server_context = context_or_die(sc);
  strict_context = context_or_die(strict);
  loud_context = context_or_die(loud);
  client = connect_or_die(strict_context, NULL, NULL, 0);
  server = connect_or_die(server_context, NULL, NULL, 0);
  CHECK(!handshake(client, server));
  CHECK(lastbyte_verdict_get(client, &verdict) == LASTBYTE_OK);
  CHECK(verdict.kind == LASTBYTE_VERDICT_HANDSHAKE_REJECTED && verdict.reject_reason == LASTBYTE_REJECT_UNTRUSTED);
  lastbyte_connection_free(client);
  lastbyte_connection_free(server);
  client = connect_or_die(loud_context, "anything.invalid", NULL, 0);
  server = connect_or_die(server_context, NULL, NULL, 0);
  CHECK(handshake(client, server));
  lastbyte_connection_free(client);
  lastbyte_connection_free(server);
  lastbyte_context_free(strict_context);
  lastbyte_context_free(loud_context);
  lastbyte_context_free(server_context);
  /* A server requiring a client certificate. */
  CHECK(lastbyte_config_set_client_auth(sc, LASTBYTE_CLIENT_AUTH_REQUIRED) == LASTBYTE_OK);
  {
    size_t length;
    char* ca = read_file("ca.pem", &length);
    CHECK(lastbyte_config_add_ca(sc, ca, length, LASTBYTE_PEM) == LASTBYTE_OK);
    free(ca);
  }
  server_context = context_or_die(sc);
  {
    lastbyte_config* with_cert = client_config();
    lastbyte_config* without = client_config();
    lastbyte_context *a, *b;
    CHECK(lastbyte_config_set_certificate_files(with_cert, path_of("client.pem"), path_of("client.key")) == LASTBYTE_OK);
    a = context_or_die(with_cert);
    b = context_or_die(without);
    client = connect_or_die(a, NULL, NULL, 0);
    server = connect_or_die(server_context, NULL, NULL, 0);
    CHECK(handshake(client, server));
    lastbyte_connection_free(client);
    lastbyte_connection_free(server);
    client = connect_or_die(b, NULL, NULL, 0);
    server = connect_or_die(server_context, NULL, NULL, 0);
    CHECK(!handshake(client, server));
    CHECK(lastbyte_verdict_get(server, &verdict) == LASTBYTE_OK);
    CHECK(verdict.kind == LASTBYTE_VERDICT_HANDSHAKE_REJECTED && verdict.reject_reason == LASTBYTE_REJECT_CERTIFICATE_REQUIRED);
    lastbyte_connection_free(client);
    lastbyte_connection_free(server);
    lastbyte_context_free(a);
    lastbyte_context_free(b);
    lastbyte_config_free(with_cert);
    lastbyte_config_free(without);
  }
  lastbyte_context_free(server_context);
  lastbyte_config_free(sc);
  lastbyte_config_free(strict);
  lastbyte_config_free(loud);
}

/* Arguments C callers get wrong, and the texts of every code. */
static void test_misuse(void) {
  lastbyte_config* config = lastbyte_config_new(LASTBYTE_CLIENT);
  lastbyte_context* context = NULL;
  lastbyte_connection* connection = NULL;
  lastbyte_verdict verdict;
  char message[256];
  int code;
  CHECK(lastbyte_config_new((lastbyte_role)7) == NULL);
  CHECK(lastbyte_config_set_server_name(NULL, "x") == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_config_set_server_name(config, NULL) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_config_set_alpn(config, NULL, 1) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_config_set_versions(config, (lastbyte_version)0x0301, LASTBYTE_TLS1_3) == LASTBYTE_ERR_BAD_ARGUMENT);
  CHECK(lastbyte_config_set_client_auth(config, (lastbyte_client_auth)9) == LASTBYTE_ERR_BAD_ARGUMENT);
  CHECK(lastbyte_config_add_ca(config, "x", 0, LASTBYTE_PEM) == LASTBYTE_ERR_BAD_ARGUMENT);
  CHECK(lastbyte_config_set_certificate(config, "x", 1, "y", 1, (lastbyte_format)5) == LASTBYTE_ERR_BAD_ARGUMENT);
  CHECK(lastbyte_config_set_keylog(config, NULL, NULL) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_on_new_session(config, NULL, NULL) == LASTBYTE_OK);
  CHECK(lastbyte_config_set_queue_sizes(config, 10, 10) == LASTBYTE_OK);
  CHECK(lastbyte_context_new(config, &context, message, sizeof message) == LASTBYTE_ERR_INVALID_CONFIG);
  CHECK(context == NULL && strlen(message) > 0);
  CHECK(lastbyte_context_new(NULL, &context, NULL, 0) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_config_set_queue_sizes(config, 64 * 1024, 64 * 1024) == LASTBYTE_OK);
  context = context_or_die(config); /* no server name in the config */
  CHECK(lastbyte_connection_new(context, NULL, NULL, 0, &connection, message, sizeof message) ==
        LASTBYTE_ERR_INVALID_CONFIG);
  CHECK(connection == NULL);
  CHECK(lastbyte_connection_new(context, "*.bad", NULL, 0, &connection, NULL, 0) == LASTBYTE_ERR_INVALID_CONFIG);
  CHECK(lastbyte_connection_new(context, "server.test", (const uint8_t*)"junk", 4, &connection, message,
                                sizeof message) == LASTBYTE_ERR_INVALID_CONFIG);
  connection = connect_or_die(context, "server.test", NULL, 0);
  CHECK(lastbyte_verdict_get(connection, &verdict) == LASTBYTE_OK && verdict.kind == LASTBYTE_VERDICT_NONE);
  CHECK(lastbyte_verdict_get(connection, NULL) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_feed(connection, NULL, 3, NULL) == LASTBYTE_IO_REFUSED);
  CHECK(lastbyte_write(NULL, "x", 1, NULL) == LASTBYTE_IO_REFUSED);
  CHECK(lastbyte_handshake(NULL) == LASTBYTE_IO_REFUSED);
  CHECK(lastbyte_input_space(connection, NULL, NULL) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_output(connection, NULL, NULL) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_wants(NULL) == 0 && lastbyte_unsent(NULL) == 0);
  CHECK(lastbyte_release_buffers(NULL) == 0);
  CHECK(lastbyte_queue_storage_bytes(NULL) == 0);
  CHECK(lastbyte_config_set_keep_buffers_when_idle(NULL, 1) == LASTBYTE_ERR_NULL_ARGUMENT);
  CHECK(lastbyte_last_error(NULL) == LASTBYTE_ERR_NULL_ARGUMENT);
  {
    uint8_t* space;
    size_t room;
    CHECK(lastbyte_input_space(connection, &space, &room) == LASTBYTE_OK && room > 0);
    CHECK(lastbyte_commit_input(connection, room + 1) == LASTBYTE_ERR_INPUT_OVERFLOW);
    CHECK(lastbyte_feed(connection, "x", 0, NULL) == LASTBYTE_IO_OK);
    CHECK(lastbyte_commit_input(connection, 1) == LASTBYTE_ERR_INPUT_SPACE_STALE);
  }
  CHECK(strlen(lastbyte_backend_name()) > 0);
  for (code = 0; code <= LASTBYTE_ERR_OUT_OF_MEMORY; ++code) CHECK(strlen(lastbyte_strerror(code)) > 0);
  CHECK(strlen(lastbyte_strerror(LASTBYTE_ERR_NULL_ARGUMENT)) > 0);
  CHECK(strlen(lastbyte_strerror(LASTBYTE_ERR_BAD_ARGUMENT)) > 0);
  CHECK(strcmp(lastbyte_strerror(-5), "unknown lastbyte error code") == 0);
  lastbyte_connection_free(connection);
  lastbyte_connection_free(NULL);
  lastbyte_context_free(context);
  lastbyte_context_free(NULL);
  lastbyte_config_free(config);
  lastbyte_config_free(NULL);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: c_api_test PKI_DIR\n");
    return 2;
  }
  pki_dir = argv[1];
  test_exchange();
  test_der_resumption_and_ends();
  test_verification();
  test_misuse();
  if (failures) fprintf(stderr, "c_api_test: %d checks failed (backend %s)\n", failures, lastbyte_backend_name());
  else printf("c_api_test: every check held (backend %s)\n", lastbyte_backend_name());
  return failures ? 1 : 0;
}
