// The seeded soak (docs/adversarial.md, "Soak"): connection pairs in memory,
// each with a script drawn from one seed: what the peer sends (bodies of
// random sizes, then one of the close races), how the transport cuts it
// (also inside record headers, data and the end in one read or not), the
// victim's read sizes, and what the victim writes and when it closes. The
// oracle is the script and the contract: the bytes the peer sent, the
// verdict C4 mandates (CloseNotify only if the peer's close_notify arrived,
// Truncated/Reset with the exact leftover), every write() accepted or
// refused as connection.hpp says, and every byte the victim accepted
// reaching the peer, ended as the victim's close says.
#pragma once

#include <lastbyte/conformance/harness.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace lastbyte::conformance {

struct SoakStats {
  long pairs = 0;
  long connections = 0;
  long long bytes = 0;                      // plaintext delivered and checked, both directions
  std::map<std::string, long> verdicts;     // the victims' verdicts, by kind
  std::map<std::string, long> peer_verdicts;
  std::map<std::string, long> endings;      // the close races the scripts drew
  std::map<std::string, long> unsupported;  // a race a library cannot produce here, with why
  std::map<std::string, long> questions;    // outcomes the contract leaves open, allowed and counted
  long failures = 0;

  void add(const SoakStats& other);
};

// One (client backend, server backend, TLS version) cell: its Contexts are
// made once and shared by every pair it runs.
class SoakCell {
 public:
  static Expected<std::unique_ptr<SoakCell>> create(const Backend& client, const Backend& server, TlsVersion version);

  // Runs the pair drawn from `seed`; a description of what went wrong
  // (with the reproducer), or nullopt.
  std::optional<std::string> run(std::uint64_t seed, SoakStats& stats);

  std::string reproducer(std::uint64_t seed) const;
  std::string name() const;  // openssl->wolfssl TLSv1.3

  struct Impl;
  ~SoakCell();

 private:
  explicit SoakCell(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lastbyte::conformance
