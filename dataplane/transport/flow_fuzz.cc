// Fuzz target for a flow's segment handling and reassembly: an established
// flow pair (A connects, B accepts) and then a sequence of steps read from
// the input. A step delivers what one side sent to the other (possibly
// dropped or repeated), advances time, queues a message on A, or hands B a
// forged segment whose fields (type, flags, seq and ack near the real ones,
// message length, payload) come from the input. Whatever happens, nothing
// may crash or read out of bounds, every received message fits its
// declared length, and once both flows end no packet or receive is left
// open. libFuzzer entry point; flow_fuzz_seeds.cc gives fuzz_driver seeds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dataplane/base/fuzz_input.h"
#include "dataplane/transport/flow.h"
#include "dataplane/transport/testing/flow_harness.h"

namespace {

using ferry::net::FerryHeader;
using ferry::net::FerryPacketType;
using ferry::transport::Flow;
using ferry::transport::FlowConfig;
using ferry::transport::FlowProfile;
using ferry::transport::FlowState;
using ferry::transport::testing::DeliverSegment;
using ferry::transport::testing::HarnessEnv;
using ferry::transport::testing::Segment;

using Input = ferry::fuzz::FuzzInput;
#define Check FERRY_FUZZ_CHECK

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  FlowConfig config;
  config.mss = 64;
  config.max_in_flight = 32;
  config.max_queued_messages = 8;
  config.receive_window = 32;
  HarnessEnv env_a, env_b;
  env_b.room = 64;
  const FlowProfile profile(config);
  Flow a(1, 1000, profile, env_a);
  Flow b(2, 0xfffffff0, profile, env_b);
  uint64_t now = 1000000;
  a.StartConnect(now);
  b.StartAccept(env_a.outbox.front().header, now);
  env_a.outbox.pop_front();
  DeliverSegment(env_a, a, env_b.outbox.front(), now);
  env_b.outbox.pop_front();
  DeliverSegment(env_b, b, env_a.outbox.front(), now);
  env_a.outbox.pop_front();
  Check(a.state() == FlowState::kEstablished);
  Check(b.state() == FlowState::kEstablished);
  uint32_t a_seq = 1001;  // where A's sequence numbers are, roughly
  for (int steps = 0; steps < 256 && !in.empty(); ++steps) {
    const uint8_t op = in.Byte();
    switch (op % 6) {
      case 0:  // A -> B, each segment delivered, dropped or repeated
      case 1: {
        while (!env_a.outbox.empty()) {
          Segment s = std::move(env_a.outbox.front());
          env_a.outbox.pop_front();
          a_seq = s.header.seq;
          const uint8_t fate = in.Byte() % 4;
          if (fate == 0) continue;
          DeliverSegment(env_b, b, s, now);
          if (fate == 3) DeliverSegment(env_b, b, s, now);
        }
        break;
      }
      case 2:  // B -> A
        while (!env_b.outbox.empty()) {
          if (in.Byte() % 4 != 0)
            DeliverSegment(env_a, a, env_b.outbox.front(), now);
          env_b.outbox.pop_front();
        }
        break;
      case 3: {  // time passes: timers run
        now += (uint64_t{in.Byte()} + 1) * 1000 * (op >> 4);
        a.OnTimer(now);
        b.OnTimer(now);
        break;
      }
      case 4: {  // A queues a message
        const uint32_t length = in.Byte() * 7u;
        std::vector<uint8_t> bytes(length, static_cast<uint8_t>(op));
        const uint64_t handle = env_a.AddMessage(std::move(bytes));
        // Refused (a full queue, an ended flow): it stays the caller's.
        if (!a.Enqueue(handle, length)) env_a.MessageDone(a, handle, false);
        a.Pump(now);
        break;
      }
      case 5: {  // a forged segment to B, its numbers near the real ones
        Segment s;
        s.header.type = static_cast<FerryPacketType>(1 + in.Byte() % 7);
        s.header.flags = in.Byte() & 0x07;
        s.header.src_flow = 1;
        s.header.dst_flow = 2;
        s.header.seq = a_seq + static_cast<int8_t>(in.Byte());
        s.header.ack = 0xfffffff1 + static_cast<int8_t>(in.Byte());
        s.header.sack = uint64_t{in.U32()} << 32 | in.U32();
        s.header.message_length = in.Byte() % 2 ? in.U32() : in.Byte() * 5u;
        s.header.window = in.Byte();
        s.payload.resize(in.Byte() % (config.mss + 8));
        for (uint8_t& byte : s.payload) byte = in.Byte();
        DeliverSegment(env_b, b, s, now);
        break;
      }
    }
    a.Pump(now);
    b.Pump(now);
  }
  for (const std::vector<uint8_t>& message : env_b.received) {
    Check(message.size() <= ferry::transport::kMaxMessageBytes);
  }
  a.Abort(now);
  b.Abort(now);
  // Both ended: whatever they held was handed back.
  Check(env_b.receives_open() == 0);
  Check(env_b.packets_held() == 0);
  Check(env_a.outgoing_messages() == 0);
  return 0;
}
