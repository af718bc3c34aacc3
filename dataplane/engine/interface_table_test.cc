#include "dataplane/engine/interface_table.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

net::Ipv4Address Ip(const char* text) { return *net::Ipv4Address::Parse(text); }

Interface Iface(const char* prefix, const char* gateway = "0.0.0.0") {
  Interface iface;
  iface.ip = *net::Ipv4Prefix::Parse(prefix);
  iface.gateway = Ip(gateway);
  return iface;
}

TEST(ChooseInterfaceTest, TheSubnetHoldingTheDestinationWins) {
  InterfaceSnapshot table;
  table[0] = Iface("10.70.0.1/24");
  table[3] = Iface("10.71.0.1/24");
  EXPECT_EQ(ChooseInterface(table, 0, Ip("10.71.0.2")), 3);
  EXPECT_EQ(ChooseInterface(table, 3, Ip("10.70.0.2")), 0);
  EXPECT_EQ(ChooseInterface(table, 3, Ip("10.71.0.9")), 3);
}

TEST(ChooseInterfaceTest, LongestPrefixThenThePreferredOne) {
  InterfaceSnapshot table;
  table[0] = Iface("10.0.0.1/8");
  table[1] = Iface("10.1.0.1/16");
  table[2] = Iface("10.1.0.2/16");
  EXPECT_EQ(ChooseInterface(table, 0, Ip("10.1.2.3")), 1);
  EXPECT_EQ(ChooseInterface(table, 2, Ip("10.1.2.3")), 2);
  EXPECT_EQ(ChooseInterface(table, 1, Ip("10.9.0.1")), 0);
}

TEST(ChooseInterfaceTest, OffSubnetGoesToAGateway) {
  InterfaceSnapshot table;
  table[0] = Iface("10.70.0.1/24");
  table[1] = Iface("10.71.0.1/24", "10.71.0.254");
  table[2] = Iface("10.72.0.1/24", "10.72.0.254");
  // The preferred interface when it has one, else the first that has.
  EXPECT_EQ(ChooseInterface(table, 2, Ip("192.168.1.1")), 2);
  EXPECT_EQ(ChooseInterface(table, 0, Ip("192.168.1.1")), 1);
}

TEST(ChooseInterfaceTest, NoRouteStaysOnThePreferredInterface) {
  InterfaceSnapshot table;
  table[4] = Iface("10.70.0.1/24");
  table[5] = Iface("10.71.0.1/24");
  EXPECT_EQ(ChooseInterface(table, 5, Ip("192.168.1.1")), 5);
  EXPECT_EQ(ChooseInterface(table, 1, Ip("192.168.1.1")), -1);
  EXPECT_EQ(ChooseInterface(InterfaceSnapshot{}, 0, Ip("10.70.0.2")), -1);
}

TEST(ChooseInterfaceTest, ALocalAddressNamesTheInterface) {
  InterfaceSnapshot table;
  table[0] = Iface("10.70.0.1/24");
  table[1] = Iface("10.71.0.1/24");
  // Even against the route: the caller asked for that source.
  EXPECT_EQ(ChooseInterface(table, 0, Ip("10.70.0.2"), Ip("10.71.0.1")), 1);
  EXPECT_EQ(ChooseInterface(table, 0, Ip("10.70.0.2"), Ip("10.70.0.9")), -1);
  EXPECT_EQ(InterfaceWithAddress(table, Ip("10.71.0.1")), 1);
  EXPECT_EQ(InterfaceWithAddress(table, Ip("10.71.0.2")), -1);
}

TEST(InterfaceTableTest, PublishReadWithdraw) {
  InterfaceTable table;
  Interface out;
  EXPECT_FALSE(table.Read(2, &out));
  Interface iface = Iface("10.70.0.1/24", "10.70.0.254");
  iface.mac = *net::MacAddress::Parse("02:00:00:00:00:0a");
  iface.mtu = 9000;
  iface.engines = 0b1100;
  table.Publish(2, iface);
  ASSERT_TRUE(table.Read(2, &out));
  EXPECT_EQ(out.ip.address, iface.ip.address);
  EXPECT_EQ(out.ip.length, 24);
  EXPECT_EQ(out.gateway, iface.gateway);
  EXPECT_EQ(out.mac, iface.mac);
  EXPECT_EQ(out.mtu, 9000);
  EXPECT_EQ(out.engines, 0b1100u);
  EXPECT_TRUE(table.Snapshot()[2].has_value());
  EXPECT_FALSE(table.Snapshot()[1].has_value());
  table.Withdraw(2);
  EXPECT_FALSE(table.Read(2, &out));
  EXPECT_FALSE(table.Read(-1, &out));
  EXPECT_FALSE(table.Read(kMaxInterfaces, &out));
}

// A reader racing a writer sees one whole interface or the other, never a
// mix (the seqlock).
TEST(InterfaceTableTest, ReadersNeverSeeHalfAnUpdate) {
  InterfaceTable table;
  Interface a = Iface("10.70.0.1/24", "10.70.0.254");
  a.engines = 1;
  Interface b = Iface("10.71.0.1/16", "10.71.0.254");
  b.engines = 2;
  table.Publish(0, a);
  // The writer keeps going until the reader has read many times: on a busy
  // 2-core machine the reader thread may not be scheduled before a fixed
  // number of writes is over.
  constexpr uint64_t kReads = 100000;
  std::atomic<uint64_t> reads{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 200000 || reads.load() < kReads; ++i) {
      table.Publish(0, i % 2 ? a : b);
    }
    stop = true;
  });
  while (!stop) {
    Interface out;
    ASSERT_TRUE(table.Read(0, &out));
    const Interface& want = out.engines == 1 ? a : b;
    ASSERT_EQ(out.ip.address, want.ip.address);
    ASSERT_EQ(out.ip.length, want.ip.length);
    ASSERT_EQ(out.gateway, want.gateway);
    reads.fetch_add(1, std::memory_order_relaxed);
  }
  writer.join();
  EXPECT_GE(reads.load(), kReads);
}

}  // namespace
}  // namespace ferry::engine
