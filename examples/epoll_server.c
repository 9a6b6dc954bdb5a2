/* An HTTPS server on epoll through lastbyte's C API: many concurrent
 * connections in one thread, non-blocking sockets, the recipe of
 * docs/event-loops.md. Each connection reads one request, answers it with
 * a Content-Length body and close_notify, waits for the client's end and
 * prints its verdict:
 *
 *   lastbyte-example-epoll-server --port 8443 --cert chain.pem --key key.pem
 *                                 [--body-size N] [--max-connections N] [--keep-alive]
 *                                 [--idle-timeout S] [--keep-buffers]
 *
 * --port 0 picks a free port and prints it ("listening on 127.0.0.1:P").
 * --max-connections N: exit after N connections ended (status 0 if every
 * one ended with close_notify). --keep-alive answers request after request
 * (one at a time) and leaves the close to the client. --idle-timeout S
 * drops a connection silent for S seconds (30). Out of descriptors, it
 * stops accepting until a connection ends. An idle connection holds
 * no queues; --keep-buffers keeps them (lastbyte_config_set_keep_buffers_when_idle). */
#define _GNU_SOURCE
#include <lastbyte/lastbyte.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct connection {
  int fd;
  unsigned id;
  lastbyte_connection* tls;
  char request[8192];
  size_t request_length;
  size_t response_accepted; /* bytes of the response lastbyte_write() took */
  int closed;               /* close_notify queued */
  int ended;                /* lastbyte_read() returned END */
  int transport_ended;      /* EOF, reset or error fed */
  int send_failed;          /* the socket refused our bytes: the response is cut */
  time_t last_activity;
} connection;

static char* response;
static size_t response_length;
static int keep_alive;

/* 1. Transport in: receive straight into the inbound queue while it has
 * room. Returns 1 if anything came (bytes or the end). */
