// Protocol tests of the transport endpoint, in the manner of eRPC's: the
// test plays a peer host, hand-builds each segment, hands it to OnUdp_st
// and asserts on what the endpoint put on its (captured) transmit queue.
// Each step says what it expects. Time is simulated; the only DPDK in play
// is a mempool for the packets.
#include "dataplane/engine/transport_endpoint.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "dataplane/base/clock.h"
#include "dataplane/channel/channel_segment.h"
#include "dataplane/channel/engine_channel.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/dpdk/test_ports.h"
#include "dataplane/net/ferry_segment_builder.h"
#include "dataplane/net/frame_parser.h"
#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

using net::FerryHeader;
using net::FerryPacketType;
using net::Ipv4Address;
using net::MacAddress;

const MacAddress kEngineMac{{0x02, 0xfe, 0, 0, 0, 1}};
const MacAddress kPeerMac{{0x02, 0xfe, 0, 0, 0, 2}};
const Ipv4Address kEngineIp{0x0a4d0002};  // 10.77.0.2
const Ipv4Address kPeerIp{0x0a4d0001};    // 10.77.0.1
constexpr uint64_t kStart = 1000 * kNanosPerSecond;

// A segment the endpoint sent, parsed back.
struct Sent {
  Ipv4Address dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  FerryHeader header;
};

// The engine's side of sending, captured instead of transmitted.
class CapturingIo : public PacketIo {
 public:
  explicit CapturingIo(const dpdk::PortQueue& queue) : queue_(queue) {}
  ~CapturingIo() override { Take(); }

  dpdk::Packet* AllocPacket_st() override { return dpdk::AllocPacket(queue_); }
  void SendIpv4_st(dpdk::Packet* pkt, Ipv4Address, uint64_t) override {
    sent_.push_back(pkt);
  }
  // Through another NIC's engine: captured the same, and counted.
  void SendVia_st(dpdk::Packet* pkt, int engine) override {
    sent_.push_back(pkt);
    via_.push_back(engine);
  }
  const std::vector<int>& via() const { return via_; }
  bool NextHopResolved_st(Ipv4Address, uint64_t) override { return true; }
  void ConfirmNextHop_st(Ipv4Address dst, uint64_t) override {
    confirmed_.push_back(dst);
  }
  // Peers whose next hop the endpoint asked to confirm, oldest first.
  const std::vector<Ipv4Address>& confirmed() const { return confirmed_; }

  // What was sent since the last call, oldest first (the packets are freed).
  std::vector<Sent> Take() {
    std::vector<Sent> out;
    for (dpdk::Packet* pkt : sent_) {
      const absl::Span<const uint8_t> bytes = dpdk::FrameBytes(pkt);
      net::ParsedFrame frame;
      EXPECT_EQ(net::ParseFrame(bytes, {}, &frame), net::DropReason::kNone);
      Sent s;
      s.dst = frame.ip_dst;
      s.src_port = frame.udp_src_port;
      s.dst_port = frame.udp_dst_port;
      size_t offset = 0;
      EXPECT_EQ(net::ParseFerryHeader(
                    bytes.subspan(frame.payload_offset, frame.payload_length),
                    &s.header, &offset),
                net::FerryHeaderError::kNone);
      out.push_back(s);
      dpdk::FreePacket(pkt);
    }
    sent_.clear();
    return out;
  }

 private:
  const dpdk::PortQueue& queue_;
  std::vector<dpdk::Packet*> sent_;
  std::vector<Ipv4Address> confirmed_;
  std::vector<int> via_;
};

class TransportEndpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(dpdk::StartTestEal().ok()); }

  void SetUp() override {
    // The second port is unused: packets only need the first's mempool.
    dpdk::PortOptions options;
    options.mbufs_per_queue = 1023;
    options.mac = kEngineMac;
    absl::StatusOr<dpdk::TestPorts> ports =
        dpdk::MakeTestPorts("tep", options, options);
    ASSERT_TRUE(ports.ok()) << ports.status();
    port_ = std::move(ports->a);
    other_port_ = std::move(ports->b);
    io_ = std::make_unique<CapturingIo>(port_->queue(0));
    doorbell_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(doorbell_, 0);
  }

  void TearDown() override {
    if (endpoint_ != nullptr) {
      for (auto& channel : channels_)
        endpoint_->DetachChannel_st(*channel, now_);
      endpoint_.reset();
    }
    channels_.clear();
    io_.reset();
    close(doorbell_);
  }

  void MakeEndpoint(const TransportConfig& config) {
    endpoint_ = std::make_unique<TransportEndpoint>(
        config, kEngineMac, kEngineIp, false, *io_, counters_);
  }

  // An application's channel (no application behind it: the test reads
  // nothing from it).
  channel::EngineChannel& NewChannel(uint64_t session) {
    auto segment = channel::ChannelSegment::Create(
        shm::ChannelSizes{16, 1u << 20, 16, 16}, channels_.size() + 1,
        channel::SegmentMemory::kOrdinaryPages);
    EXPECT_TRUE(segment.ok()) << segment.status();
    auto channel =
        channel::EngineChannel::Create(std::move(*segment), doorbell_);
    EXPECT_TRUE(channel.ok()) << channel.status();
    (*channel)->set_quota_owner(session);
    channels_.push_back(std::move(*channel));
    return *channels_.back();
  }

  ferry_status Listen(channel::EngineChannel& channel, uint16_t port) {
    FlowOp op;
    op.kind = FlowOpKind::kListen;
    op.local_port = port;
    FlowOpResult result;
    EXPECT_TRUE(endpoint_->ApplyFlowOp_st(&channel, op, now_, &result, {}));
    return result.status;
  }

  // The peer sends one segment from `peer_port` to `local_port`, then the
  // endpoint polls; returns what it sent.
  std::vector<Sent> Receive(uint16_t peer_port, uint16_t local_port,
                            const FerryHeader& header) {
    const net::FerrySegmentAddress address = {
        {kPeerMac, kEngineMac, kPeerIp, kEngineIp},
        peer_port,
        local_port,
        ++ip_id_,
        true};
    dpdk::Packet* pkt = dpdk::AllocPacket(port_->queue(0));
    EXPECT_NE(pkt, nullptr);
    const absl::Span<uint8_t> room = dpdk::FrameRoom(pkt);
    const size_t n = net::BuildFerrySegment(room, address, header, {});
    EXPECT_GT(n, 0u);
    dpdk::SetFrameLength(pkt, static_cast<uint32_t>(n));
    net::ParsedFrame frame;
    EXPECT_EQ(net::ParseFrame(dpdk::FrameBytes(pkt), {}, &frame),
              net::DropReason::kNone);
    endpoint_->OnUdp_st(pkt, frame, now_);
    endpoint_->Poll_st(now_);
    return io_->Take();
  }

  // A peer's SYN for a new flow `peer_flow` at `local_port`.
  std::vector<Sent> Syn(uint16_t peer_port, uint16_t local_port,
                        uint32_t peer_flow) {
    FerryHeader syn;
    syn.type = FerryPacketType::kSyn;
    syn.src_flow = peer_flow;
    syn.seq = PeerIsn(peer_flow);
    syn.window = 64;
    return Receive(peer_port, local_port, syn);
  }

  // SYNs for flows `first`..`first + count - 1` from one address that
  // never answers; each must get its SYN-ACK.
  void SynFlood(uint16_t port, uint32_t first, uint32_t count) {
    for (uint32_t flow = first; flow < first + count; ++flow) {
      const std::vector<Sent> sent = Syn(50000, port, flow);
      ASSERT_EQ(sent.size(), 1u);
      EXPECT_EQ(sent[0].header.type, FerryPacketType::kSynAck);
      EXPECT_EQ(sent[0].header.dst_flow, flow);
    }
  }

  // The peer's ACK that completes the handshake a SYN-ACK began.
  std::vector<Sent> CompleteHandshake(uint16_t peer_port, const Sent& synack) {
    FerryHeader ack;
    ack.type = FerryPacketType::kAck;
    ack.src_flow = synack.header.dst_flow;
    ack.dst_flow = synack.header.src_flow;
    ack.seq = PeerIsn(synack.header.dst_flow) + 1;
    ack.ack = synack.header.seq + 1;
    ack.window = 64;
    return Receive(peer_port, synack.src_port, ack);
  }

  static uint32_t PeerIsn(uint32_t peer_flow) { return peer_flow * 1000; }

  uint64_t now_ = kStart;
  std::unique_ptr<dpdk::Port> port_;
  std::unique_ptr<dpdk::Port> other_port_;
  std::unique_ptr<CapturingIo> io_;
  EngineCounters counters_;
  int doorbell_ = -1;
  std::vector<std::unique_ptr<channel::EngineChannel>> channels_;
  std::unique_ptr<TransportEndpoint> endpoint_;
  uint16_t ip_id_ = 0;
};

