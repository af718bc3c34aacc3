// Drives an engine over a ring-backed port pair: the engine owns port A, the
// test plays the peer host on port B, hand-building frames and asserting on
// what the engine transmits. Time is simulated through PollOnce(now).
#include "dataplane/engine/engine.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "dataplane/base/clock.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/dpdk/test_ports.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"
#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

using net::Ipv4Address;
using net::MacAddress;

const MacAddress kEngineMac{{0x02, 0xfe, 0, 0, 0, 1}};
const MacAddress kPeerMac{{0x02, 0xfe, 0, 0, 0, 2}};
const MacAddress kGatewayMac{{0x02, 0xfe, 0, 0, 0, 3}};
const Ipv4Address kEngineIp{0x0a4d0002};   // 10.77.0.2
const Ipv4Address kPeerIp{0x0a4d0001};     // 10.77.0.1
const Ipv4Address kGatewayIp{0x0a4d00fe};  // 10.77.0.254
const Ipv4Address kRemoteIp{0x0a630009};   // 10.99.0.9, off-subnet
constexpr uint64_t kMs = kNanosPerMilli;
constexpr uint64_t kStart = 1000 * kNanosPerSecond;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(dpdk::StartTestEal().ok()); }

  void SetUp() override {
    dpdk::PortOptions engine_side;
    engine_side.mbufs_per_queue = 1023;
    engine_side.mac = kEngineMac;
    dpdk::PortOptions peer_side = engine_side;
    peer_side.mac = kPeerMac;
    absl::StatusOr<dpdk::TestPorts> ports =
        dpdk::MakeTestPorts("eng", engine_side, peer_side);
    ASSERT_TRUE(ports.ok()) << ports.status();
    engine_port_ = std::move(ports->a);
    peer_port_ = std::move(ports->b);
  }

  void TearDown() override {
    engine_.reset();
    DrainPeer();
  }

  void MakeEngine(std::optional<Ipv4Address> gateway = std::nullopt,
                  const FaultConfig& faults = {}) {
    EngineConfig config;
    config.mac = kEngineMac;
    config.ip = {kEngineIp, 24};
    config.gateway = gateway;
    config.queue = engine_port_->queue(0);
    config.capabilities = engine_port_->capabilities();
    config.neighbor_timings.probe_interval_ns = 100 * kMs;
    config.neighbor_timings.max_probes = 3;
    config.faults = faults;
    engine_ = std::make_unique<Engine>(config);
  }

  // The peer host sends one frame.
  void PeerSends(const std::vector<uint8_t>& frame) {
    dpdk::Packet* pkt = dpdk::AllocPacket(peer_port_->queue(0));
    ASSERT_NE(pkt, nullptr);
    std::memcpy(dpdk::FrameRoom(pkt).data(), frame.data(), frame.size());
    dpdk::SetFrameLength(pkt, static_cast<uint32_t>(frame.size()));
    ASSERT_EQ(dpdk::TxBurst(peer_port_->queue(0), &pkt, 1), 1);
  }

  // Everything the engine has transmitted since the last call.
  std::vector<std::vector<uint8_t>> PeerReceives() {
    std::vector<std::vector<uint8_t>> frames;
    dpdk::Packet* pkts[32];
    uint16_t n;
    while ((n = dpdk::RxBurst(peer_port_->queue(0), pkts, 32)) > 0) {
      for (uint16_t i = 0; i < n; ++i) {
        absl::Span<const uint8_t> bytes = dpdk::FrameBytes(pkts[i]);
        frames.emplace_back(bytes.begin(), bytes.end());
      }
      dpdk::FreePackets(pkts, n);
    }
    return frames;
  }

  void DrainPeer() { PeerReceives(); }

  static std::vector<uint8_t> ArpFrame(uint16_t op, MacAddress eth_dst,
                                       MacAddress sender_mac,
                                       Ipv4Address sender_ip,
                                       MacAddress target_mac,
                                       Ipv4Address target_ip) {
    std::vector<uint8_t> frame(64);
    frame.resize(net::BuildArp(
        absl::MakeSpan(frame),
        {op, eth_dst, sender_mac, sender_ip, target_mac, target_ip}));
    return frame;
  }

  static std::vector<uint8_t> EchoFrame(uint8_t type, MacAddress src_mac,
                                        MacAddress dst_mac, Ipv4Address src,
                                        Ipv4Address dst, uint16_t id,
                                        uint16_t seq,
                                        const std::vector<uint8_t>& data) {
    std::vector<uint8_t> frame(1600);
    frame.resize(net::BuildIcmpEcho(absl::MakeSpan(frame),
                                    {src_mac, dst_mac, src, dst},
                                    {type, id, seq, 1, data}));
    return frame;
  }

  void StartPing(Ipv4Address ip, uint64_t interval_ns = kMs) {
    EngineCommand ping;
    ping.type = CommandType::kStartPing;
    ping.ip = ip;
    ping.count = 1;
    ping.interval_ns = interval_ns;
    ASSERT_TRUE(engine_->Post(ping).ok());
  }

  static net::ParsedFrame ParseOk(const std::vector<uint8_t>& frame) {
    net::ParsedFrame parsed;
    EXPECT_EQ(net::ParseFrame(absl::MakeConstSpan(frame), {}, &parsed),
              net::DropReason::kNone);
    return parsed;
  }

  std::unique_ptr<dpdk::Port> engine_port_;
  std::unique_ptr<dpdk::Port> peer_port_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, AnswersArpRequestForItsAddress) {
  MakeEngine();
  PeerSends(ArpFrame(net::kArpOpRequest, MacAddress::Broadcast(), kPeerMac,
                     kPeerIp, MacAddress{}, kEngineIp));
  EXPECT_TRUE(engine_->PollOnce(kStart));
  std::vector<std::vector<uint8_t>> out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  // Expect: a unicast reply "10.77.0.2 is at 02:fe:00:00:00:01".
  net::ParsedFrame reply = ParseOk(out[0]);
  EXPECT_EQ(reply.arp_op, net::kArpOpReply);
  EXPECT_EQ(reply.eth_dst, kPeerMac);
  EXPECT_EQ(reply.arp_sender_mac, kEngineMac);
  EXPECT_EQ(reply.arp_sender_ip, kEngineIp);
  EXPECT_EQ(reply.arp_target_ip, kPeerIp);
  EngineStats stats = engine_->ReadStats();
  EXPECT_EQ(stats.arp_requests_rx, 1u);
  EXPECT_EQ(stats.arp_replies_tx, 1u);
  EXPECT_EQ(stats.tx_packets, 1u);
  // Expect: the asker is learned, so a ping to it needs no ARP of our own.
  EXPECT_EQ(stats.arp_learned, 1u);
  StartPing(kPeerIp);
  engine_->PollOnce(kStart + kMs);
  out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ParseOk(out[0]).icmp_type, net::kIcmpTypeEchoRequest);
}

