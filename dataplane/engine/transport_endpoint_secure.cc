// The transport endpoint, encrypted flows (docs/SECURITY.md): the Noise
// handshake rides in SYN and SYN-ACK, every later segment is sealed on its
// way out and opened in place on its way in, before the flow sees it.
#include <cstring>

#include "dataplane/dpdk/packet.h"
#include "dataplane/engine/transport_endpoint.h"
#include "dataplane/engine/transport_endpoint_send_segment.h"
#include "dataplane/net/ferry_header.h"

namespace ferry::engine {

using crypto::FlowCrypto;
using net::FerryHeader;
using net::FerryPacketType;
using transport::FlowEndReason;

namespace {

constexpr size_t kSecuredHeaderSize =
    net::kFerryHeaderSize + crypto::kSecureHeaderSize;
// Pieces a sealed segment's payload is encrypted from without a copy.
constexpr uint32_t kMaxSealPieces = 8;

}  // namespace

void TransportEndpoint::TransmitSecure(Entry& e, const FerryHeader& plain,
                                       uint64_t message, uint32_t offset,
                                       uint32_t length) {
  FlowCrypto& c = *e.crypto;
  FerryHeader header = plain;
  if (header.type == FerryPacketType::kSyn ||
      header.type == FerryPacketType::kSynAck) {
    const absl::Span<const uint8_t> handshake =
        header.type == FerryPacketType::kSyn ? c.SynPayload()
                                             : c.SynAckPayload();
    if (handshake.empty()) return;  // no node key: the connect times out
    header.flags |= net::kFerryFlagSecure;
    SendSegment(e.route, e.remote_ip, e.remote_port, e.local_port, header,
                static_cast<uint32_t>(handshake.size()), [&](uint8_t* out) {
                  std::memcpy(out, handshake.data(), handshake.size());
                });
    return;
  }
  if (!c.ready()) {
    // Before keys only a RST of a failed handshake goes out, in clear.
    SendSegment(e.route, e.remote_ip, e.remote_port, e.local_port, header, 0,
                [](uint8_t*) {});
    return;
  }
  header.flags |= net::kFerryFlagSecure;
  if (c.MaybeRotate(now_ns_, config_.key_rotation_ns)) {
    counters_.transport_key_rotations.Inc();
  }
  const bool has_payload = length > 0 && message != kEmptyMessage;
  const uint32_t body = has_payload ? length : 0;
  channel::EngineChannel* channel = e.channel;
  SendSegment(
      e.route, e.remote_ip, e.remote_port, e.local_port, header,
      static_cast<uint32_t>(crypto::kSecureHeaderSize + body +
                            FlowCrypto::kTagSize),
      [&](uint8_t* out) {
        // `out` follows the Ferry header: the secure header goes there,
        // and the header's length field says so.
        uint8_t* ferry = out - net::kFerryHeaderSize;
        ferry[net::kFerryHeaderLengthOffset] =
            static_cast<uint8_t>(kSecuredHeaderSize);
        uint8_t* cipher = out + crypto::kSecureHeaderSize;
        bool ok = c.BeginSeal(absl::MakeSpan(ferry, kSecuredHeaderSize));
        if (ok && has_payload) {
          // Encrypting is the copy: straight from the channel's buffers
          // into the frame, or (an inline message, a chain of many
          // small buffers) copied first and encrypted in place.
          channel::MessagePiece pieces[kMaxSealPieces];
          const uint32_t count =
              channel->TxPieces_st(static_cast<uint32_t>(message - 1), offset,
                                   length, pieces, kMaxSealPieces);
          if (count > 0) {
            uint8_t* at = cipher;
            for (uint32_t i = 0; ok && i < count; ++i) {
              ok = c.Encrypt(pieces[i].data, at, pieces[i].length);
              at += pieces[i].length;
            }
          } else {
            channel->CopyTx_st(static_cast<uint32_t>(message - 1), offset,
                               cipher, length);
            ok = c.Encrypt(cipher, cipher, length);
          }
          counters_.tx_payload_copies.Inc();
          counters_.tx_payload_copied_bytes.Add(length);
        }
        uint8_t* tag = cipher + body;
        if (!ok || !c.FinishSeal(tag)) {
          // Cannot happen short of the library failing; a zero tag
          // makes the peer drop the segment, and the flow sends it
          // again.
          std::memset(tag, 0, FlowCrypto::kTagSize);
        }
      },
      // No UDP checksum: the tag covers the Ferry header and the
      // payload, and a damaged address or port sends the segment
      // to no flow or to one whose key refuses it. Summing would
      // cost another pass over the payload on both hosts.
      /*udp_checksum=*/false);
}

bool TransportEndpoint::SecureIn_st(Entry& e, dpdk::Packet* pkt,
                                    const net::ParsedFrame& frame,
                                    const FerryHeader& header,
                                    size_t payload_offset,
                                    absl::Span<const uint8_t>* payload) {
  const bool secure = (header.flags & net::kFerryFlagSecure) != 0;
  if (e.crypto == nullptr) {
    // A sealed segment for a flow in clear: not from its peer.
    counters_.transport_rx_auth_failed.Inc();
    return false;
  }
  FlowCrypto& c = *e.crypto;
  if (header.type == FerryPacketType::kSynAck) {
    if (!secure) {
      // The peer does not encrypt.
      if (config_.encryption == Encryption::kRequired) {
        SendReset(frame, header, net::kFerryFlagSecureRequired);
        e.flow->Fail(FlowEndReason::kEncryptionRequired);
        return false;
      }
      e.crypto.reset();  // preferred: on in clear
      return true;
    }
    if (c.ready()) {  // a repeated SYN-ACK: our ACK was lost
      *payload = {};
      return true;
    }
    switch (c.CompleteSynAck(*payload)) {
      case FlowCrypto::Verdict::kOk:
        counters_.transport_flows_secured.Inc();
        *payload = {};
        return true;
      case FlowCrypto::Verdict::kUntrusted:
        counters_.transport_handshake_untrusted.Inc();
        SendReset(frame, header, net::kFerryFlagUntrusted);
        e.flow->Fail(FlowEndReason::kUntrusted);
        return false;
      case FlowCrypto::Verdict::kBadMessage:
        // Forged or damaged: the real one may still come.
        counters_.transport_rx_auth_failed.Inc();
        return false;
    }
    return false;
  }
  if (!secure || !c.ready()) {
    // In clear on an encrypted flow: only the RST that refuses our SYN,
    // which comes before keys (after them, nothing in clear can end it).
    if (!secure && !c.ready() && header.type == FerryPacketType::kRst) {
      return true;
    }
    counters_.transport_rx_auth_failed.Inc();
    return false;
  }
  if (payload_offset != kSecuredHeaderSize ||
      payload->size() < FlowCrypto::kTagSize) {
    counters_.transport_rx_auth_failed.Inc();
    return false;
  }
  uint8_t* udp = dpdk::MutableFrameBytes(pkt).data() + frame.payload_offset;
  const size_t length = payload->size() - FlowCrypto::kTagSize;
  uint8_t* cipher = udp + kSecuredHeaderSize;
  switch (c.Open(absl::MakeConstSpan(udp, kSecuredHeaderSize), cipher, length,
                 cipher + length)) {
    case FlowCrypto::OpenResult::kOk:
      break;
    case FlowCrypto::OpenResult::kReplayed:
      counters_.transport_rx_replayed.Inc();
      return false;
    case FlowCrypto::OpenResult::kBadEpoch:
    case FlowCrypto::OpenResult::kForged:
      counters_.transport_rx_auth_failed.Inc();
      return false;
  }
  *payload = absl::MakeConstSpan(cipher, length);
  return true;
}

bool TransportEndpoint::SecureSyn_st(const net::ParsedFrame& frame,
                                     const FerryHeader& header,
                                     absl::Span<const uint8_t> payload,
                                     std::unique_ptr<FlowCrypto>* flow_crypto) {
  const bool secure = (header.flags & net::kFerryFlagSecure) != 0;
  // Off: a flow in clear, whatever the SYN carries; an initiator that
  // requires encryption refuses our plain SYN-ACK and says why.
  if (config_.encryption == Encryption::kOff || config_.trust == nullptr) {
    return true;
  }
  if (!secure) {
    if (config_.encryption == Encryption::kRequired) {
      counters_.transport_syn_plain_refused.Inc();
      SendReset(frame, header, net::kFerryFlagSecureRequired);
      return false;
    }
    return true;
  }
  auto c = std::make_unique<FlowCrypto>(*config_.trust);
  switch (c->AcceptSyn(payload)) {
    case FlowCrypto::Verdict::kOk:
      counters_.transport_flows_secured.Inc();
      *flow_crypto = std::move(c);
      return true;
    case FlowCrypto::Verdict::kUntrusted:
      counters_.transport_syn_untrusted.Inc();
      SendReset(frame, header, net::kFerryFlagUntrusted);
      return false;
    case FlowCrypto::Verdict::kBadMessage:
      counters_.transport_rx_auth_failed.Inc();
      return false;
  }
  return false;
}

}  // namespace ferry::engine
