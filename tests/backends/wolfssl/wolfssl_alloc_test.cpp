// An allocation failure on our sending side after the peer's FIN (found by a
// review of the allocation-failure handling; docs/adversarial.md). wolfSSL's
// allocators are the only ones a test in this process can swap for a while.
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/harness.hpp>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/memory.h>

#include <gtest/gtest.h>

#include <cstdlib>

namespace lastbyte::conformance {
namespace {

bool fail_next_allocation = false;

void* failing_malloc(size_t size) {
  if (fail_next_allocation && size > 0) {
    fail_next_allocation = false;
    return nullptr;
  }
  return std::malloc(size);
}
void plain_free(void* p) { std::free(p); }
void* failing_realloc(void* p, size_t size) {
  if (fail_next_allocation && size > 0) {
    fail_next_allocation = false;
    return nullptr;
  }
  return std::realloc(p, size);
}

struct FailingWolfSslAllocators {
  FailingWolfSslAllocators() {
    wolfSSL_GetAllocators(&malloc_, &free_, &realloc_);
    wolfSSL_SetAllocators(failing_malloc, plain_free, failing_realloc);
  }
  ~FailingWolfSslAllocators() { wolfSSL_SetAllocators(malloc_, free_, realloc_); }
  wolfSSL_Malloc_cb malloc_ = nullptr;
  wolfSSL_Free_cb free_ = nullptr;
  wolfSSL_Realloc_cb realloc_ = nullptr;
};

// The client wrote 64 KiB before the handshake and closed; the server's FIN
// (no close_notify) makes the client's verdict Truncated while held
// plaintext is still being sealed. One wolfSSL allocation then fails while
// output is drained. The core took a failure after Truncated for nothing:
// it went on sealing, and every consume_output() sent the same held bytes
// again (the peer received more than write() accepted) with no end in sight.
TEST(AllocationFailure, AfterTruncatedNothingMoreIsSealedAndNothingTwice) {
  auto wolfssl = find_backend("wolfssl", installed_backends());
  auto openssl = find_backend("openssl", installed_backends());
  ASSERT_TRUE(wolfssl && openssl);
  FailingWolfSslAllocators allocators;
  Config client = client_config(TlsVersion::tls1_3), server = server_config(TlsVersion::tls1_3);
  client.session_tickets = server.session_tickets = false;
  auto pair = MemoryPair::create(**wolfssl, client, **openssl, server);
  ASSERT_TRUE(pair) << pair.error().message();
  Connection& c = pair->client();
  Connection& s = pair->server();
  Bytes data = pattern(0, 100000);
  std::size_t accepted = c.write(data).bytes;
  ASSERT_GT(accepted, 0u);
  pair->transfer(Role::client);
  s.handshake();
  pair->transfer(Role::server);
  c.handshake();
  ASSERT_TRUE(c.wants().handshake_done);
  ASSERT_FALSE(c.close());
  ASSERT_FALSE(c.feed_eof());
  std::byte buffer[4096];
  while (c.read(buffer).status == IoStatus::ok) {
  }
  ASSERT_TRUE(c.verdict());
  ASSERT_TRUE(std::holds_alternative<Truncated>(*c.verdict())) << describe(*c.verdict());

  Bytes received;
  auto server_reads = [&] {
    for (IoResult r = s.read(buffer); r.status == IoStatus::ok; r = s.read(buffer))
      received.insert(received.end(), buffer, buffer + r.bytes);
  };
  fail_next_allocation = true;  // inside the first drain's sealing
  int rounds = 0;
  for (; rounds < 64 && !c.output().empty(); ++rounds) {
    pair->transfer_what_fits(Role::client);
    server_reads();
  }
  fail_next_allocation = false;
  EXPECT_TRUE(c.output().empty()) << "output still not drained after 64 rounds";
  for (int i = 0; i < 5; ++i) {  // an event loop's "room was made"
    ASSERT_FALSE(c.consume_output(0));
    pair->transfer_what_fits(Role::client);
    server_reads();
  }
  EXPECT_LE(received.size(), accepted) << "the peer received more than write() accepted";
  EXPECT_FALSE(first_difference(Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(received.size())),
                                received))
      << "the peer's plaintext is not what write() accepted";
  if (received.size() < accepted) {
    EXPECT_EQ(c.write(data).error, make_error_code(errc::out_of_memory)) << "write() does not say what failed";
  }
}

}  // namespace
}  // namespace lastbyte::conformance
