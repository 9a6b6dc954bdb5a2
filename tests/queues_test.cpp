// White-box: the inbound queue's cost of feeding (core/src/queues.hpp).
#include "queues.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <vector>

namespace lastbyte::detail {
namespace {

// A 64-byte TLS 1.2 application-data record (during the handshake the gate
// passes it to the library unread).
std::array<std::byte, 64> small_record() {
  std::array<std::byte, 64> r{};
  r[0] = std::byte{23}, r[1] = std::byte{3}, r[2] = std::byte{3}, r[4] = std::byte{64 - 5};
  return r;
}

// Feeds `records` small records, one at a time, into a queue that keeps
// about `held` bytes unread: the application reads one record for each one
// fed, and when the queue takes nothing, reads every complete record first
// (C2) and feeds again. Returns the bytes the queue moved to make room.
std::size_t bytes_moved_feeding(std::size_t capacity, std::size_t held, std::size_t records) {
  InboundQueue queue(capacity);
  auto record = small_record();
  std::array<std::byte, 64> out{};
  while (queue.unconsumed() + record.size() <= held) EXPECT_EQ(queue.append(record), record.size());
  for (std::size_t i = 0; i < records; ++i) {
    EXPECT_EQ(queue.pull(out), out.size());
    if (queue.append(record) == record.size()) continue;
    EXPECT_FALSE(queue.accepts_input()) << "record " << i << ": a refusal wants() did not announce";
    while (queue.pull(out) > 0) {
    }
    EXPECT_TRUE(queue.accepts_input());
    EXPECT_EQ(queue.append(record), record.size()) << "record " << i << " not taken after reading";
  }
  return queue.bytes_compacted();
}

// Issue 13: an event loop fed 64-byte records while 46 KB were queued; the
// queue moved all of them for every record (770 MB per MiB fed). Now it
// moves at most what is fed, whatever it holds, up to a full queue (found
// by review: the first fix still moved the whole queue per record there).
TEST(InboundQueue, FeedingCostsWhatIsFedWhateverTheQueueHolds) {
  constexpr std::size_t capacity = 64 * 1024, records = 16 * 1024, fed = records * 64;  // 1 MiB
  for (std::size_t held : {std::size_t{1024}, std::size_t{46 * 1024}, std::size_t{60 * 1024}, capacity - 64, capacity}) {
    std::size_t moved = bytes_moved_feeding(capacity, held, records);
    EXPECT_LE(moved, fed) << held << " bytes held: " << moved << " bytes moved for " << fed << " fed";
  }
}

// The queue offers room whenever it has some and no complete record is
// waiting to be read; with records waiting and no room behind them, it
// offers none (and accepts_input() says so) until they are read.
TEST(InboundQueue, RoomIsOfferedUnlessRecordsAreWaiting) {
  auto record = small_record();
  std::array<std::byte, 64> out{};
  {
    InboundQueue queue(1024);
    while (queue.room() >= record.size()) ASSERT_EQ(queue.append(record), record.size());
    ASSERT_EQ(queue.pull(out), out.size());
    EXPECT_TRUE(queue.space().empty());
    EXPECT_FALSE(queue.accepts_input());
    while (queue.pull(out) > 0) {
    }
    EXPECT_TRUE(queue.accepts_input());
    EXPECT_EQ(queue.space().size(), 1024u);
  }
  {
    // 15 whole records and the first 64 bytes of a 200-byte one: full, and
    // once the 15 are read, the partial record moves to the front.
    InboundQueue queue(1024);
    for (int i = 0; i < 15; ++i) ASSERT_EQ(queue.append(record), record.size());
    auto partial = small_record();
    partial[3] = std::byte{0}, partial[4] = std::byte{200 - 5};
    ASSERT_EQ(queue.append(partial), partial.size());
    while (queue.pull(out) > 0) {
    }
    EXPECT_TRUE(queue.accepts_input());
    EXPECT_EQ(queue.space().size(), 1024u - 64u);
    EXPECT_EQ(queue.bytes_compacted(), 64u);
  }
}

}  // namespace
}  // namespace lastbyte::detail