// Expects one SYN-ACK to `peer_flow`.
void ExpectSynAck(const std::vector<Sent>& sent, uint32_t peer_flow) {
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.type, FerryPacketType::kSynAck);
  EXPECT_EQ(sent[0].header.dst_flow, peer_flow);
  EXPECT_EQ(sent[0].dst, kPeerIp);
}

TEST_F(TransportEndpointTest, AFloodAtOneListenerLeavesAnothersHandshakes) {
  TransportConfig config;
  config.max_half_open = 6;
  config.max_half_open_per_listener = 3;
  MakeEndpoint(config);
  channel::EngineChannel& flooded = NewChannel(1);
  channel::EngineChannel& quiet = NewChannel(2);
  ASSERT_EQ(Listen(flooded, 7000), FERRY_STATUS_OK);
  ASSERT_EQ(Listen(quiet, 7001), FERRY_STATUS_OK);

  // A legitimate SYN at the quiet listener.
  // Expect: a SYN-ACK; its flow is half-open.
  const std::vector<Sent> legit = Syn(40000, 7001, 1);
  ExpectSynAck(legit, 1);

  // Three SYNs at the flooded listener, from addresses that never answer.
  // Expect: a SYN-ACK each; the listener is at its bound, nothing dropped.
  SynFlood(7000, 100, 3);
  EXPECT_EQ(counters_.transport_syn_listener_full.Get(), 0u);

  // Twenty more at the flooded listener.
  // Expect: each is answered and evicts that listener's oldest half-open
  // flow, silently (no RST for an address that sent nothing else).
  SynFlood(7000, 103, 20);
  EXPECT_EQ(counters_.transport_syn_listener_full.Get(), 20u);

  // The quiet listener's peer completes its handshake.
  // Expect: its flow survived the flood and is established (with only the
  // engine-wide bound of 6, the flood would have evicted it).
  EXPECT_TRUE(CompleteHandshake(40000, legit[0]).empty());
  EXPECT_EQ(counters_.transport_flows_opened.Get(), 1u);
}

TEST_F(TransportEndpointTest, AtTheEngineBoundTheBusiestListenerGivesWay) {
  TransportConfig config;
  config.max_half_open = 6;  // per listener: the default, the whole engine
  MakeEndpoint(config);
  channel::EngineChannel& flooded = NewChannel(1);
  channel::EngineChannel& quiet = NewChannel(2);
  ASSERT_EQ(Listen(flooded, 7000), FERRY_STATUS_OK);
  ASSERT_EQ(Listen(quiet, 7001), FERRY_STATUS_OK);

  // A legitimate SYN at the quiet listener, then five at the flooded one.
  // Expect: six half-open flows, the engine's bound, none evicted.
  const std::vector<Sent> legit = Syn(40000, 7001, 1);
  ExpectSynAck(legit, 1);
  std::vector<Sent> oldest = Syn(50000, 7000, 100);
  ExpectSynAck(oldest, 100);
  SynFlood(7000, 101, 4);
  EXPECT_EQ(counters_.transport_syn_listener_full.Get(), 0u);

  // Fifteen more at the flooded listener.
  // Expect: each evicts the flooded listener's oldest, never the other's.
  SynFlood(7000, 105, 15);
  EXPECT_EQ(counters_.transport_syn_listener_full.Get(), 15u);

  // The first flooded flow's peer answers its SYN-ACK late.
  // Expect: its id is stale: a RST, and nothing opens.
  const std::vector<Sent> late = CompleteHandshake(50000, oldest[0]);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].header.type, FerryPacketType::kRst);
  EXPECT_EQ(counters_.transport_rx_unknown_flow.Get(), 1u);

  // The quiet listener's peer completes its handshake.
  // Expect: established.
  EXPECT_TRUE(CompleteHandshake(40000, legit[0]).empty());
  EXPECT_EQ(counters_.transport_flows_opened.Get(), 1u);
}

