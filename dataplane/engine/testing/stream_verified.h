// A stream of verified messages from one application channel to another
// over an EnginePair, for engine tests.
#ifndef FERRY_DATAPLANE_ENGINE_TESTING_STREAM_VERIFIED_H_
#define FERRY_DATAPLANE_ENGINE_TESTING_STREAM_VERIFIED_H_

#include <errno.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "client/ferry.h"
#include "dataplane/engine/testing/engine_pair.h"
#include "gtest/gtest.h"

namespace ferry::engine::testing {

// Sends `count` messages from `from` on `flow` as fast as its channel
// takes them, message i of size_of(i) bytes holding Pattern(size, seed +
// i), and checks each one `to` receives (within `wait_ms` each);
// `after_each(info)` runs after each (it may answer). A failure names how
// far it got and the pair's transport counters.
template <typename SizeOf, typename AfterEach>
void StreamVerified(EnginePair& pair, ferry_channel* from, uint64_t flow,
                    ferry_channel* to, int count, uint32_t seed,
                    size_t max_size, int wait_ms, SizeOf&& size_of,
                    AfterEach&& after_each) {
  int sent = 0;
  int received = 0;
  std::vector<uint8_t> buffer(max_size);
  while (received < count) {
    while (sent < count) {
      const std::vector<uint8_t> m = Pattern(size_of(sent), seed + sent);
      const int rc = ferry_send(from, flow, m.data(), m.size());
      if (rc == -EAGAIN) break;
      ASSERT_EQ(rc, 0);
      ++sent;
    }
    ferry_recv_info info{};
    const ssize_t n =
        ferry_recv_wait(to, buffer.data(), buffer.size(), &info, wait_ms);
    if (n < 0 || info.flags != 0) {
      const EngineStats a = pair.a().ReadStats();
      const EngineStats b = pair.b().ReadStats();
      ADD_FAILURE() << "after " << received << " messages: rc " << n
                    << " flags " << info.flags << " status " << info.status
                    << "; A: reset " << a.transport_flows_reset << " rto "
                    << a.transport_retransmits_timeout << " fast "
                    << a.transport_retransmits_fast << " seg_tx "
                    << a.transport_segments_tx << "; B: reset "
                    << b.transport_flows_reset << " seg_rx "
                    << b.transport_segments_rx << " msgs_rx "
                    << b.transport_messages_rx;
      return;
    }
    const std::vector<uint8_t> expected(
        Pattern(static_cast<size_t>(n), seed + received));
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), buffer.begin()))
        << "message " << received;
    after_each(info);
    ++received;
  }
}

}  // namespace ferry::engine::testing

#endif  // FERRY_DATAPLANE_ENGINE_TESTING_STREAM_VERIFIED_H_
