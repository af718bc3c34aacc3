// The engine's transport: its flows, listeners and the join between flows
// and application channels.
//
// Segments arrive as UDP datagrams (OnUdp_st) and are steered to a flow by
// the destination flow id in the Ferry header (one array index, checked
// against a generation and the sender's address), or to a listener by UDP
// port for a SYN. Applications reach it through their channel: control
// requests (LISTEN, CONNECT, CLOSE) and messages to send. Messages stay in
// the application's buffers until the peer acknowledges them (the channel
// keeps a private copy of each chain); received segments are reassembled
// straight into the application's free buffers, and the receive window
// advertised to the peer is what those buffers can hold.
//
// Flow ids are (generation << 20 | engine << 16 | slot): 65536 flows per
// engine, the owning engine readable by any engine of the daemon (software
// steering, see engine_group.h), and a stale id (a closed flow's slot
// reused) does not match.
//
// A flow leaves through the NIC its route chooses (interface_table.h),
// which need not be this engine's: its frames then carry that NIC's
// addresses and go to one of its engines to send (PacketIo::SendVia_st). A
// flow's setup allocates its state (once per flow, never per packet).
//
// Threading: engine thread only (the *_st methods and the FlowEnv
// callbacks, which the flows call from within them).
#ifndef FERRY_DATAPLANE_ENGINE_TRANSPORT_ENDPOINT_H_
#define FERRY_DATAPLANE_ENGINE_TRANSPORT_ENDPOINT_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "client/abi/ferry_channel_abi.h"
#include "dataplane/base/kernel_random.h"
#include "dataplane/channel/engine_channel.h"
#include "dataplane/crypto/flow_crypto.h"
#include "dataplane/dpdk/packet_fwd.h"
#include "dataplane/engine/command.h"
#include "dataplane/engine/encryption_mode.h"
#include "dataplane/engine/engine_counters.h"
#include "dataplane/engine/engine_group.h"
#include "dataplane/engine/flow_list.h"
#include "dataplane/engine/half_open_queue.h"
#include "dataplane/engine/late_answer_floor.h"
#include "dataplane/engine/parked_messages.h"
#include "dataplane/engine/pump_rounds.h"
#include "dataplane/engine/timer_wheel.h"
#include "dataplane/net/addresses.h"
#include "dataplane/net/frame_parser.h"
#include "dataplane/transport/flow.h"