TEST_F(EngineTest, IgnoresArpForOtherAddresses) {
  MakeEngine();
  PeerSends(ArpFrame(net::kArpOpRequest, MacAddress::Broadcast(), kPeerMac,
                     kPeerIp, MacAddress{}, Ipv4Address{0x0a4d0063}));
  engine_->PollOnce(kStart);
  EXPECT_TRUE(PeerReceives().empty());
  EXPECT_EQ(engine_->ReadStats().arp_ignored, 1u);
}

TEST_F(EngineTest, CountsAnotherMacClaimingOurAddressButNotOurOwnEcho) {
  MakeEngine();
  // Our own gratuitous ARP, looped back by the wire.
  PeerSends(ArpFrame(net::kArpOpRequest, MacAddress::Broadcast(), kEngineMac,
                     kEngineIp, MacAddress{}, kEngineIp));
  engine_->PollOnce(kStart);
  EXPECT_EQ(engine_->ReadStats().arp_address_conflicts, 0u);
  EXPECT_EQ(engine_->ReadStats().arp_ignored, 1u);
  // Another host announcing our address.
  PeerSends(ArpFrame(net::kArpOpRequest, MacAddress::Broadcast(), kPeerMac,
                     kEngineIp, MacAddress{}, kEngineIp));
  engine_->PollOnce(kStart + kMs);
  EXPECT_EQ(engine_->ReadStats().arp_address_conflicts, 1u);
  EXPECT_EQ(engine_->ReadStats().arp_ignored, 2u);
}

