// Native mode's measurements: a catalogue script played by a lastbyte peer
// to a library session driven through its own hooks, and what the
// application saw on every call.
#pragma once

#include "native.hpp"

#include <lastbyte/conformance/scenarios.hpp>

#include <optional>
#include <string>
#include <vector>

namespace lastbyte::conformance::native {

// One read the application made after the handshake.
struct Call {
  Result result = {};
  std::size_t hook_calls = 0;  // receive-hook calls it made
  Pending pending = {};        // the counters right after it
  std::size_t consumed = 0;    // bytes of the script's wire the library had taken, after it
  std::size_t delivered = 0;   // plaintext delivered so far, after it
  bool progress = false;       // it took socket bytes or returned plaintext
  bool readable = false;       // the socket still held bytes or its end after it
};

struct Observation {
  enum class Status { ran, unsupported, not_run } status = Status::ran;
  std::string note = {};  // unsupported / not run: why
  Script script = {};     // the wire and lastbyte's oracle
  std::vector<Call> calls = {};
  Bytes plaintext = {};
  int sessions = 0;                       // sessions surfaced after the handshake
  std::vector<std::size_t> sent_reading = {};  // sizes of the records the library sent while the application read
  // What one protected record of an alert / a KeyUpdate measures with the
  // suite negotiated (records are encrypted: sizes are all there is to see).
  std::size_t alert_record_size = 0, key_update_record_size = 0;
  std::optional<Result> write_after;      // a 1-byte write once the wire was delivered
  std::size_t records_for_write = 0;      // records that write produced
  bool spun = false;                      // the library kept calling a hook that answered 0
  // Certificate rows: the handshake's end and the library's own verdict.
  Result handshake = {};
  std::string verification = {};
};

struct StreamRun {
  const Scenario* scenario = nullptr;
  TlsVersion version = TlsVersion::tls1_3;
  Role victim = Role::client;
  Schedule schedule = {};
  std::size_t read_size = 16384;
  bool zero_hook = false;    // the hook answers 0 where it would block
  bool write_after = false;  // measure one write after the wire was delivered
};

// The scenario's script, built by ScriptWriter over a pair whose victim is
// `library`'s own session and whose peer is a lastbyte Connection of `peer`.
Observation observe_stream(const Library& library, const StreamRun& run, const Backend& peer);

// A V row: the certificate lastbyte's V row presents, checked by the
// library's own verification in one Verify mode.
Observation observe_certificate(const Library& library, std::string_view id, Verify verify, TlsVersion version,
                                const Backend& peer);

}  // namespace lastbyte::conformance::native