namespace ferry::engine {

// What the endpoint needs from its engine.
class PacketIo {
 public:
  virtual ~PacketIo() = default;
  virtual dpdk::Packet* AllocPacket_st() = 0;
  // Sends an Ethernet/IPv4 frame (destination MAC filled in here, after
  // ARP when needed). Takes the packet.
  virtual void SendIpv4_st(dpdk::Packet* pkt, net::Ipv4Address dst,
                           uint64_t now_ns) = 0;
  // Whether the next hop towards `dst` answered ARP (to tell "unreachable"
  // from "timed out" when a connect fails).
  virtual bool NextHopResolved_st(net::Ipv4Address dst, uint64_t now_ns) = 0;
  // A flow to `dst` got no answer in time: confirm its next hop's address
  // (rate-limited), so that a peer that moved is found again.
  virtual void ConfirmNextHop_st(net::Ipv4Address dst, uint64_t now_ns) = 0;
  // Whether the transmit queue is backed up: flows wait for the next poll
  // rather than queue more frames behind it.
  virtual bool TxBackedUp_st() const { return false; }
  // Hands an Ethernet/IPv4 frame to engine `engine` (of another NIC) to
  // send there. Takes the packet.
  virtual void SendVia_st(dpdk::Packet* pkt, int engine) = 0;
  // Zero-copy transmit (dpdk::ExternalPayloads): whether frames may carry
  // payload that stays in an application's buffers, and appending such a
  // piece to a frame this engine sends itself (false: nothing appended,
  // the caller copies instead).
  virtual bool TxExternal_st() const { return false; }
  virtual bool AppendExternal_st(dpdk::Packet* pkt, const uint8_t* data,
                                 uint32_t length) {
    (void)pkt;
    (void)data;
    (void)length;
    return false;
  }
};

struct TransportConfig {
  transport::FlowConfig flow;  // mss from the engine's MTU
  uint32_t max_flows = 16384;
  // Flows one channel may hold (connected and accepted): a quota, so that
  // one application cannot take every slot of an engine.
  uint32_t max_flows_per_channel = 16384;
  // Flows the channels of one session (EngineChannel::quota_owner) may
  // hold together on this engine: room stays for other sessions.
  uint32_t max_flows_per_session = 12288;
  // Out-of-order packets held across all flows (mbufs kept from the RX
  // pool): beyond this, out-of-order segments are dropped and resent.
  uint32_t max_held_packets = 2048;
  uint16_t ephemeral_first = 49152;
  uint16_t ephemeral_last = 65535;
  // Flow timers live in a wheel (TimerWheel) of 2^16 ticks of 16 us (a
  // span of about a second; later deadlines are filed again each span).
  // As a safety net, this many flows per millisecond are filed again from
  // their deadline, in slot order, so that a deadline no path filed is
  // late by at most max_flows / timer_audit ms.
  uint32_t timer_audit = 64;
  // Accepted flows still in their handshake (a SYN flood makes many), in
  // all and per listening port. Past the port's bound its oldest goes;
  // past the engine's, the oldest of the port holding the most (so a flood
  // at one listener does not push out another's handshakes). Each goes
  // without a word, and the new one takes its place.
  uint32_t max_half_open = 1024;
  uint32_t max_half_open_per_listener = 1024;
  // Messages held for flows whose queue was full (see ParkedMessages):
  // the ones already in a tx ring when their flow was blocked. Past this
  // a full flow holds its channel's ring back.
  uint32_t max_parked_messages = 16384;
  // Segments with at least this many payload bytes go out without a copy
  // where the port allows it (PacketIo::TxExternal_st): their payload is
  // attached to the frame where it lies in the channel. 0: always copy
  // (ferryd's default; docs/ARCHITECTURE.md, "Zero-copy transmit", has the
  // measurements).
  uint32_t zero_copy_min_bytes = 0;
  // Encrypted flows: the mode, and this node's key and trust list (must
  // outlive the engine; needed unless the mode is kOff).
  Encryption encryption = Encryption::kOff;
  const crypto::TrustConfig* trust = nullptr;
  // Each encrypted flow moves its sending key to the next epoch this often
  // (0: never).
  uint64_t key_rotation_ns = 60'000'000'000;
};

class TransportEndpoint : public transport::FlowEnv {
 public:
  static constexpr uint64_t kEmptyMessage = uint64_t{1} << 40;
  // The receive handle of a message for a draining channel.
  static constexpr uint64_t kDiscardReceive = uint64_t{1} << 41;

  // `group` (may be null: a daemon with one engine) and `index` place this
  // endpoint among the daemon's engines; `interface` is its NIC's slot in
  // the group's interface table.
  TransportEndpoint(const TransportConfig& config, net::MacAddress mac,
                    net::Ipv4Address ip, bool tx_ipv4_checksum_offload,
                    PacketIo& io, EngineCounters& counters,
                    EngineGroup* group = nullptr, int index = 0,
                    int interface = 0);
  ~TransportEndpoint() override;
  TransportEndpoint(const TransportEndpoint&) = delete;
  TransportEndpoint& operator=(const TransportEndpoint&) = delete;

  // Prefetch hints for a burst of received segments (see
  // Engine::HandleBurst_st): the table entry of a flow id, then, once that
  // has arrived, the flow it points to (and an encrypted flow's fields
  // that every segment reads), then the key that opens its segments.
  // Ids that name nothing are ignored.
  void PrefetchEntry(uint32_t flow_id) const {
    const uint32_t slot = flow_id & kSlotMask;
    if (slot < entries_.size()) __builtin_prefetch(&entries_[slot]);
  }
  void PrefetchFlow(uint32_t flow_id) const;
  void PrefetchOpenKey(uint32_t flow_id) const;

