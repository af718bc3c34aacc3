// Runs as root in a network namespace of its own (unshare), on a veth pair
// x0/x1 made there: the program is attached to x0 as DPDK's PMD would, and
// frames written to x1 with a packet socket reach it through the kernel.
#include "dataplane/xdp/xdp_attachment.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::xdp {
namespace {

const net::Ipv4Address kFerry{0x0a090001};   // 10.9.0.1
const net::Ipv4Address kKernel{0x0a090101};  // 10.9.1.1

class XdpAttachmentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << strerror(errno);
    ASSERT_EQ(std::system("ip link add x0 type veth peer name x1 && "
                          "ip link set x0 up && ip link set x1 up && "
                          "ip addr add 10.9.1.1/24 dev x0"),
              0);
  }

  void TearDown() override {
    std::system("ip link set dev x0 xdp off 2>/dev/null");
    if (object_ != nullptr) bpf_object__close(object_);
  }

  // Loads and attaches Ferry's program to x0 the way the PMD does.
  void AttachFerryProgram() {
    absl::StatusOr<ProgramFile> file = ProgramFile::Create();
    ASSERT_TRUE(file.ok()) << file.status();
    object_ = bpf_object__open_file(file->path().c_str(), nullptr);
    ASSERT_NE(object_, nullptr);
    ASSERT_EQ(bpf_object__load(object_), 0);
    bpf_program* program = bpf_object__next_program(object_, nullptr);
    ASSERT_NE(program, nullptr);
    ASSERT_EQ(bpf_xdp_attach(if_nametoindex("x0"), bpf_program__fd(program),
                             XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr),
              0);
  }

  // Writes one Ethernet frame of `ethertype` with `payload` on x1.
  static void SendOnPeer(uint16_t ethertype,
                         const std::vector<uint8_t>& payload) {
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);
    ASSERT_GE(fd, 0) << strerror(errno);
    sockaddr_ll to;
    std::memset(&to, 0, sizeof(to));
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(if_nametoindex("x1"));
    std::vector<uint8_t> frame(14, 0xff);  // to broadcast
    frame[6] = 0x02;                       // from a local MAC
    frame[12] = static_cast<uint8_t>(ethertype >> 8);
    frame[13] = static_cast<uint8_t>(ethertype);
    frame.insert(frame.end(), payload.begin(), payload.end());
    frame.resize(std::max<size_t>(frame.size(), 60));
    ASSERT_EQ(sendto(fd, frame.data(), frame.size(), 0,
                     reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(frame.size()))
        << strerror(errno);
    close(fd);
  }

  static std::vector<uint8_t> Ipv4To(net::Ipv4Address dst) {
    std::vector<uint8_t> ip(28, 0);
    ip[0] = 0x45;
    ip[3] = 28;
    ip[8] = 64;
    ip[9] = 17;  // UDP
    const uint32_t d = htonl(dst.value);
    std::memcpy(&ip[16], &d, 4);
    return ip;
  }

  static std::vector<uint8_t> ArpFor(net::Ipv4Address target) {
    std::vector<uint8_t> arp = {0, 1, 8, 0, 6, 4, 0, 1};
    arp.resize(28, 0);
    const uint32_t t = htonl(target.value);
    std::memcpy(&arp[24], &t, 4);
    return arp;
  }

  // Frames cross the veth asynchronously (the receiver's NAPI): polls
  // without a clock until the counters reach `want` or many reads passed.
  static ProgramCounters WaitForCounters(uint64_t ipv4, uint64_t arp) {
    ProgramCounters c;
    for (int i = 0; i < 200000; ++i) {
      absl::StatusOr<ProgramCounters> read = ReadProgramCounters("x0");
      EXPECT_TRUE(read.ok()) << read.status();
      if (!read.ok()) break;
      c = *read;
      if (c.diverted_ipv4 >= ipv4 && c.diverted_arp >= arp) break;
      sched_yield();
    }
    return c;
  }

  bpf_object* object_ = nullptr;
};

TEST_F(XdpAttachmentTest, DivertsOnlyWhatIsForFerrysAddress) {
  AttachFerryProgram();
  // Before ferryd says its address, nothing is diverted.
  SendOnPeer(ETHERTYPE_IP, Ipv4To(kFerry));
  ASSERT_TRUE(ConfigureAttachedProgram("x0", kFerry).ok());
  SendOnPeer(ETHERTYPE_IP, Ipv4To(kFerry));
  SendOnPeer(ETHERTYPE_IP, Ipv4To(kFerry));
  SendOnPeer(ETHERTYPE_ARP, ArpFor(kFerry));
  SendOnPeer(ETHERTYPE_IP, Ipv4To(kKernel));
  SendOnPeer(ETHERTYPE_ARP, ArpFor(kKernel));
  const ProgramCounters c = WaitForCounters(2, 1);
  EXPECT_EQ(c.diverted_ipv4, 2u);
  EXPECT_EQ(c.diverted_arp, 1u);
  // The kernel's two, and any of its own (IPv6, multicast) besides.
  EXPECT_GE(c.passed, 2u);
}

TEST_F(XdpAttachmentTest, RemovesOnlyFerrysLeftoverProgram) {
  absl::StatusOr<bool> removed = RemoveLeftoverProgram("x0");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_FALSE(*removed);

  AttachFerryProgram();
  ASSERT_NE(*AttachedProgramId("x0"), 0u);
  removed = RemoveLeftoverProgram("x0");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_TRUE(*removed);
  EXPECT_EQ(*AttachedProgramId("x0"), 0u);

  // Somebody else's program (XDP_PASS, two instructions) stays, and the
  // error names it.
  const bpf_insn pass[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const int fd =
      bpf_prog_load(BPF_PROG_TYPE_XDP, "not_ferry", "GPL", pass, 2, nullptr);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(bpf_xdp_attach(if_nametoindex("x0"), fd, 0, nullptr), 0);
  removed = RemoveLeftoverProgram("x0");
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(removed.status().message().find("not_ferry"), std::string::npos)
      << removed.status();
  EXPECT_NE(*AttachedProgramId("x0"), 0u);
  close(fd);
}

TEST_F(XdpAttachmentTest, RefusesTheKernelsAddress) {
  const absl::Status s = CheckAddressIsNotTheKernels(kKernel);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("x0"), std::string::npos) << s;
  EXPECT_TRUE(CheckAddressIsNotTheKernels(kFerry).ok());
}

TEST(AfXdpDeviceSpecTest, AddsProgramAndQueuesUnlessGiven) {
  EXPECT_EQ(AfXdpInterface("net_af_xdp0,iface=eth1,queue_count=2"), "eth1");
  EXPECT_EQ(AfXdpInterface("net_af_packet0,iface=eth1"), "");
  EXPECT_EQ(AfXdpDeviceSpec("net_af_xdp0,iface=eth1", "/p", 1),
            "net_af_xdp0,iface=eth1,xdp_prog=/p");
  EXPECT_EQ(AfXdpDeviceSpec("net_af_xdp0,iface=eth1", "/p", 2),
            "net_af_xdp0,iface=eth1,xdp_prog=/p,queue_count=2");
  EXPECT_EQ(AfXdpDeviceSpec("net_af_xdp0,iface=eth1,xdp_prog=/mine,"
                            "queue_count=4",
                            "/p", 2),
            "net_af_xdp0,iface=eth1,xdp_prog=/mine,queue_count=4");
}

}  // namespace
}  // namespace ferry::xdp