TEST_F(TransportEndpointTest, ALoneListenerMayUseTheWholeEngineBound) {
  TransportConfig config;
  config.max_half_open = 8;
  MakeEndpoint(config);
  channel::EngineChannel& channel = NewChannel(1);
  ASSERT_EQ(Listen(channel, 7000), FERRY_STATUS_OK);

  // A burst of eight real connects, their ACKs still on the way.
  // Expect: all eight half-open at once, nobody evicted, and each
  // handshake then completes.
  std::vector<Sent> synacks;
  for (uint32_t flow = 1; flow <= 8; ++flow) {
    const std::vector<Sent> sent = Syn(40000, 7000, flow);
    ExpectSynAck(sent, flow);
    synacks.push_back(sent[0]);
  }
  EXPECT_EQ(counters_.transport_syn_listener_full.Get(), 0u);
  for (const Sent& synack : synacks) {
    EXPECT_TRUE(CompleteHandshake(40000, synack).empty());
  }
  EXPECT_EQ(counters_.transport_flows_opened.Get(), 8u);
}

TEST_F(TransportEndpointTest, CompletedHandshakesFreeTheirListenersRoom) {
  TransportConfig config;
  config.max_half_open = 8;
  config.max_half_open_per_listener = 2;
  MakeEndpoint(config);
  channel::EngineChannel& channel = NewChannel(1);
  ASSERT_EQ(Listen(channel, 7000), FERRY_STATUS_OK);

  // Two peers connect and complete their handshakes.
  // Expect: both established; neither counts as half-open any more.
  for (uint32_t flow = 1; flow <= 2; ++flow) {
    const std::vector<Sent> synack = Syn(40000 + flow, 7000, flow);
    ExpectSynAck(synack, flow);
    EXPECT_TRUE(CompleteHandshake(40000 + flow, synack[0]).empty());
  }
  EXPECT_EQ(counters_.transport_flows_opened.Get(), 2u);

  // Two more SYNs.
  // Expect: room for both without evicting anyone.
  ExpectSynAck(Syn(40003, 7000, 3), 3);
  ExpectSynAck(Syn(40004, 7000, 4), 4);
  EXPECT_EQ(counters_.transport_syn_listener_full.Get(), 0u);
}

TEST_F(TransportEndpointTest, ARepeatedSynFindsItsFlow) {
  MakeEndpoint(TransportConfig{});
  channel::EngineChannel& channel = NewChannel(1);
  ASSERT_EQ(Listen(channel, 7000), FERRY_STATUS_OK);

  // Expect: a SYN-ACK naming a new flow.
  const std::vector<Sent> first = Syn(40000, 7000, 9);
  ExpectSynAck(first, 9);

  // The same SYN again (our SYN-ACK was lost).
  // Expect: the same flow answers again: same id, same sequence number.
  const std::vector<Sent> again = Syn(40000, 7000, 9);
  ExpectSynAck(again, 9);
  EXPECT_EQ(again[0].header.src_flow, first[0].header.src_flow);
  EXPECT_EQ(again[0].header.seq, first[0].header.seq);
  EXPECT_EQ(endpoint_->active_flows(), 1u);

  // A SYN with the same peer flow id from another UDP port.
  // Expect: another flow (the index keys on address, ports and id).
  const std::vector<Sent> other = Syn(40001, 7000, 9);
  ExpectSynAck(other, 9);
  EXPECT_NE(other[0].header.src_flow, first[0].header.src_flow);
  EXPECT_EQ(endpoint_->active_flows(), 2u);
}

TEST_F(TransportEndpointTest, ASynWithoutAListenerIsRefused) {
  MakeEndpoint(TransportConfig{});
  // Expect: a RST acknowledging the SYN, and no flow.
  const std::vector<Sent> sent = Syn(40000, 7000, 5);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.type, FerryPacketType::kRst);
  EXPECT_EQ(sent[0].header.dst_flow, 5u);
  EXPECT_EQ(sent[0].header.ack, PeerIsn(5) + 1);
  EXPECT_EQ(endpoint_->active_flows(), 0u);
  EXPECT_EQ(counters_.transport_syn_no_listener.Get(), 1u);
}

}  // namespace
}  // namespace ferry::engine