  // A UDP datagram for our address. Takes the packet (hands it to the
  // engine that owns its flow when that is another one).
  void OnUdp_st(dpdk::Packet* pkt, const net::ParsedFrame& frame,
                uint64_t now_ns);
  // Where a connect's answer goes when its handshake ends: the control
  // plane's completion (a kFlowOp command), else the channel's control
  // ring, as the reply to request `ctrl_id`.
  struct ConnectAnswer {
    FlowOpCompletion* completion = nullptr;
    uint64_t ctrl_id = 0;
  };
  // Executes a flow operation for `channel` (nullptr only for an
  // operator's close or reset, which reaches any channel's flow). Fills
  // `result` and returns true, or returns false when the answer comes
  // later (a connect) through `answer`.
  bool ApplyFlowOp_st(channel::EngineChannel* channel, const FlowOp& op,
                      uint64_t now_ns, FlowOpResult* result,
                      ConnectAnswer answer);
  // A message from an application: a ferry_status, kTxKeep or kTxNotNow
  // (see EngineChannel::PollTx_st).
  int OnTxMessage_st(channel::EngineChannel& channel, const ferry_desc& desc,
                     absl::Span<const channel::MessagePiece> pieces,
                     uint64_t now_ns);
  // Sends what flows have to send, runs due flow timers, frees ended
  // flows. True when it did something.
  bool Poll_st(uint64_t now_ns);
  // Interface `slot` (another NIC) is going away: flows through it are
  // reset, and nothing is handed to its engines any more.
  void InterfaceGone_st(int slot, uint64_t now_ns);
  // The channel is leaving: its flows are reset (peers hear a RST) and its
  // listeners removed, before the channel is handed back. Flows still open
  // on a draining channel count as linger resets.
  void DetachChannel_st(channel::EngineChannel& channel, uint64_t now_ns);
  // The channel started draining (its application left): its listeners go
  // and pending connects fail; its flows carry on, and what they receive is
  // acknowledged and discarded (nobody will read it).
  void BeginDrain_st(channel::EngineChannel& channel, uint64_t now_ns);
  // Once the channel's tx ring is empty, closes its flows in order (a FIN
  // after their last message); true when none is left.
  bool DrainStep_st(channel::EngineChannel& channel, uint64_t now_ns);
  // The engine stops: every flow is reset (peers hear a RST).
  void Shutdown_st(uint64_t now_ns);
  // Copies flows from slot `start` on into `result` (its capacity).
  void ListFlows_st(uint32_t start, FlowListResult* result);
  // When a flow timer is next due (for the engine's sleep).
  uint64_t NextTimerNs() const { return next_timer_ns_; }
  uint32_t active_flows() const { return active_flows_; }
  uint32_t held_packets() const { return held_packets_; }

  // FlowEnv.
  void Transmit(transport::Flow& flow, const net::FerryHeader& header,
                uint64_t message, uint32_t offset, uint32_t length) override;
  void MessageDone(transport::Flow& flow, uint64_t message,
                   bool delivered) override;
  uint64_t BeginReceive(transport::Flow& flow, uint32_t length) override;
  void WriteReceive(transport::Flow& flow, uint64_t handle, uint32_t offset,
                    absl::Span<const uint8_t> bytes) override;
  void EndReceive(transport::Flow& flow, uint64_t handle,
                  bool complete) override;
  uint32_t ReceiveRoom(transport::Flow& flow, uint32_t most) override;
  void ReleasePacket(uint64_t packet) override;
  void StateChanged(transport::Flow& flow) override;
  void Retransmitting(transport::Flow& flow, bool after_timeout) override;
  void RstRefused(transport::Flow& flow, bool challenged) override;
  void SegmentRefused(transport::Flow& flow) override;
  void PathSuspect(transport::Flow& flow) override;
  void RttSampled(transport::Flow& flow, uint64_t rtt_ns,
                  uint64_t queueing_ns) override;
  void SpuriousTimeout(transport::Flow&, uint64_t answer_ns) override {
    counters_.transport_timeouts_spurious.Inc();
    late_answers_.Learn(answer_ns, now_ns_);
  }
  void SegmentNotTaken(transport::Flow& flow, NotTaken why) override;
  void WindowCut(transport::Flow& flow, bool for_loss) override;
  uint64_t RtoFloorNs(const transport::Flow& flow) override {
    (void)flow;
    return std::max(rto_floor_ns_, late_answers_.FloorNs(now_ns_));
  }

