// The control plane's view of flows: listing (paged, filtered), one flow,
// closing. Each engine copies its flows when asked (a kListFlows command);
// nothing here touches engine state directly.
#ifndef FERRY_CONTROLPLANE_FLOW_DIRECTORY_H_
#define FERRY_CONTROLPLANE_FLOW_DIRECTORY_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/engine_commands.h"
#include "dataplane/engine/flow_list.h"

namespace ferry::controlplane {

struct FlowRecord {
  std::string nic;
  int engine = 0;
  uint32_t local_ip = 0;  // the address its frames leave from
  engine::FlowInfo info;
  std::string via_nic;  // the NIC they leave through, when not `nic`
};

struct FlowFilter {
  std::string nic;         // empty: every NIC
  std::string state;       // empty: any; else connecting|established|closing
  uint32_t remote_ip = 0;  // 0: any peer
  // Only flows owned by these channels (one session's); nullopt: any.
  std::optional<std::set<uint64_t>> channels;
};

struct FlowPage {
  std::vector<FlowRecord> flows;
  std::string next_token;  // empty: the last page
};

class FlowDirectory {
 public:
  static constexpr uint32_t kDefaultPageSize = 100;
  static constexpr uint32_t kMaxPageSize = 1000;

  // `engines` reaches the NICs' engines (the NIC registry, or a fake).
  explicit FlowDirectory(EngineCommands* engines) : nics_(engines) {}

  // INVALID_ARGUMENT for a bad filter, page size or token; NOT_FOUND for
  // an unknown NIC in the filter.
  absl::StatusOr<FlowPage> List(const FlowFilter& filter, uint32_t page_size,
                                const std::string& page_token);
  absl::StatusOr<FlowRecord> Get(const std::string& nic, uint32_t id);
  // `owner_channel` not 0: NOT_FOUND unless that channel owns the flow
  // (checked by the engine, so a reused id cannot be closed by mistake).
  absl::Status Close(const std::string& nic, uint32_t id, bool reset,
                     uint64_t owner_channel = 0);

 private:
  EngineCommands* nics_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_FLOW_DIRECTORY_H_
