// Flow's private sink for the handshake's segments (flow.cc and
// flow_receive.cc drive the handshake): each goes out through the flow's
// environment with the flow's window and timestamps filled in.
#ifndef FERRY_DATAPLANE_TRANSPORT_FLOW_HANDSHAKE_SINK_H_
#define FERRY_DATAPLANE_TRANSPORT_FLOW_HANDSHAKE_SINK_H_

#include "dataplane/transport/flow.h"

namespace ferry::transport {

class Flow::HandshakeSink : public SegmentSink {
 public:
  HandshakeSink(Flow& flow, uint64_t now_ns) : flow_(flow), now_ns_(now_ns) {}
  void Send(const net::FerryHeader& header) override {
    net::FerryHeader h = header;
    h.window = flow_.AdvertisedWindow();
    flow_.last_advertised_ = h.window;
    h.timestamp_us = TimestampUs(now_ns_);
    h.echo_timestamp_us = flow_.echo_us_;
    flow_.env_.Transmit(flow_, h, FlowEnv::kNoHandle, 0, 0);
    ++flow_.stats_.segments_sent;
  }

 private:
  Flow& flow_;
  uint64_t now_ns_;
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_FLOW_HANDSHAKE_SINK_H_