 private:
  // Where a flow's frames leave: the NIC's interface slot, its addresses,
  // and the engine to hand them to (-1: this one sends them).
  struct Route {
    int8_t interface = 0;
    int8_t via = -1;
    net::MacAddress mac;
    net::Ipv4Address ip;
    int mtu = 0;  // 0: this engine's
  };
  struct Entry {
    std::unique_ptr<transport::Flow> flow;
    Route route;
    channel::EngineChannel* channel = nullptr;
    net::Ipv4Address remote_ip;
    uint16_t remote_port = 0;
    uint16_t local_port = 0;
    uint32_t remote_flow = 0;  // the peer's id from its SYN (passive)
    uint16_t generation = 1;
    bool in_pump_list = false;
    bool connect_pending = false;  // a CONNECT completion is owed
    bool reaping = false;
    bool drain_closed = false;         // closed because its channel drains
    bool half_open = false;            // accepted, handshake not yet complete
    bool announced = false;            // FLOW_ACCEPTED went to the application
    bool blocked = false;              // its bit is set in the channel
    bool close_when_unparked = false;  // a close waits for parked messages
    ConnectAnswer connect_answer;      // while connect_pending
    ParkedMessages::List parked;       // taken while its queue was full
    // Its keys when the flow is encrypted (made with the flow: its SYN or
    // the peer's carries the handshake).
    std::unique_ptr<crypto::FlowCrypto> crypto;
  };
  // Identifies a peer's SYN, so that a repeated one finds its flow.
  struct SynKey {
    uint32_t remote_ip;
    uint32_t remote_flow;
    uint16_t remote_port;
    uint16_t local_port;
    bool operator==(const SynKey& o) const {
      return remote_ip == o.remote_ip && remote_flow == o.remote_flow &&
             remote_port == o.remote_port && local_port == o.local_port;
    }
    template <typename H>
    friend H AbslHashValue(H h, const SynKey& k) {
      return H::combine(std::move(h), k.remote_ip, k.remote_flow, k.remote_port,
                        k.local_port);
    }
  };

  static constexpr uint32_t kTimerSlotsLog2 = 16;
  static constexpr uint64_t kTimerTickNs = 16'000;
  static constexpr uint32_t kSlotBits = 16;
  static constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;
  static constexpr uint32_t kEngineShift = 16;
  static constexpr uint32_t kGenerationShift = 20;

