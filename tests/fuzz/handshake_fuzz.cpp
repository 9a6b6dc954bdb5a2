// (a) Pre-handshake: input-chosen bytes fed to a fresh client (after its
// ClientHello) or a fresh server, with input-chosen chunking, read sizes,
// zero-copy feeding, and EOF, RST or nothing at the end.
//
// Oracle: no crash/UB; no plaintext is ever delivered and the handshake
// never finishes (nobody can forge a peer's signature or Finished); the
// verdict is never CloseNotify (a stream that never authenticated cannot end
// cleanly), a Truncated/Reset says during_handshake and is never accepted;
// plus every check of fuzz::deliver (one end, C2, a verdict once the
// transport ended). And C6: the same bytes delivered whole, read 16 KiB at a
// time, to a second fresh connection end with the same verdict (both
// connections start from the same library state: reset_library_state()).
//
// Input: selector (role, versions, configuration), delivery (3 bytes), then
// the peer's bytes (real ClientHellos and server flights in the seed corpus).
#include "support.hpp"

#include <lastbyte/testing/pki.hpp>

#include <map>

namespace {

using namespace lastbyte;
using namespace lastbyte::fuzz;

struct Choice {
  Role role = Role::client;
  int versions = 0;  // 0: TLS 1.2 only, 1: TLS 1.3 only, 2: both
  int variant = 0;   // bit 0: ALPN; bit 1: client: no verification / server: optional client certificate;
                     // bit 2: client: presents a certificate / server: requires one

  int key() const { return (role == Role::client ? 0 : 1) | versions << 1 | variant << 3; }
  std::string describe() const {
    static constexpr const char* v[] = {"TLS 1.2", "TLS 1.3", "TLS 1.2-1.3"};
    return std::string(role == Role::client ? "client" : "server") + " " + v[versions] + " variant " +
           std::to_string(variant);
  }
};

Config config_for(const Choice& c) {
  Config config = c.role == Role::client ? conformance::client_config(TlsVersion::tls1_3)
                                         : conformance::server_config(TlsVersion::tls1_3);
  config.min_version = c.versions == 1 ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
  config.max_version = c.versions == 0 ? TlsVersion::tls1_2 : TlsVersion::tls1_3;
  if (c.variant & 1) config.alpn = {"h2", "http/1.1"};
  if (c.role == Role::client) {
    if (c.variant & 2) config.dangerously_disable_certificate_verification = true;
    if (c.variant & 4) {
      config.cert_chain_pem = testing::test_pki().client.cert_pem;
      config.private_key_pem = testing::test_pki().client.key_pem;
    }
    config.on_new_session = [](std::span<const std::byte>) {};
  } else {
    if (c.variant & 2) config.client_auth = ClientAuth::optional;
    if (c.variant & 4) config.client_auth = ClientAuth::required;
  }
  return config;
}

const Context* context_for(const Choice& c) {
  static std::map<int, std::optional<Context>> contexts;
  auto it = contexts.find(c.key());
  if (it == contexts.end()) {
    auto context = Context::create(config_for(c), victim_backend());
    if (!context) {
      std::fprintf(stderr, "lastbyte-fuzz: %s: %s\n", c.describe().c_str(), context.error().message().c_str());
      std::abort();
    }
    it = contexts.emplace(c.key(), std::move(*context)).first;
  }
  return &*it->second;
}

Observed run(const Context& context, std::span<const std::byte> peer_bytes, const Delivery& delivery) {
  reset_library_state();  // both runs start from the same library state
  auto connection = Connection::create(context);
  if (!connection) violation("Connection::create failed: " + connection.error().message());
  connection->consume_output(connection->output().size());  // the ClientHello went out
  Observed o = deliver(*connection, peer_bytes, delivery, context.config().outbound_capacity);
  check(!connection->wants().handshake_done, [] { return "the handshake finished against bytes nobody could sign"; });
  return o;
}

void judge(const Observed& o) {
  check(o.plaintext.empty(), [&] {
    return "plaintext delivered before the handshake: " + std::to_string(o.plaintext.size()) + " bytes";
  });
  if (!o.verdict) return;
  const Verdict& v = *o.verdict;
  check(!std::holds_alternative<CloseNotify>(v), [] { return "CloseNotify for a stream that never authenticated"; });
  if (const auto* t = std::get_if<Truncated>(&v))
    check(t->during_handshake && !t->accepted, [&] { return "a truncation before the handshake says " + describe(v); });
  if (const auto* r = std::get_if<Reset>(&v))
    check(r->during_handshake, [&] { return "a reset before the handshake says " + describe(v); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(std::span(data, size));
  std::uint8_t selector = in.u8();
  Choice choice{.role = (selector & 1) ? Role::server : Role::client,
                .versions = ((selector >> 1) & 3) % 3,
                .variant = (selector >> 3) & 7};
  if (!victim_backend().supports(TlsVersion::tls1_3)) choice.versions = 0;
  Delivery delivery = Delivery::parse(in);
  std::span<const std::byte> peer_bytes = in.rest();
  set_context(choice.describe() + "; " + std::to_string(peer_bytes.size()) + " peer bytes " + hex(peer_bytes) + "; " +
              delivery.describe());
  const Context& context = *context_for(choice);

  Observed o = run(context, peer_bytes, delivery);
  judge(o);

  // C6: the verdict does not depend on how the bytes were cut or read.
  Delivery whole;
  whole.end = delivery.end;
  Observed reference = run(context, peer_bytes, whole);
  bool same = o.verdict ? reference.verdict && conformance::same_verdict(*reference.verdict, *o.verdict)
                        : !reference.verdict;
  check(same, [&] {
    return "C6: delivered as the input cuts it the verdict is " + (o.verdict ? describe(*o.verdict) : "none") +
           ", delivered whole it is " + (reference.verdict ? describe(*reference.verdict) : "none");
  });
  return 0;
}
