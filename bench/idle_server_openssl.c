/* The baseline of the idle-connections measurement (bench/idle_rss.py): the
 * epoll example's keep-alive server (examples/epoll_server.c --keep-alive)
 * written against OpenSSL directly, the way an experienced OpenSSL user
 * would: non-blocking SSL objects on the sockets (SSL_set_fd), one SSL_CTX,
 * SSL_read_ex / SSL_write_ex driven by epoll, the same certificate, the
 * same answers, TCP_NODELAY.
 *
 *   lastbyte-bench-idle-openssl-server --port P --cert chain.pem --key key.pem
 *                                      [--body-size N] [--release-buffers]
 *
 * --release-buffers sets SSL_MODE_RELEASE_BUFFERS (nginx does): OpenSSL
 * frees its record buffers whenever they drain. Runs until killed. */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct connection {
  int fd;
  SSL* ssl;
  char request[8192];
  size_t request_length;
  size_t response_sent;
  int responding;
} connection;

static char* response;
static size_t response_length;

static void drop(connection* c) {
  SSL_free(c->ssl);
  close(c->fd);
  free(c);
}

/* What the SSL object waits for: 1 read, 2 write, 0 nothing, -1 failed. */
static int waits_for(connection* c, int rc) {
  switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ: return 1;
    case SSL_ERROR_WANT_WRITE: return 2;
    default: return -1;
  }
}

/* Reads requests and answers them, one at a time, until OpenSSL waits;
 * returns what it waits for, or -1 when the connection is over. */
static int service(connection* c) {
  for (;;) {
    if (!SSL_is_init_finished(c->ssl)) {
      int rc = SSL_do_handshake(c->ssl);
      if (rc != 1) return waits_for(c, rc);
    }
    if (c->responding) {
      size_t n = 0;
      if (SSL_write_ex(c->ssl, response + c->response_sent, response_length - c->response_sent, &n) != 1)
        return waits_for(c, 0);
      c->response_sent += n;
      if (c->response_sent < response_length) continue;
      c->responding = 0;
      c->request_length = 0;
      c->request[0] = '\0';
    }
    size_t n = 0;
    size_t room = sizeof c->request - 1 - c->request_length;
    if (room == 0) return -1; /* a head larger than 8 KiB */
    if (SSL_read_ex(c->ssl, c->request + c->request_length, room, &n) != 1) return waits_for(c, 0);
    c->request_length += n;
    c->request[c->request_length] = '\0';
    if (strstr(c->request, "\r\n\r\n")) {
      c->responding = 1;
      c->response_sent = 0;
    }
  }
}

int main(int argc, char** argv) {
  int port = -1, release_buffers = 0;
  size_t body_size = 65536;
  const char *cert = NULL, *key = NULL;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--cert") && i + 1 < argc) cert = argv[++i];
    else if (!strcmp(argv[i], "--key") && i + 1 < argc) key = argv[++i];
    else if (!strcmp(argv[i], "--body-size") && i + 1 < argc) body_size = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--release-buffers")) release_buffers = 1;
    else port = -1, i = argc;
  }
  if (port < 0 || port > 65535 || !cert || !key) {
    fprintf(stderr, "usage: lastbyte-bench-idle-openssl-server --port P --cert FILE --key FILE [--body-size N] "
                    "[--release-buffers]\n");
    return 2;
  }
  char header[128];
  int header_length = snprintf(header, sizeof header,
                               "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n\r\n", body_size);
  response_length = (size_t)header_length + body_size;
  response = malloc(response_length);
  if (!response) return 1;
  memcpy(response, header, (size_t)header_length);
  for (size_t i = 0; i < body_size; ++i) response[header_length + i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);

  /* What lastbyte's adapter sets: TLS 1.2 and 1.3, no renegotiation. */
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (release_buffers) SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t address_length = sizeof address;
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0 || listen(listener, 4096) != 0 ||
      getsockname(listener, (struct sockaddr*)&address, &address_length) != 0) {
    perror("listen");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("listening on 127.0.0.1:%u\n", ntohs(address.sin_port));

  int epoll = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &listen_event);
  for (;;) {
    struct epoll_event events[256];
    int n = epoll_wait(epoll, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      connection* c = events[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          c = calloc(1, sizeof *c);
          if (!c || !(c->ssl = SSL_new(ctx)) || SSL_set_fd(c->ssl, fd) != 1) return 1;
          c->fd = fd;
          /* OpenSSL's socket BIO sends each record as it is sealed (the
           * TLS 1.3 tickets, then the answer): without TCP_NODELAY, Nagle
           * holds the answer for the client's delayed ACK (40 ms). */
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          SSL_set_accept_state(c->ssl);
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      int wait = service(c);
      ERR_clear_error();
      if (wait < 0) {
        drop(c); /* the client's end, or a failure: either way the socket goes */
        continue;
      }
      struct epoll_event ev = {.events = wait == 2 ? EPOLLOUT : EPOLLIN, .data.ptr = c};
      epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &ev);
    }
  }
}