  uint32_t FlowId(uint32_t slot) const {
    return (uint32_t{entries_[slot].generation} << kGenerationShift) |
           (static_cast<uint32_t>(index_) << kEngineShift) | slot;
  }
  static int EngineOfFlow(uint32_t flow_id) {
    return static_cast<int>((flow_id >> kEngineShift) & 0xf);
  }
  // The entry a flow id names, or null when stale or unknown.
  Entry* Lookup(uint64_t flow_id);
  Entry& EntryOf(transport::Flow& flow) { return entries_[flow.owner]; }
  uint64_t PeerCookie(const Entry& e) const {
    return FERRY_PEER_COOKIE(e.remote_ip.value, e.remote_port, e.local_port);
  }
  // A new flow in a free slot, or null when every slot is taken.
  // `secure`: its segments will be sealed, so each carries less payload
  // (the secure header and the tag fit in the same MTU).
  Entry* NewFlow(channel::EngineChannel& channel, const Route& route,
                 net::Ipv4Address remote_ip, uint16_t remote_port,
                 uint16_t local_port, bool secure = false);
  // The profile of flows whose segments carry `mss` payload bytes.
  const transport::FlowProfile& ProfileFor(uint32_t mss);
  Route OwnRoute() const {
    return Route{static_cast<int8_t>(interface_), -1, mac_, ip_, 0};
  }
  // The route to `dst` (from `local` when set); false when no NIC has
  // `local`.
  bool RouteTo(net::Ipv4Address dst, net::Ipv4Address local, Route* route);
  // The route back out of the NIC that has address `local` (a frame
  // received for it); this engine's own when none has.
  Route RouteFrom(net::Ipv4Address local);
  // Route of interface `slot` as the table says; false when it is gone.
  bool RouteOf(int slot, Route* route);
  // Whether `ip` is the address of one of the daemon's NICs.
  bool IsLocalAddress(net::Ipv4Address ip);
  void Touch(uint32_t slot);
  void Reap(uint32_t slot);
  // `payload`: the SYN's, after the Ferry header (a Noise message when the
  // initiator encrypts).
  void OnSyn(dpdk::Packet* pkt, const net::ParsedFrame& frame,
             const net::FerryHeader& header, absl::Span<const uint8_t> payload,
             uint64_t now_ns);
  // A RST for a segment that has no flow here (or a handshake refused:
  // `flags` say why).
  void SendReset(const net::ParsedFrame& frame, const net::FerryHeader& header,
                 uint8_t flags = 0);
  // Encrypted flows. The handshake's payload goes out in clear, every
  // other segment sealed.
  void TransmitSecure(Entry& e, const net::FerryHeader& header,
                      uint64_t message, uint32_t offset, uint32_t length);
  // A segment for encrypted flow `e` (or a secured one for a plain flow):
  // reads the handshake or opens it in place, setting `payload` to what
  // the flow gets. False: dropped (counted), or the flow failed.
  bool SecureIn_st(Entry& e, dpdk::Packet* pkt, const net::ParsedFrame& frame,
                   const net::FerryHeader& header, size_t payload_offset,
                   absl::Span<const uint8_t>* payload);
  // The listener's side of a SYN: the crypto the new flow gets (null for a
  // plain one); false when the SYN is refused (answered and counted).
  bool SecureSyn_st(const net::ParsedFrame& frame,
                    const net::FerryHeader& header,
                    absl::Span<const uint8_t> payload,
                    std::unique_ptr<crypto::FlowCrypto>* crypto);
  // Builds and sends one segment; `fill(payload)` writes its payload.
  // `udp_checksum` false: none (a sealed segment, TransmitSecure).
  template <typename Fill>
  void SendSegment(const Route& route, net::Ipv4Address dst, uint16_t dst_port,
                   uint16_t src_port, const net::FerryHeader& header,
                   uint32_t length, Fill&& fill, bool udp_checksum = true);
  // Zero-copy: one segment of flow `e` whose payload is `pieces` (in the
  // channel), attached, not copied. False when it could not be built
  // (nothing sent; the caller copies instead).
  static constexpr uint32_t kMaxZeroCopyPieces = 4;
  bool SendSegmentBeside(const Entry& e, const net::FerryHeader& header,
                         uint32_t length, const channel::MessagePiece* pieces,
                         uint32_t count);
  uint16_t NextEphemeralPort();
  // ApplyFlowOp_st's steps.
  ferry_status Listen(channel::EngineChannel& channel, uint16_t port,
                      net::Ipv4Address local);
  ferry_status Unlisten(channel::EngineChannel& channel, uint16_t port);
  bool Connect(channel::EngineChannel& channel, const FlowOp& op,
               ConnectAnswer answer, FlowOpResult* result);
  void CloseOrReset(Entry& e, bool reset);
  // Blocks a flow whose queue is full: the app's sends on it fail until
  // Unpark finds its queue half empty again.
  void Block(Entry& e);
  // Moves parked messages into the flow's queue while it has room;
  // unblocks, and runs a deferred close, once they are all in.
  void Unpark(Entry& e);
  // A flow going away: its parked messages' buffers go back to the app.
  void DropParked(Entry& e);
  // Resets the channel's flows; returns how many there were.
  uint32_t ResetChannelFlows(channel::EngineChannel& channel, uint64_t now_ns);
  // Answers a pending CONNECT (through its completion or the channel);
  // false when nobody waits for the answer any more.
  bool AnswerConnect(Entry& e, const FlowOpResult& result);
  // Answers a pending CONNECT whose flow is going away with `status`.
  void AbortConnect(Entry& e, ferry_status status);
  ferry_status EndStatus(const Entry& e, const transport::Flow& flow);