static int receive(connection* c) {
  int came = 0;
  while (!c->transport_ended && (lastbyte_wants(c->tls) & LASTBYTE_WANTS_INPUT)) {
    uint8_t* space;
    size_t length;
    if (lastbyte_input_space(c->tls, &space, &length) != LASTBYTE_OK || length == 0) return came;
    ssize_t n = recv(c->fd, space, length, 0);
    if (n > 0) {
      lastbyte_commit_input(c->tls, (size_t)n);
      came = 1;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return came;
    /* The end goes in now, in the same iteration as the last bytes: it is
     * what lets lastbyte_read() deliver the last records and the verdict. */
    if (n == 0) lastbyte_feed_eof(c->tls);
    else if (errno == ECONNRESET) lastbyte_feed_reset(c->tls);
    else lastbyte_feed_transport_error(c->tls);
    c->transport_ended = 1;
    came = 1;
  }
  return came;
}

/* 2. Read until blocked or end; collect the request head. Stops at the
 * head's end, so that the answer is queued before what follows is read: a
 * TLS 1.2 client's close_notify right behind its request (Y01) forbids
 * writing once it is read (RFC 5246 §7.2.1). */
static void read_request(connection* c) {
  char buffer[16384];
  while (c->closed || !strstr(c->request, "\r\n\r\n")) {
    size_t n = 0;
    lastbyte_io io = lastbyte_read(c->tls, buffer, sizeof buffer, &n);
    if (io == LASTBYTE_IO_OK) {
      size_t room = sizeof c->request - 1 - c->request_length;
      memcpy(c->request + c->request_length, buffer, n < room ? n : room);
      c->request_length += n < room ? n : room;
      c->request[c->request_length] = '\0';
      continue;
    }
    if (io == LASTBYTE_IO_END) c->ended = 1;
    return;
  }
}

/* 3. Answer once the head is in: as much as the outbound queue takes now,
 * the rest as the socket drains it; then close_notify. Returns 1 if it
 * queued anything. */
static int respond(connection* c) {
  if (c->closed || !strstr(c->request, "\r\n\r\n")) return 0;
  int queued = 0;
  while (c->response_accepted < response_length) {
    size_t n = 0;
    lastbyte_io io = lastbyte_write(c->tls, response + c->response_accepted, response_length - c->response_accepted, &n);
    if (io == LASTBYTE_IO_BLOCKED) return queued; /* the queue is full until output is sent */
    if (io != LASTBYTE_IO_OK) { /* the stream failed: nothing more goes out */
      c->closed = 1;
      return queued;
    }
    c->response_accepted += n;
    queued = 1;
  }
  if (keep_alive) { /* the next request, on the same connection: keep what follows this head */
    char* next = strstr(c->request, "\r\n\r\n") + 4;
    c->request_length -= (size_t)(next - c->request);
    memmove(c->request, next, c->request_length + 1);
    c->response_accepted = 0;
    return 1;
  }
  if (lastbyte_close(c->tls) == LASTBYTE_OK) queued = 1;
  c->closed = 1; /* queued, or refused after a failure: either way, done */
  return queued;
}

/* 4. Transport out: 0 once the output is empty, 1 while it waits for the
 * socket, -1 if the socket refused it (the peer is gone). *sent counts. */
static int flush(connection* c, int* sent) {
  for (;;) {
    const uint8_t* data;
    size_t length;
    lastbyte_output(c->tls, &data, &length);
    if (length == 0) return 0;
    ssize_t n = send(c->fd, data, length, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 1 : -1;
    *sent = 1;
    lastbyte_consume_output(c->tls, (size_t)n); /* may seal what write() held: look again */
  }
}

/* One turn of the recipe; returns 1 when the connection is finished. */
static int service(connection* c, int epoll) {
  int progress = receive(c);
  int waiting = 0;
  do {
    read_request(c);
    for (;;) { /* answer as far as the socket takes it now */
      int queued = respond(c), sent = 0;
      int flushed = flush(c, &sent);
      progress |= sent;
      if (flushed < 0) c->send_failed = 1;
      if (flushed != 0) {
        waiting = flushed > 0;
        break;
      }
      if (!queued && !sent) break; /* the output is empty and nothing more can be written now */
    }
    read_request(c); /* after the answer: the client's end, or (keep-alive) its next request */
  } while (keep_alive && !waiting && !c->send_failed && !c->closed && strstr(c->request, "\r\n\r\n"));
  if (keep_alive && c->ended && !c->closed && !c->send_failed) {
    /* The client closed between requests: our close_notify too (TLS 1.3
     * leaves the answer to us; after TLS 1.2's, lastbyte queued it). */
    lastbyte_close(c->tls);
    c->closed = 1;
    int sent = 0, flushed = flush(c, &sent);
    if (flushed < 0) c->send_failed = 1;
    waiting = flushed > 0;
  }
  if (progress) c->last_activity = time(NULL);
  /* Finished when the stream ended and everything we owe was sent (a
   * half-closed client still reads), or when the socket refused it. */
  if (c->send_failed || (c->ended && !waiting)) return 1;
  /* Wake up for what can make progress: input while the connection takes
   * it, the socket's room while output waits. */
  int input = !c->transport_ended && (lastbyte_wants(c->tls) & LASTBYTE_WANTS_INPUT);
  struct epoll_event ev = {.events = (input ? EPOLLIN : 0u) | (waiting ? EPOLLOUT : 0u), .data.ptr = c};
  epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &ev);
  return 0;
}

static int finish(connection* c) {
  lastbyte_verdict v;
  lastbyte_verdict_get(c->tls, &v);
  int answered = (c->closed || keep_alive) && !c->send_failed;
  printf("connection %u: %s%s\n", c->id, v.kind == LASTBYTE_VERDICT_NONE ? "timed out" : v.text,
         c->send_failed ? "; the response was cut (the socket refused it)" : "");
  int clean = v.kind == LASTBYTE_VERDICT_CLOSE_NOTIFY && answered;
  close(c->fd);
  lastbyte_connection_free(c->tls);
  free(c);
  return clean;
}

static int usage(void) {
  fprintf(stderr, "usage: lastbyte-example-epoll-server --port P --cert FILE --key FILE [--body-size N] "
                  "[--max-connections N] [--keep-alive] [--idle-timeout S] [--keep-buffers]\n");
  return 2;
}

int main(int argc, char** argv) {
  int port = -1;
  long max_connections = -1;
  size_t body_size = 65536;
  long idle_timeout = 30;
  int keep_buffers = 0;
  const char *cert = NULL, *key = NULL;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--cert") && i + 1 < argc) cert = argv[++i];
    else if (!strcmp(argv[i], "--key") && i + 1 < argc) key = argv[++i];
    else if (!strcmp(argv[i], "--body-size") && i + 1 < argc) body_size = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--max-connections") && i + 1 < argc) max_connections = atol(argv[++i]);
    else if (!strcmp(argv[i], "--keep-alive")) keep_alive = 1;
    else if (!strcmp(argv[i], "--idle-timeout") && i + 1 < argc) idle_timeout = atol(argv[++i]);
    else if (!strcmp(argv[i], "--keep-buffers")) keep_buffers = 1;
    else return usage();
  }
  if (port < 0 || port > 65535 || !cert || !key || idle_timeout <= 0) return usage();

  char header[128];
  int header_length = snprintf(header, sizeof header,
                               "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n", body_size,
                               keep_alive ? "keep-alive" : "close");
  response_length = (size_t)header_length + body_size;
  response = malloc(response_length);
  if (!response) return 1;
  memcpy(response, header, (size_t)header_length);
  for (size_t i = 0; i < body_size; ++i) response[header_length + i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);

  char message[512];
  lastbyte_config* config = lastbyte_config_new(LASTBYTE_SERVER);
  lastbyte_context* context = NULL;
  if (!config || lastbyte_config_set_certificate_files(config, cert, key) != LASTBYTE_OK ||
      lastbyte_config_set_keep_buffers_when_idle(config, keep_buffers) != LASTBYTE_OK ||
      lastbyte_context_new(config, &context, message, sizeof message) != LASTBYTE_OK) {
    fprintf(stderr, "lastbyte-example-epoll-server: %s\n", config ? message : "out of memory");
    return 1;
  }
  lastbyte_config_free(config);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t address_length = sizeof address;
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0 || listen(listener, 4096) != 0 ||
      getsockname(listener, (struct sockaddr*)&address, &address_length) != 0) {
    perror("lastbyte-example-epoll-server: listen");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* one line per connection, also when killed */
  printf("listening on 127.0.0.1:%u\n", ntohs(address.sin_port));

  int epoll = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &listen_event);
  /* Every live connection, for the idle timeout. */
  size_t live = 0, capacity = 1024;
  connection** all = malloc(capacity * sizeof *all);
  unsigned next_id = 0;
  long ended = 0, clean = 0;
  time_t last_scan = time(NULL);
  int accepting = 1; /* 0 while out of descriptors, until a connection ends */
  long ended_at_pause = 0;
  while (max_connections < 0 || ended < max_connections) {
    struct epoll_event events[256];
    int n = epoll_wait(epoll, events, 256, 1000);
    for (int i = 0; i < n; ++i) {
      connection* c = events[i].data.ptr;
      if (!c) { /* accept what waits */
        int fd;
        while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          c = calloc(1, sizeof *c);
          if (!c || (live == capacity && !(all = realloc(all, (capacity *= 2) * sizeof *all)))) return 1;
          c->fd = fd;
          c->id = ++next_id;
          if (lastbyte_connection_new(context, NULL, NULL, 0, &c->tls, message, sizeof message) != LASTBYTE_OK) {
            fprintf(stderr, "connection %u: %s\n", c->id, message);
            close(fd);
            free(c);
            continue;
          }
          all[live++] = c;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
          c->last_activity = time(NULL);
        }
        if (errno == EMFILE || errno == ENFILE) { /* the listener stays readable: it would wake us at once, forever */
          listen_event.events = 0;
          epoll_ctl(epoll, EPOLL_CTL_MOD, listener, &listen_event);
          accepting = 0;
          ended_at_pause = ended;
        }
        continue;
      }
      if (service(c, epoll)) {
        for (size_t j = 0; j < live; ++j)
          if (all[j] == c) all[j] = all[--live];
        clean += finish(c);
        ++ended;
      }
    }
    time_t now = time(NULL);
    if (now != last_scan) { /* a connection silent for idle_timeout seconds is dropped */
      last_scan = now;
      for (size_t j = 0; j < live;) {
        if (now - all[j]->last_activity < idle_timeout) {
          ++j;
          continue;
        }
        clean += finish(all[j]);
        ++ended;
        all[j] = all[--live];
      }
    }
    if (!accepting && ended > ended_at_pause) { /* a descriptor is free again */
      listen_event.events = EPOLLIN;
      epoll_ctl(epoll, EPOLL_CTL_MOD, listener, &listen_event);
      accepting = 1;
    }
  }
  printf("%ld connections, %ld ended with close_notify\n", ended, clean);
  for (size_t j = 0; j < live; ++j) finish(all[j]);
  free(all);
  free(response);
  lastbyte_context_free(context);
  close(epoll);
  close(listener);
  return clean == ended ? 0 : 1;
}