TEST_F(EngineTest, AnswersEchoRequest) {
  MakeEngine();
  std::vector<uint8_t> data(200, 0x3c);
  PeerSends(EchoFrame(net::kIcmpTypeEchoRequest, kPeerMac, kEngineMac, kPeerIp,
                      kEngineIp, 77, 5, data));
  engine_->PollOnce(kStart);
  std::vector<std::vector<uint8_t>> out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  net::ParsedFrame reply = ParseOk(out[0]);
  EXPECT_EQ(reply.icmp_type, net::kIcmpTypeEchoReply);
  EXPECT_EQ(reply.ip_src, kEngineIp);
  EXPECT_EQ(reply.ip_dst, kPeerIp);
  EXPECT_EQ(reply.eth_dst, kPeerMac);
  EXPECT_EQ(reply.icmp_id, 77);
  EXPECT_EQ(reply.icmp_seq, 5);
  EXPECT_EQ(reply.payload_length, data.size());
  EXPECT_EQ(engine_->ReadStats().icmp_echo_replies_tx, 1u);
}

TEST_F(EngineTest, DropsAndCountsMalformedAndForeignFrames) {
  MakeEngine();
  std::vector<uint8_t> good =
      EchoFrame(net::kIcmpTypeEchoRequest, kPeerMac, kEngineMac, kPeerIp,
                kEngineIp, 1, 1, std::vector<uint8_t>(32));
  std::vector<uint8_t> truncated(good.begin(), good.begin() + 10);
  std::vector<uint8_t> bad_checksum = good;
  bad_checksum[net::kEtherHeaderSize + net::kIpv4TtlOffset] ^= 1;
  std::vector<uint8_t> other_mac =
      EchoFrame(net::kIcmpTypeEchoRequest, kPeerMac, kGatewayMac, kPeerIp,
                kEngineIp, 1, 1, std::vector<uint8_t>(32));
  std::vector<uint8_t> other_ip =
      EchoFrame(net::kIcmpTypeEchoRequest, kPeerMac, kEngineMac, kPeerIp,
                kRemoteIp, 1, 1, std::vector<uint8_t>(32));
  for (const auto& f : {truncated, bad_checksum, other_mac, other_ip}) {
    PeerSends(f);
  }
  engine_->PollOnce(kStart);
  EXPECT_TRUE(PeerReceives().empty());
  EngineStats stats = engine_->ReadStats();
  EXPECT_EQ(stats.rx_packets, 4u);
  EXPECT_EQ(stats.rx_drop_malformed[static_cast<size_t>(
                net::DropReason::kTruncatedEthernet)],
            1u);
  EXPECT_EQ(stats.rx_drop_malformed[static_cast<size_t>(
                net::DropReason::kBadIpv4Checksum)],
            1u);
  EXPECT_EQ(stats.rx_drop_foreign, 2u);
}

