/* A C consumer of the installed package (tests/install_test.sh): built with
 * `cc -std=c99` and pkg-config only, it makes a client context and
 * connection and checks that the ClientHello is ready to send. */
#include <lastbyte/lastbyte.h>

#include <stdio.h>

int main(void) {
  lastbyte_config* config = lastbyte_config_new(LASTBYTE_CLIENT);
  lastbyte_context* context = NULL;
  lastbyte_connection* connection = NULL;
  const uint8_t* hello;
  size_t length = 0;
  char message[256];
  int rc;
  if (!config || lastbyte_config_set_server_name(config, "localhost") != LASTBYTE_OK) return 1;
  rc = lastbyte_context_new(config, &context, message, sizeof message);
  lastbyte_config_free(config);
  if (rc != LASTBYTE_OK) {
    fprintf(stderr, "lastbyte_context_new: %s: %s\n", lastbyte_strerror(rc), message);
    return 1;
  }
  rc = lastbyte_connection_new(context, NULL, NULL, 0, &connection, message, sizeof message);
  if (rc != LASTBYTE_OK || lastbyte_output(connection, &hello, &length) != LASTBYTE_OK || length == 0) {
    fprintf(stderr, "no ClientHello: %s\n", rc ? message : "empty output");
    return 1;
  }
  printf("lastbyte from C: backend %s, ClientHello of %zu bytes\n", lastbyte_backend_name(), length);
  lastbyte_connection_free(connection);
  lastbyte_context_free(context);
  return 0;
}
