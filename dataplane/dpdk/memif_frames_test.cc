#include "dataplane/dpdk/memif_frames.h"

#include "gtest/gtest.h"

namespace ferry::dpdk {
namespace {

TEST(MemifFrames, BufferSizeFromTheSpec) {
  EXPECT_EQ(MemifBufferSize("net_memif0,role=client,socket=/m.sock"), 2048u);
  EXPECT_EQ(MemifBufferSize("net_memif0,bsize=9216,role=client"), 9216u);
  EXPECT_EQ(MemifBufferSize("net_memif3,role=server,bsize=4096"), 4096u);
  // What DPDK would refuse counts as the default: the probe fails anyway.
  EXPECT_EQ(MemifBufferSize("net_memif0,bsize=lots"), 2048u);
  EXPECT_EQ(MemifBufferSize("net_memif0,bsize=0"), 2048u);
  EXPECT_EQ(MemifBufferSize("net_memif0,bsize=70000"), 2048u);
  // A key that merely ends in bsize, and other drivers, are not memif's.
  EXPECT_EQ(MemifBufferSize("net_memif0,xbsize=9216"), 2048u);
  EXPECT_EQ(MemifBufferSize("net_af_packet0,bsize=9216"), 2048u);
}

TEST(MemifFrames, JumboFramesGetABufferThatHoldsThem) {
  // MTU 9000 plus Ethernet header and CRC.
  EXPECT_EQ(MemifSpecForFrames("net_memif0,role=client,socket=/m", 9018),
            "net_memif0,role=client,socket=/m,bsize=9216");
  EXPECT_EQ(MemifBufferSize(MemifSpecForFrames("net_memif0,role=server", 9018)),
            9216u);
  EXPECT_EQ(MemifSpecForFrames("net_memif0", 4000), "net_memif0,bsize=4096");
}

TEST(MemifFrames, LeavesAloneWhatNeedsNoChange) {
  // Standard frames fit the default buffer.
  EXPECT_EQ(MemifSpecForFrames("net_memif0,role=client", 1518),
            "net_memif0,role=client");
  EXPECT_EQ(MemifSpecForFrames("net_memif0,role=client", 2048),
            "net_memif0,role=client");
  // An operator's bsize stands, even a small one (the MTU check refuses
  // the port then, naming the limit).
  EXPECT_EQ(MemifSpecForFrames("net_memif0,bsize=2048", 9018),
            "net_memif0,bsize=2048");
  // Other drivers keep their spec.
  EXPECT_EQ(MemifSpecForFrames("net_af_packet0,iface=veth0", 9018),
            "net_af_packet0,iface=veth0");
  EXPECT_EQ(MemifSpecForFrames("0000:3b:00.0", 9018), "0000:3b:00.0");
}

}  // namespace
}  // namespace ferry::dpdk
