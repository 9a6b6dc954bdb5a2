// fetch HOST PORT [CAFILE]: one HTTPS GET through the reference socket driver.
#include <lastbyte/lastbyte.hpp>
#include <lastbyte/socket_driver.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  using namespace lastbyte;
  if (argc < 3) {
    std::cerr << "usage: fetch HOST PORT [CAFILE]\n";
    return 2;
  }
  Config config;  // a client that verifies the certificate and the host name
  config.server_name = argv[1];
  if (argc > 3) config.ca_file = argv[3];
  auto context = Context::create(config, default_backend());
  if (!context) {
    std::cerr << context.error().message() << "\n";
    return 1;
  }
  auto deadline = net::after(std::chrono::seconds(10));
  auto socket = net::connect_tcp(argv[1], static_cast<std::uint16_t>(std::stoi(argv[2])), deadline);
  auto connection = Connection::create(*context);
  if (!socket || !connection) return 1;

  net::SocketDriver driver(*socket, *connection);
  std::string request = "GET / HTTP/1.1\r\nHost: " + config.server_name + "\r\nConnection: close\r\n\r\n";
  driver.write_all(std::as_bytes(std::span(request)), deadline);
  std::byte buffer[16384];
  for (;;) {
    IoResult r = driver.read(buffer, deadline);  // never waits while records are buffered (C2)
    if (r.status != IoStatus::ok) break;         // the end comes after every byte (C1, C3)
    std::cout.write(reinterpret_cast<const char*>(buffer), static_cast<std::streamsize>(r.bytes));
  }
  if (!connection->verdict()) return 1;  // timed out or I/O error
  std::cerr << describe(*connection->verdict()) << "\n";  // close_notify, truncated (...), reset, ...
  return is_acceptable_end(*connection->verdict()) ? 0 : 1;
}
