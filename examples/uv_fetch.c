/* An HTTPS client on libuv through lastbyte's C API: fetches one URL path
 * over N connections, C at a time, and reports each connection's verdict
 * and whether its body is complete:
 *
 *   lastbyte-example-uv-fetch [-n N] [-c C] [--cafile FILE] [--timeout SEC] HOST PORT PATH
 *
 * HOST is verified against the certificate (a name or an IP address). A body
 * is complete when it has every byte its Content-Length announced, or, with
 * no length, when the stream ended with close_notify. Exit status: 0 when
 * every body is complete, 3 when one was cut, 1 for any other failure. A
 * connection without its end within --timeout (default 20 s) fails. */
#define _POSIX_C_SOURCE 200809L /* uv.h needs pthread_rwlock_t under -std=c99 */
#include <lastbyte/lastbyte.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

typedef struct fetch {
  uv_tcp_t tcp;
  uv_timer_t timer; /* the connection's deadline */
  int handles;      /* open handles: freed when both closed */
  int id;
  lastbyte_connection* tls;
  int request_sent;
  int ended;
  char head[8192]; /* the response head, until its blank line */
  size_t head_length;
  int head_done;
  long long content_length; /* -1: none */
  size_t body;
} fetch;

static lastbyte_context* context;
static const char *host, *path;
static struct sockaddr_in address;
static int total = 1, concurrency = 1, started, complete, truncated, failed;
static uint64_t timeout_ms = 20000;

static void start_next(void);

static void on_closed(uv_handle_t* handle) {
  fetch* f = handle->data;
  if (--f->handles > 0) return;
  lastbyte_connection_free(f->tls);
  free(f);
  start_next();
}

static void close_all(fetch* f) {
  uv_close((uv_handle_t*)&f->timer, on_closed);
  uv_close((uv_handle_t*)&f->tcp, on_closed);
}

static void on_shutdown(uv_shutdown_t* request, int status) {
  (void)status;
  close_all(request->handle->data);
  free(request);
}

static void flush(fetch* f);

static void finish(fetch* f) {
  f->ended = 1;
  uv_timer_stop(&f->timer);
  lastbyte_verdict v;
  lastbyte_verdict_get(f->tls, &v);
  int whole = f->head_done && (f->content_length >= 0 ? (long long)f->body == f->content_length
                                                      : v.kind == LASTBYTE_VERDICT_CLOSE_NOTIFY);
  printf("connection %d: %zu body bytes%s, %s\n", f->id, f->body, whole ? " (complete)" : " (INCOMPLETE)",
         v.kind == LASTBYTE_VERDICT_NONE ? "no verdict" : v.text);
  if (whole) ++complete;
  else if (f->head_done) ++truncated;
  else ++failed;
  /* Our close_notify before our FIN (RFC 8446 §6.1; TLS 1.2 queued it on
   * the server's), unless the stream failed; uv_shutdown sends what is
   * queued first, where uv_close would cancel it. */
  if (v.kind == LASTBYTE_VERDICT_CLOSE_NOTIFY) lastbyte_close(f->tls);
  flush(f);
  uv_shutdown_t* request = malloc(sizeof *request);
  if (!request || uv_shutdown(request, (uv_stream_t*)&f->tcp, on_shutdown) != 0) {
    free(request);
    close_all(f);
  }
}

static void on_written(uv_write_t* request, int status) {
  (void)status; /* a failed write shows as the read side's end */
  free(request->data);
  free(request);
}

/* Ciphertext out: libuv keeps the buffer until the write completes, so it
 * is copied and the output consumed at once. */
static void flush(fetch* f) {
  for (;;) {
    const uint8_t* data;
    size_t length;
    lastbyte_output(f->tls, &data, &length);
    if (length == 0) return;
    uv_write_t* request = malloc(sizeof *request);
    char* copy = malloc(length);
    if (!request || !copy) exit(1);
    memcpy(copy, data, length);
    request->data = copy;
    uv_buf_t buf = uv_buf_init(copy, (unsigned)length);
    lastbyte_consume_output(f->tls, length); /* may seal held plaintext: look again */
    if (uv_write(request, (uv_stream_t*)&f->tcp, &buf, 1, on_written) != 0) {
      free(copy);
      free(request);
      return;
    }
  }
}

static void take_plaintext(fetch* f, const char* data, size_t n) {
  if (f->head_done) {
    f->body += n;
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    if (f->head_length + 1 < sizeof f->head) f->head[f->head_length++] = data[i];
    f->head[f->head_length] = '\0';
    char* blank = strstr(f->head, "\r\n\r\n");
    if (!blank) continue;
    f->head_done = 1;
    for (char* line = strstr(f->head, "\r\n"); line && line < blank; line = strstr(line + 2, "\r\n"))
      if (!strncasecmp(line + 2, "Content-Length:", 15)) f->content_length = atoll(line + 17);
    f->body = n - i - 1;
    return;
  }
}

/* The recipe of docs/event-loops.md: after new transport bytes (or its
 * end), send the request once the handshake allows, read until blocked or
 * end, flush. */
