#include "dataplane/engine/neighbor_table.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

// The table never dereferences parked packets, so tests park tokens.
rte_mbuf* Token(uintptr_t i) { return reinterpret_cast<rte_mbuf*>(i * 64); }

const net::Ipv4Address kPeer{0x0a000002};
const net::MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 2}};
constexpr uint64_t kMs = 1'000'000;

// The MAC that Find answers with, as a value the assertions can compare.
std::optional<net::MacAddress> Lookup(const NeighborTable& table,
                                      net::Ipv4Address ip, uint64_t now_ns) {
  const net::MacAddress* mac = table.Find(ip, now_ns);
  if (mac == nullptr) return std::nullopt;
  return *mac;
}

NeighborTimings Timings() {
  NeighborTimings t;
  t.reachable_ns = 1000 * kMs;
  t.probe_interval_ns = 100 * kMs;
  t.max_probes = 3;
  return t;
}

TEST(NeighborTableTest, ResolvesAndReleasesParkedPackets) {
  NeighborTable table(8, Timings());
  EXPECT_FALSE(Lookup(table, kPeer, 0).has_value());
  // Expect: the first packet asks for an ARP request, the second just waits.
  EXPECT_EQ(table.QueuePending(kPeer, Token(1), 0),
            NeighborTable::QueueResult::kQueuedSendRequest);
  EXPECT_EQ(table.QueuePending(kPeer, Token(2), 0),
            NeighborTable::QueueResult::kQueued);
  EXPECT_FALSE(Lookup(table, kPeer, 0).has_value());

  rte_mbuf* released[NeighborTable::kMaxPendingPerEntry];
  size_t n = 0;
  EXPECT_EQ(table.Learn(kPeer, kPeerMac, false, 5 * kMs, released, &n),
            NeighborTable::LearnResult::kResolved);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(released[0], Token(1));
  EXPECT_EQ(released[1], Token(2));
  EXPECT_EQ(Lookup(table, kPeer, 6 * kMs), kPeerMac);
}

TEST(NeighborTableTest, UnsolicitedLearnDoesNotCreate) {
  NeighborTable table(8, Timings());
  rte_mbuf* released[NeighborTable::kMaxPendingPerEntry];
  size_t n;
  EXPECT_EQ(table.Learn(kPeer, kPeerMac, false, 0, released, &n),
            NeighborTable::LearnResult::kIgnored);
  EXPECT_FALSE(Lookup(table, kPeer, 0).has_value());
  EXPECT_EQ(table.Learn(kPeer, kPeerMac, true, 0, released, &n),
            NeighborTable::LearnResult::kCreated);
  EXPECT_EQ(Lookup(table, kPeer, 0), kPeerMac);
  EXPECT_EQ(table.Learn(kPeer, kPeerMac, true, 0, released, &n),
            NeighborTable::LearnResult::kUpdated);
}

// Lookup remembers the last next hop it found; every change to the table
// must show through that memory at once.
TEST(NeighborTableTest, ARememberedLookupFollowsChanges) {
  NeighborTable table(8, Timings());
  rte_mbuf* released[NeighborTable::kMaxPendingPerEntry];
  size_t n;
  const net::MacAddress moved{{0x02, 0, 0, 0, 0, 9}};
  table.Learn(kPeer, kPeerMac, true, 0, released, &n);
  EXPECT_EQ(Lookup(table, kPeer, 1 * kMs), kPeerMac);
  EXPECT_EQ(Lookup(table, kPeer, 2 * kMs), kPeerMac);
  // Expect: a new MAC (the peer restarted) is seen by the next lookup.
  table.Learn(kPeer, moved, false, 3 * kMs, released, &n);
  EXPECT_EQ(Lookup(table, kPeer, 4 * kMs), moved);
  // Expect: past its lifetime the entry is gone, remembered or not.
  EXPECT_FALSE(Lookup(table, kPeer, 3 * kMs + 1000 * kMs).has_value());
  // Expect: swept by Tick, and asked for again, it is unresolved.
  table.Tick(
      2000 * kMs, [](net::Ipv4Address) {}, [](rte_mbuf*) {},
      [](net::Ipv4Address) {});
  EXPECT_EQ(table.QueuePending(kPeer, Token(1), 2000 * kMs),
            NeighborTable::QueueResult::kQueuedSendRequest);
  EXPECT_FALSE(Lookup(table, kPeer, 2000 * kMs).has_value());
  // Expect: another next hop is not answered from the memory of this one.
  table.Learn(kPeer, kPeerMac, false, 2001 * kMs, released, &n);
  EXPECT_EQ(Lookup(table, kPeer, 2002 * kMs), kPeerMac);
  EXPECT_FALSE(Lookup(table, net::Ipv4Address{0x0a000003}, 2002 * kMs));
}

