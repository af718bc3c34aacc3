// TransportEndpoint::SendSegment's definition, for the endpoint's .cc
// files that build segments (the wire side and encrypted flows).
#ifndef FERRY_DATAPLANE_ENGINE_TRANSPORT_ENDPOINT_SEND_SEGMENT_H_
#define FERRY_DATAPLANE_ENGINE_TRANSPORT_ENDPOINT_SEND_SEGMENT_H_

#include <type_traits>

#include "dataplane/dpdk/packet.h"
#include "dataplane/engine/transport_endpoint.h"
#include "dataplane/net/ferry_segment_builder.h"

namespace ferry::engine {

template <typename Fill>
void TransportEndpoint::SendSegment(const Route& route, net::Ipv4Address dst,
                                    uint16_t dst_port, uint16_t src_port,
                                    const net::FerryHeader& header,
                                    uint32_t length, Fill&& fill,
                                    bool udp_checksum) {
  if (!sending_) return;
  dpdk::Packet* pkt = io_.AllocPacket_st();
  if (pkt == nullptr) {
    counters_.tx_alloc_failed.Inc();
    return;  // the flow's retransmission timer covers it
  }
  const absl::Span<uint8_t> room = dpdk::FrameRoom(pkt);
  // Another NIC's engine sends it as it is: no offload there.
  const bool offload = tx_ipv4_checksum_offload_ && route.via < 0;
  const net::FerrySegmentAddress address = {
      {route.mac, net::MacAddress{}, route.ip, dst},
      src_port,
      dst_port,
      ++ip_id_,
      !offload,
      udp_checksum};
  const size_t at = net::StartFerrySegment(room, address, header, length);
  if (at == 0) {
    dpdk::FreePacket(pkt);
    counters_.tx_alloc_failed.Inc();
    return;
  }
  if constexpr (std::is_same_v<decltype(fill(room.data() + at)), uint32_t>) {
    // The fill summed the payload as it wrote it: only the headers are
    // left to sum.
    const uint32_t payload_sum = fill(room.data() + at);
    dpdk::SetFrameLength(
        pkt,
        static_cast<uint32_t>(
            udp_checksum ? net::FinishFerrySegmentBeside(room, address, header,
                                                         length, payload_sum)
                         : net::FinishFerrySegment(room, address, length)));
  } else {
    fill(room.data() + at);
    dpdk::SetFrameLength(pkt, static_cast<uint32_t>(net::FinishFerrySegment(
                                  room, address, length)));
  }
  if (offload) dpdk::RequestIpv4ChecksumOffload(pkt);
  counters_.transport_segments_tx.Inc();
  if (route.via >= 0) {
    io_.SendVia_st(pkt, route.via);
  } else {
    io_.SendIpv4_st(pkt, dst, now_ns_);
  }
}

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_TRANSPORT_ENDPOINT_SEND_SEGMENT_H_