TEST_F(EngineTest, PingResolvesPeerByArpThenSends) {
  MakeEngine();
  StartPing(kPeerIp, 100 * kMs);
  engine_->PollOnce(kStart);
  // Expect: the echo request is parked and an ARP request goes out.
  std::vector<std::vector<uint8_t>> out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  net::ParsedFrame request = ParseOk(out[0]);
  EXPECT_EQ(request.ether_type, net::kEtherTypeArp);
  EXPECT_EQ(request.arp_op, net::kArpOpRequest);
  EXPECT_TRUE(request.eth_dst.IsBroadcast());
  EXPECT_EQ(request.arp_target_ip, kPeerIp);

  // The peer answers; expect the parked echo request to follow, addressed to
  // the peer's MAC.
  PeerSends(ArpFrame(net::kArpOpReply, kEngineMac, kPeerMac, kPeerIp,
                     kEngineMac, kEngineIp));
  engine_->PollOnce(kStart + 1 * kMs);
  out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  net::ParsedFrame echo = ParseOk(out[0]);
  EXPECT_EQ(echo.icmp_type, net::kIcmpTypeEchoRequest);
  EXPECT_EQ(echo.eth_dst, kPeerMac);
  EXPECT_EQ(echo.ip_dst, kPeerIp);

  // The peer replies to the echo (same data, which carries the send time).
  std::vector<uint8_t> data(
      out[0].begin() + echo.payload_offset,
      out[0].begin() + echo.payload_offset + echo.payload_length);
  PeerSends(EchoFrame(net::kIcmpTypeEchoReply, kPeerMac, kEngineMac, kPeerIp,
                      kEngineIp, echo.icmp_id, echo.icmp_seq, data));
  engine_->PollOnce(kStart + 3 * kMs);
  EngineStats stats = engine_->ReadStats();
  EXPECT_EQ(stats.arp_resolved, 1u);
  EXPECT_EQ(stats.icmp_echo_requests_tx, 1u);
  EXPECT_EQ(stats.icmp_echo_replies_rx, 1u);
  // Expect: RTT measured on the simulated clock, 3 ms.
  EXPECT_EQ(stats.ping_rtt_ns_sum, 3 * kMs);
}

TEST_F(EngineTest, UnsolicitedArpReplyDoesNotPoisonTheTable) {
  MakeEngine();
  PeerSends(ArpFrame(net::kArpOpReply, kEngineMac, kPeerMac, kPeerIp,
                     kEngineMac, kEngineIp));
  engine_->PollOnce(kStart);
  StartPing(kPeerIp);
  engine_->PollOnce(kStart + kMs);
  // Expect: the engine still asks, rather than trusting the unsolicited reply.
  std::vector<std::vector<uint8_t>> out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ParseOk(out[0]).ether_type, net::kEtherTypeArp);
}

TEST_F(EngineTest, OffSubnetGoesThroughGateway) {
  MakeEngine(kGatewayIp);
  StartPing(kRemoteIp);
  engine_->PollOnce(kStart);
  std::vector<std::vector<uint8_t>> out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  // Expect: ARP for the gateway, not for the remote host.
  EXPECT_EQ(ParseOk(out[0]).arp_target_ip, kGatewayIp);
  PeerSends(ArpFrame(net::kArpOpReply, kEngineMac, kGatewayMac, kGatewayIp,
                     kEngineMac, kEngineIp));
  engine_->PollOnce(kStart + kMs);
  out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  net::ParsedFrame echo = ParseOk(out[0]);
  EXPECT_EQ(echo.eth_dst, kGatewayMac);
  EXPECT_EQ(echo.ip_dst, kRemoteIp);
}

TEST_F(EngineTest, OffSubnetWithoutGatewayIsDropped) {
  MakeEngine();
  StartPing(kRemoteIp);
  engine_->PollOnce(kStart);
  EXPECT_TRUE(PeerReceives().empty());
  EXPECT_EQ(engine_->ReadStats().tx_drop_no_route, 1u);
}