TEST(NeighborTableTest, ProbesThenFailsAndDropsParked) {
  NeighborTable table(8, Timings());
  table.QueuePending(kPeer, Token(1), 0);
  int probes = 0, failures = 0;
  std::vector<rte_mbuf*> dropped;
  auto tick = [&](uint64_t now) {
    table.Tick(
        now, [&](net::Ipv4Address) { ++probes; },
        [&](rte_mbuf* p) { dropped.push_back(p); },
        [&](net::Ipv4Address) { ++failures; });
  };
  tick(50 * kMs);  // Expect: nothing due yet.
  EXPECT_EQ(probes, 0);
  EXPECT_EQ(table.NextDeadline(), 100 * kMs);
  tick(100 * kMs);  // second request
  tick(200 * kMs);  // third request
  EXPECT_EQ(probes, 2);
  EXPECT_TRUE(dropped.empty());
  tick(300 * kMs);  // Expect: out of probes, the parked packet is dropped.
  EXPECT_EQ(failures, 1);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0], Token(1));
  EXPECT_EQ(table.size(), 0u);
}

TEST(NeighborTableTest, ReachableEntriesExpire) {
  NeighborTable table(8, Timings());
  rte_mbuf* released[NeighborTable::kMaxPendingPerEntry];
  size_t n;
  table.Learn(kPeer, kPeerMac, true, 0, released, &n);
  EXPECT_TRUE(Lookup(table, kPeer, 999 * kMs).has_value());
  EXPECT_FALSE(Lookup(table, kPeer, 1000 * kMs).has_value());
  // Expect: an expired entry resolves afresh on the next packet.
  EXPECT_EQ(table.QueuePending(kPeer, Token(3), 1000 * kMs),
            NeighborTable::QueueResult::kQueuedSendRequest);
}

TEST(NeighborTableTest, AReprobeConfirmsAndTheAnswerMovesTheEntry) {
  NeighborTable table(8, Timings());
  rte_mbuf* released[NeighborTable::kMaxPendingPerEntry];
  size_t n = 0;
  // Expect: nothing to re-probe for a next hop the table does not know.
  EXPECT_FALSE(table.ShouldReprobe(kPeer, 0));
  ASSERT_EQ(table.Learn(kPeer, kPeerMac, true, 0, released, &n),
            NeighborTable::LearnResult::kCreated);
  // Expect: one confirming request per probe interval, the entry usable.
  EXPECT_TRUE(table.ShouldReprobe(kPeer, 10 * kMs));
  EXPECT_FALSE(table.ShouldReprobe(kPeer, 50 * kMs));
  EXPECT_EQ(Lookup(table, kPeer, 50 * kMs), kPeerMac);
  EXPECT_TRUE(table.ShouldReprobe(kPeer, 110 * kMs));
  // The peer came back with another MAC; its answer updates the entry.
  const net::MacAddress moved{{0x02, 0, 0, 0, 0, 9}};
  EXPECT_EQ(table.Learn(kPeer, moved, false, 120 * kMs, released, &n),
            NeighborTable::LearnResult::kUpdated);
  EXPECT_EQ(Lookup(table, kPeer, 120 * kMs), moved);
}

TEST(NeighborTableTest, BoundsAreEnforced) {
  NeighborTable table(2, Timings());
  EXPECT_EQ(table.QueuePending({1}, Token(1), 0),
            NeighborTable::QueueResult::kQueuedSendRequest);
  EXPECT_EQ(table.QueuePending({2}, Token(2), 0),
            NeighborTable::QueueResult::kQueuedSendRequest);
  EXPECT_EQ(table.QueuePending({3}, Token(3), 0),
            NeighborTable::QueueResult::kTableFull);
  for (size_t i = 1; i < NeighborTable::kMaxPendingPerEntry; ++i) {
    EXPECT_EQ(table.QueuePending({1}, Token(10 + i), 0),
              NeighborTable::QueueResult::kQueued);
  }
  EXPECT_EQ(table.QueuePending({1}, Token(99), 0),
            NeighborTable::QueueResult::kPendingFull);
}

}  // namespace
}  // namespace ferry::engine