  const TransportConfig config_;
  EngineGroup* const group_;
  const int index_;
  const int interface_;
  const net::MacAddress mac_;
  const net::Ipv4Address ip_;
  const bool tx_ipv4_checksum_offload_;
  PacketIo& io_;
  EngineCounters& counters_;

  // The flows' shared constants, one profile per MSS in use (the NIC's, a
  // smaller one for another NIC's MTU, less the secure header's room):
  // few, kept for the endpoint's life. Declared before entries_, so that
  // the flows that point into them go first.
  std::vector<std::unique_ptr<transport::FlowProfile>> flow_profiles_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_slots_;
  uint32_t high_water_ = 0;  // slots below this have been used
  uint32_t active_flows_ = 0;
  std::vector<channel::EngineChannel*> listeners_;  // by UDP port
  // Listeners that accept on one NIC only: port -> its address.
  absl::flat_hash_map<uint16_t, net::Ipv4Address> listener_addresses_;
  absl::flat_hash_map<const channel::EngineChannel*, uint32_t>
      flows_per_channel_;
  absl::flat_hash_map<uint64_t, uint32_t> flows_per_owner_;  // by session
  absl::flat_hash_map<SynKey, uint32_t> syn_index_;          // -> slot
  // Half-open accepted flows: all of this engine's, and each listening
  // port's (a port's queue exists while it has any).
  void HalfOpenDone(Entry& e);
  // Evicts half-open flows while `port` or the engine is at its bound (see
  // TransportConfig::max_half_open); false when there is still no room.
  bool MakeRoomForHalfOpen(uint16_t port);
  ParkedMessages parked_;
  HalfOpenQueue half_open_;
  absl::flat_hash_map<uint16_t, HalfOpenQueue> half_open_by_port_;
  PumpRounds pump_;  // flows with something to send, by slot
  std::vector<uint32_t> reap_list_;
  std::vector<uint32_t> orphan_flows_;  // flow ids to reset at the next poll
  TimerWheel timers_;                   // by slot
  uint32_t audit_cursor_ = 0;
  uint64_t next_audit_ns_ = 0;
  uint64_t next_timer_ns_ = UINT64_MAX;
  uint32_t held_packets_ = 0;
  // Every flow's round trips smoothed together (RFC 6298's estimator with
  // gains of 1/64 and 1/32: thousands of samples a second), and the RTO
  // floor they give each flow (see FlowEnv::RtoFloorNs).
  uint64_t engine_srtt_ns_ = 0;
  uint64_t engine_rttvar_ns_ = 0;
  uint64_t rto_floor_ns_ = 0;
  // What spurious timeouts showed about late answers (late_answer_floor.h).
  LateAnswerFloor late_answers_;
  uint16_t next_ephemeral_;
  uint16_t ip_id_ = 0;
  uint64_t now_ns_ = 0;
  bool sending_ = true;
  KernelRandom random_;  // ISNs and generations
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_TRANSPORT_ENDPOINT_H_