static void drive(fetch* f) {
  if (!f->request_sent) {
    char request[1024];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
    size_t moved = 0;
    /* Accepted before the handshake ends and sealed when it does (C10). */
    if (lastbyte_write(f->tls, request, (size_t)n, &moved) == LASTBYTE_IO_OK && moved == (size_t)n)
      f->request_sent = 1;
  }
  char buffer[65536];
  for (;;) {
    size_t n = 0;
    lastbyte_io io = lastbyte_read(f->tls, buffer, sizeof buffer, &n);
    if (io == LASTBYTE_IO_OK) {
      take_plaintext(f, buffer, n);
      continue;
    }
    if (io == LASTBYTE_IO_END) f->ended = 1;
    break;
  }
  flush(f);
  if (f->ended) {
    uv_read_stop((uv_stream_t*)&f->tcp);
    finish(f);
  }
}

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  static char scratch[65536]; /* one thread, and on_read consumes it at once */
  (void)suggested;
  *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  fetch* f = stream->data;
  if (f->ended) return;
  if (nread > 0) {
    const char* data = buf->base;
    size_t left = (size_t)nread;
    while (left > 0) { /* a full inbound queue: read, then feed the rest */
      size_t taken = 0;
      lastbyte_feed(f->tls, data, left, &taken);
      data += taken, left -= taken;
      if (left > 0) drive(f);
      if (f->ended) return;
    }
  } else if (nread == UV_EOF) {
    lastbyte_feed_eof(f->tls); /* in the same turn as the last bytes */
  } else if (nread == UV_ECONNRESET) {
    lastbyte_feed_reset(f->tls);
  } else if (nread < 0) {
    lastbyte_feed_transport_error(f->tls); /* EOF or RST, libuv cannot say which */
  }
  if (nread != 0) drive(f);
}

static void on_connect(uv_connect_t* request, int status) {
  fetch* f = request->data;
  free(request);
  if (status != 0) {
    fprintf(stderr, "connection %d: connect: %s\n", f->id, uv_strerror(status));
    ++failed;
    f->ended = 1;
    close_all(f);
    return;
  }
  uv_read_start((uv_stream_t*)&f->tcp, on_alloc, on_read);
  drive(f); /* the ClientHello is already in the output */
}

static void on_timeout(uv_timer_t* timer) {
  fetch* f = timer->data;
  if (f->ended) return;
  printf("connection %d: no end within %llu ms (%zu body bytes)\n", f->id, (unsigned long long)timeout_ms, f->body);
  ++failed;
  f->ended = 1;
  uv_read_stop((uv_stream_t*)&f->tcp);
  close_all(f);
}

static void start_next(void) {
  if (started == total) return;
  fetch* f = calloc(1, sizeof *f);
  if (!f) exit(1);
  f->id = ++started;
  f->content_length = -1;
  char message[512];
  if (lastbyte_connection_new(context, host, NULL, 0, &f->tls, message, sizeof message) != LASTBYTE_OK) {
    fprintf(stderr, "connection %d: %s\n", f->id, message);
    ++failed;
    free(f);
    start_next();
    return;
  }
  uv_tcp_init(uv_default_loop(), &f->tcp);
  f->tcp.data = f;
  uv_timer_init(uv_default_loop(), &f->timer);
  f->timer.data = f;
  f->handles = 2;
  uv_timer_start(&f->timer, on_timeout, timeout_ms, 0);
  uv_connect_t* request = malloc(sizeof *request);
  if (!request) exit(1);
  request->data = f;
  uv_tcp_connect(request, &f->tcp, (const struct sockaddr*)&address, on_connect);
}

int main(int argc, char** argv) {
  const char* cafile = NULL;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    if (!strcmp(argv[i], "-n") && i + 1 < argc) total = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-c") && i + 1 < argc) concurrency = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--cafile") && i + 1 < argc) cafile = argv[++i];
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_ms = strtoull(argv[++i], NULL, 10) * 1000;
    else break;
  }
  if (argc - i != 3 || total < 1 || concurrency < 1) {
    fprintf(stderr, "usage: lastbyte-example-uv-fetch [-n N] [-c C] [--cafile FILE] [--timeout SEC] HOST PORT PATH\n");
    return 2;
  }
  host = argv[i];
  path = argv[i + 2];
  /* Loopback examples: HOST names the certificate, the address is 127.0.0.1. */
  if (uv_ip4_addr("127.0.0.1", atoi(argv[i + 1]), &address) != 0) return 2;

  char message[512];
  lastbyte_config* config = lastbyte_config_new(LASTBYTE_CLIENT);
  if (!config || (cafile && lastbyte_config_set_ca_file(config, cafile) != LASTBYTE_OK) ||
      lastbyte_context_new(config, &context, message, sizeof message) != LASTBYTE_OK) {
    fprintf(stderr, "lastbyte-example-uv-fetch: %s\n", config ? message : "out of memory");
    return 1;
  }
  lastbyte_config_free(config);
  for (int k = 0; k < concurrency; ++k) start_next();
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);
  printf("%d connections: %d complete, %d cut, %d failed\n", total, complete, truncated, failed);
  lastbyte_context_free(context);
  uv_loop_close(uv_default_loop());
  return complete == total ? 0 : truncated ? 3 : 1;
}
