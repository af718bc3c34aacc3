// msg_gen's roles, one pair per transport. Clients measure and return when
// the run is over; servers answer until `stop` is set.
#ifndef FERRY_BENCH_MSG_GEN_ROLES_H_
#define FERRY_BENCH_MSG_GEN_ROLES_H_

#include <atomic>

#include "absl/status/status.h"
#include "bench/msg_gen/msg_gen_options.h"

namespace ferry::bench {

absl::Status RunFerryClient(const MsgGenOptions& options);
absl::Status RunFerryServer(const MsgGenOptions& options,
                            const std::atomic<bool>& stop);
absl::Status RunTcpClient(const MsgGenOptions& options);
absl::Status RunTcpServer(const MsgGenOptions& options,
                          const std::atomic<bool>& stop);
absl::Status RunUdpClient(const MsgGenOptions& options);
absl::Status RunUdpServer(const MsgGenOptions& options,
                          const std::atomic<bool>& stop);

}  // namespace ferry::bench

#endif  // FERRY_BENCH_MSG_GEN_ROLES_H_