TEST_F(EngineTest, UnansweredArpIsRetriedThenFails) {
  MakeEngine();
  StartPing(kPeerIp);
  // Three probes 100 ms apart (max_probes = 3), then failure.
  for (uint64_t t = 0; t <= 400 * kMs; t += 10 * kMs) {
    engine_->PollOnce(kStart + t);
  }
  std::vector<std::vector<uint8_t>> out = PeerReceives();
  EXPECT_EQ(out.size(), 3u);
  EngineStats stats = engine_->ReadStats();
  EXPECT_EQ(stats.arp_requests_tx, 3u);
  EXPECT_EQ(stats.arp_resolve_failed, 1u);
  EXPECT_EQ(stats.arp_pending_dropped, 1u);
}

TEST_F(EngineTest, FaultInjectionDropsDuplicatesAndDelays) {
  const std::vector<uint8_t> request =
      EchoFrame(net::kIcmpTypeEchoRequest, kPeerMac, kEngineMac, kPeerIp,
                kEngineIp, 1, 1, std::vector<uint8_t>(32));
  FaultConfig faults;
  faults.drop = 1;
  MakeEngine(std::nullopt, faults);
  PeerSends(request);
  engine_->PollOnce(kStart);
  // Expect: the reply was built, then dropped on the way out.
  EXPECT_TRUE(PeerReceives().empty());
  EXPECT_EQ(engine_->ReadStats().fault_dropped, 1u);

  faults = {};
  faults.duplicate = 1;
  MakeEngine(std::nullopt, faults);
  PeerSends(request);
  engine_->PollOnce(kStart);
  // Expect: the same reply twice.
  std::vector<std::vector<uint8_t>> out = PeerReceives();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(engine_->ReadStats().fault_duplicated, 1u);

  faults = {};
  faults.delay = 1;
  faults.delay_ns = 1 * kMs;
  MakeEngine(std::nullopt, faults);
  PeerSends(request);
  engine_->PollOnce(kStart);
  // Expect: held back for 1 ms of (simulated) time, then sent.
  EXPECT_TRUE(PeerReceives().empty());
  EXPECT_LE(engine_->next_timer_ns(), kStart + kMs);
  engine_->PollOnce(kStart + kMs / 2);
  EXPECT_TRUE(PeerReceives().empty());
  engine_->PollOnce(kStart + kMs);
  out = PeerReceives();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ParseOk(out[0]).icmp_type, net::kIcmpTypeEchoReply);
  EXPECT_EQ(engine_->ReadStats().fault_delayed, 1u);
}

TEST_F(EngineTest, RejectsBadPingCommand) {
  MakeEngine();
  ASSERT_TRUE(engine_->Start().ok());
  EngineCommand ping;
  ping.type = CommandType::kStartPing;
  ping.ip = kPeerIp;
  ping.count = 0;
  EXPECT_EQ(engine_->Execute(ping, absl::Seconds(10)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, SleepingAdaptiveEngineWakesForCommands) {
  MakeEngine();
  ASSERT_TRUE(engine_->Start().ok());
  // Wait (bounded) until the idle engine has gone to sleep at least once.
  for (int i = 0; i < 10000 && engine_->ReadStats().sleeps == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_GT(engine_->ReadStats().sleeps, 0u);
  EngineCommand noop;
  EXPECT_TRUE(engine_->Execute(noop, absl::Seconds(10)).ok());
  EXPECT_GE(engine_->ReadStats().commands, 1u);
  // Expect: the ring port has no RX interrupts, so only the doorbell or the
  // 1 ms timer can have woken it; with the doorbell counted at least once
  // over repeated commands to a sleeping engine.
  for (int i = 0; i < 50 && engine_->ReadStats().wakeups_doorbell == 0; ++i) {
    while (engine_->ReadStats().sleeps == 0)
      absl::SleepFor(absl::Milliseconds(1));
    absl::SleepFor(absl::Milliseconds(5));
    ASSERT_TRUE(engine_->Execute(noop, absl::Seconds(10)).ok());
  }
  EXPECT_GE(engine_->ReadStats().wakeups_doorbell, 1u);
}

}  // namespace
}  // namespace ferry::engine
