#include "dataplane/dpdk/port.h"

#include <cstring>

#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/dpdk/ring_port_pair.h"
#include "gtest/gtest.h"

namespace ferry::dpdk {
namespace {

class PortTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EalOptions eal;
    eal.hugepages = HugepageMode::kOff;
    eal.memory_mb = 256;
    ASSERT_TRUE(StartEal(eal).ok());
  }
};

TEST(DeviceSpecTest, AcceptsPciAndVdevSpecs) {
  for (const char* good : {"0000:3b:00.0", "3b:00.1", "0000:AF:1f.7",
                           "net_ring0", "net_af_packet0,iface=veth0",
                           "net_memif1,role=client,socket=/a.sock"}) {
    EXPECT_TRUE(ValidateDeviceSpec(good).ok()) << good;
  }
}

TEST(DeviceSpecTest, RejectsGarbage) {
  for (const char* bad :
       {"", "eth0", "0000:3b:00", "3b:00.8", "zz:00.0", "0000:3b:00.0.1",
        "net_", "net_bad-name0", "00000:3b:00.0", "memif0"}) {
    EXPECT_FALSE(ValidateDeviceSpec(bad).ok()) << bad;
  }
}

TEST_F(PortTest, RingPairCarriesFramesBothWays) {
  absl::StatusOr<RingPortPair> pair = CreateRingPortPair("pt");
  ASSERT_TRUE(pair.ok()) << pair.status();
  PortOptions options;
  options.mbufs_per_queue = 1023;
  absl::StatusOr<std::unique_ptr<Port>> a = Port::Adopt(pair->a, options);
  absl::StatusOr<std::unique_ptr<Port>> b = Port::Adopt(pair->b, options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE((*a)->Link().up);

  const PortQueue& qa = (*a)->queue(0);
  const PortQueue& qb = (*b)->queue(0);
  Packet* pkt = AllocPacket(qa);
  ASSERT_NE(pkt, nullptr);
  std::memset(FrameRoom(pkt).data(), 0x42, 100);
  SetFrameLength(pkt, 100);
  ASSERT_EQ(TxBurst(qa, &pkt, 1), 1);
  Packet* got[4];
  ASSERT_EQ(RxBurst(qb, got, 4), 1);
  EXPECT_EQ(FrameBytes(got[0]).size(), 100u);
  EXPECT_EQ(FrameBytes(got[0])[99], 0x42);
  FreePackets(got, 1);
  EXPECT_FALSE((*a)->Xstats().empty());
  EXPECT_EQ((*a)->Stats().tx_packets, 1u);
  EXPECT_EQ((*b)->Stats().rx_packets, 1u);
}

TEST_F(PortTest, OpenRejectsUnknownDriverWithReason) {
  PortOptions options;
  options.device = "net_nosuchdriver0";
  absl::StatusOr<std::unique_ptr<Port>> port = Port::Open(options);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(port.status().message().find("net_nosuchdriver0"),
            std::string::npos);
}

TEST_F(PortTest, OpenCreatesAndRemovesVdev) {
  PortOptions options;
  options.device = "net_null7";
  options.mbufs_per_queue = 1023;
  {
    absl::StatusOr<std::unique_ptr<Port>> port = Port::Open(options);
    ASSERT_TRUE(port.ok()) << port.status();
    EXPECT_EQ((*port)->name(), "net_null7");
    // Expect: the same device cannot be attached twice.
    EXPECT_EQ(Port::Open(options).status().code(),
              absl::StatusCode::kAlreadyExists);
  }
  // Expect: after the Port is gone the name is free again.
  absl::StatusOr<std::unique_ptr<Port>> again = Port::Open(options);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(PortTest, RejectsOutOfRangeMtuAndQueues) {
  absl::StatusOr<RingPortPair> pair = CreateRingPortPair("pt2");
  ASSERT_TRUE(pair.ok());
  PortOptions options;
  options.mtu = 20;
  EXPECT_EQ(Port::Adopt(pair->a, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.mtu = 1500;
  options.num_queues = 0;
  EXPECT_EQ(Port::Adopt(pair->a, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::dpdk
