// Control-plane state as API messages (proto/ferry/v1/ferry.proto).
#ifndef FERRY_CONTROLPLANE_API_NIC_PROTO_H_
#define FERRY_CONTROLPLANE_API_NIC_PROTO_H_

#include "controlplane/channel_registry.h"
#include "controlplane/nic.h"
#include "proto/ferry/v1/ferry.pb.h"

namespace ferry::controlplane {

// A NIC with its link, capabilities, port counters and every engine's
// counters, read now. Safe from any thread.
v1::Nic NicToProto(Nic& nic);

v1::ChannelStats ChannelTotalsToProto(const ChannelTotals& totals);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_NIC_PROTO_H_
