#include <lastbyte/conformance/clauses.hpp>

#include <algorithm>

namespace lastbyte::conformance {

std::span<const ContractClause> contract_clauses() {
  using enum Clause;
  static const std::vector<ContractClause> all = {
      {.id = C1,
       .name = "Order",
       .statement = "Plaintext reaches the application in record order; the end-of-stream verdict comes only after "
                    "every byte of every authenticated record received before the transport end has been delivered.",
       .tests = {"ConnectionTest.ReadFillsTheBufferAcrossRecords", "R36.FreshConnectionsEveryBodyComplete",
                 "SelfTest.CatchesAnEngineThatDropsPlaintextItHolds",
                 "SoakSelfTest.CatchesAnEngineThatDropsPlaintextItHolds"}},
      {.id = C2,
       .name = "No wake-up needed",
       .statement = "Whenever plaintext can be produced without new transport bytes (engine-held plaintext, a "
                    "complete record in the inbound queue or the engine), the connection says so (e.g. "
                    "`wants().read_now`), so an event loop that only watches the socket cannot stall.",
       .tests = {"Driver.C2_WaitNeverSleepsWhileARecordIsBuffered", "SelfTest.CatchesAnEngineThatHidesPlaintextItHolds",
                 "SoakSelfTest.CatchesAnEngineThatHidesPlaintextItHolds"}},
      {.id = C3,
       .name = "Drain on EOF",
       .statement = "After transport EOF the core keeps feeding the inbound queue to the engine and reading until no "
                    "further progress is possible; only then does it report the end.",
       .tests = {"Driver.DataCloseNotifyAndEofInOneReceive", "SelfTest.CatchesAnEngineThatEndsBeforeDraining",
                 "SoakSelfTest.CatchesAnEngineThatEndsBeforeDraining"}},
      {.id = C4,
       .name = "One truthful verdict",
       .statement = "Exactly one of: `close_notify` (peer closed cleanly; bytes after it are ignored and counted), "
                    "`truncated` (EOF without close_notify, with the number of leftover bytes of an incomplete "
                    "record), `reset`, `peer_alert{code}`, `protocol_error{alert code}` (e.g. bad_record_mac, "
                    "record_overflow, unexpected_message, decode_error), `local_error`. The same wire bytes give the "
                    "same verdict on every backend. A truncated stream is never reported as a clean close; an opt-in "
                    "policy may accept it, but the verdict still says so.",
       .tests = {"ConnectionTest.UnauthenticatedCloseNotifyIsNeverACleanEnd",
                 "ConnectionTest.AcceptedTruncationStillSaysTruncated",
                 "ConnectionTest.TruncationIsNotAcceptableByDefault",
                 "FuzzFindings.OffCurveKeyShareGetsTheSameVerdictEveryTime", "Verdicts.DescribeIsStable"}},
      {.id = C5,
       .name = "Authenticity",
       .statement = "No byte of an unauthenticated or incomplete record is ever delivered. Bytes of records before a "
                    "bad record are delivered, then the error.",
       .tests = {"ConnectionTest.ReadFillsUpToAFailureAndRecordsItAtOnce",
                 "ConnectionTest.UnauthenticatedCloseNotifyIsNeverACleanEnd"}},
      {.id = C6,
       .name = "Read-size and chunking independence",
       .statement = "The delivered bytes and the verdict do not depend on the application's read size (1 byte to "
                    "64 KiB) nor on how the transport cuts the ciphertext (1 byte at a time, cuts inside record "
                    "headers, many records in one read, data and EOF in the same read).",
       .tests = {"ConnectionTest.OverlongPlaintextAlertGetsOneVerdictWhateverTheCut",
                 "Driver.DataCloseNotifyAndEofInOneReceive"}},
      {.id = C7,
       .name = "Post-handshake traffic",
       .statement = "NewSessionTicket, KeyUpdate, and application data that arrives in the same read as the final "
                    "handshake flight are handled transparently: never a stall, a spurious EOF or a lost byte.",
       .tests = {"FuzzFindings.Tls12ClientIgnoresEveryHelloRequest",
                 "FuzzFindings.GnuTlsRefusesANinthKeyUpdateWithinASecond", "Sessions.EverySurfacedSessionResumes"}},
      {.id = C8,
       .name = "Reset",
       .statement = "On reset, complete records already received are delivered, then the verdict `reset` (one policy "
                    "for all backends, documented).",
       .tests = {"ConnectionTest.C8_TransportErrorDeliversEveryRecordAndIsNeverClean",
                 "Driver.ResetFromTheSocketBecomesTheResetVerdict"}},
      {.id = C9,
       .name = "Half-close",
       .statement = "After the peer's close_notify the application may still write and then close (TLS 1.3); TLS 1.2 "
                    "follows RFC 5246 §7.2.1. Local `close()` sends close_notify and flushes it.",
       .tests = {"ConnectionTest.C9_HalfCloseFollowsTheVersionPolicy", "ConnectionTest.R29_BothSidesCloseAtOnce",
                 "ConnectionTest.R30_DataAfterOurCloseNotifyIsStillDelivered",
                 "ConnectionTest.CloseSentOnceOurCloseNotifyLeftTheOutput",
                 "NothingAfterOurCloseNotify.NoKeyUpdateAnswerFollowsOurCloseNotify"}},
      {.id = C10,
       .name = "Nothing accepted is lost (write side)",
       .statement = "Every byte that `write()` reported as accepted reaches the peer, in order, before our "
                    "close_notify; that holds for bytes written before the handshake finished, for writes larger "
                    "than one record or than the outbound queue, under back-pressure, and across KeyUpdate and "
                    "tickets. A write that cannot be taken now is refused or accepted partially with an exact count, "
                    "never dropped. Any engine write may be partial: the core loops, not the caller's luck.",
       .tests = {"ConnectionTest.W01_WritesBeforeTheHandshakeAreNeverDropped",
                 "ConnectionTest.C10_UnsentCountsWhatIsNotSentYet",
                 "ConnectionTest.OutboundQueueNeverGrowsPastItsCapacity",
                 "ConnectionTest.EarlyWritesAreSentWhenTheHandshakeFinishes",
                 "ConnectionTest.WriteAfterCloseIsRefused", "ConnectionTest.WriteAfterAFatalVerdictIsRefused",
                 "Driver.WriteAllBeforeTheHandshakeDrivesIt"}},
  };
  return all;
}

std::string to_string(Clause clause) { return "C" + std::to_string(static_cast<int>(clause)); }

std::vector<std::string> clause_problems(std::span<const Scenario> rows, std::span<const ContractClause> clauses) {
  std::vector<std::string> problems;
  auto known = [&](Clause c) {
    return std::any_of(clauses.begin(), clauses.end(), [&](const ContractClause& k) { return k.id == c; });
  };
  for (const Scenario& row : rows) {
    if (row.clauses.empty()) problems.push_back(std::string(row.id) + " names no contract clause");
    for (Clause c : row.clauses)
      if (!known(c)) problems.push_back(std::string(row.id) + " names " + to_string(c) + ", which is no contract clause");
  }
  for (const ContractClause& clause : clauses) {
    bool proven = std::any_of(rows.begin(), rows.end(), [&](const Scenario& row) {
      return std::find(row.clauses.begin(), row.clauses.end(), clause.id) != row.clauses.end();
    });
    if (!proven) problems.push_back(to_string(clause.id) + " (" + std::string(clause.name) + ") has no row");
  }
  return problems;
}

}  // namespace lastbyte::conformance
