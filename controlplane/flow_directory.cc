#include "controlplane/flow_directory.h"

#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "controlplane/flow_status.h"

namespace ferry::controlplane {
namespace {

// A flow may leave through another NIC than its engine's (its route): its
// address, and that NIC's name.
void Route(const std::vector<NicSummary>& nics, FlowRecord* record) {
  if (record->info.local_ip == 0 || record->info.local_ip == record->local_ip) {
    return;
  }
  record->local_ip = record->info.local_ip;
  for (const NicSummary& nic : nics) {
    if (nic.address.address.value == record->local_ip)
      record->via_nic = nic.name;
  }
}

// Page tokens are "nic/engine/slot": where the next page starts.
struct Position {
  std::string nic;
  int engine = 0;
  uint32_t slot = 0;
};

absl::StatusOr<Position> ParseToken(const std::string& token) {
  Position p;
  if (token.empty()) return p;
  const std::vector<std::string> parts = absl::StrSplit(token, '/');
  int engine = 0;
  uint32_t slot = 0;
  if (parts.size() != 3 || parts[0].empty() ||
      !absl::SimpleAtoi(parts[1], &engine) || engine < 0 ||
      !absl::SimpleAtoi(parts[2], &slot)) {
    return absl::InvalidArgumentError(
        "page_token: not a token from a previous ListFlows response");
  }
  p.nic = parts[0];
  p.engine = engine;
  p.slot = slot;
  return p;
}

bool Matches(const FlowFilter& filter, const engine::FlowInfo& info) {
  if (!filter.state.empty() &&
      filter.state != transport::FlowStateName(info.state)) {
    return false;
  }
  if (filter.channels.has_value() &&
      filter.channels->count(info.channel_id) == 0) {
    return false;
  }
  return filter.remote_ip == 0 || filter.remote_ip == info.remote_ip;
}

// Asks an engine for up to `capacity` flows from `slot` on; the wait holds
// no lock.
absl::Status ListEngine(EngineCommands& nics, const EngineRef& where,
                        uint32_t slot, uint32_t capacity,
                        engine::FlowListResult* out) {
  std::unique_ptr<engine::Completion> completion =
      std::make_unique<engine::FlowListCompletion>(capacity);
  engine::EngineCommand command;
  command.type = engine::CommandType::kListFlows;
  command.start = slot;
  command.flow_list =
      &static_cast<engine::FlowListCompletion*>(completion.get())->result;
  if (absl::Status s = nics.Run(where, command, completion, kEngineTimeout);
      !s.ok()) {
    return s;
  }
  *out = std::move(
      static_cast<engine::FlowListCompletion*>(completion.get())->result);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FlowPage> FlowDirectory::List(const FlowFilter& filter,
                                             uint32_t page_size,
                                             const std::string& page_token) {
  if (page_size == 0) page_size = kDefaultPageSize;
  if (page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("page_size: at most %d", kMaxPageSize));
  }
  if (!filter.state.empty() && filter.state != "connecting" &&
      filter.state != "established" && filter.state != "closing") {
    return absl::InvalidArgumentError(
        "state: connecting, established or closing");
  }
  absl::StatusOr<Position> start = ParseToken(page_token);
  if (!start.ok()) return start.status();
  if (!filter.nic.empty()) {
    if (absl::Status known = nics_->FindNic(filter.nic).status(); !known.ok()) {
      return known;
    }
  }
  FlowPage page;
  absl::Status status;
  bool reached = start->nic.empty();
  bool full = false;
  const std::vector<NicSummary> nics = nics_->Nics();
  for (const NicSummary& nic : nics) {
    if (full || !status.ok()) break;
    if (!filter.nic.empty() && nic.name != filter.nic) continue;
    int first_engine = 0;
    uint32_t first_slot = 0;
    if (!reached) {
      if (nic.name != start->nic) continue;
      reached = true;
      first_engine = start->engine;
      first_slot = start->slot;
    }
    for (size_t e = static_cast<size_t>(first_engine);
         e < nic.engines && !full && status.ok(); ++e) {
      uint32_t slot = e == static_cast<size_t>(first_engine) ? first_slot : 0;
      while (true) {
        const uint32_t room =
            page_size - static_cast<uint32_t>(page.flows.size());
        engine::FlowListResult result;
        status =
            ListEngine(*nics_, EngineRef{nic.name, e}, slot, room, &result);
        if (!status.ok()) break;
        for (uint32_t i = 0; i < result.count; ++i) {
          if (!Matches(filter, result.flows[i])) continue;
          page.flows.push_back(FlowRecord{nic.name, static_cast<int>(e),
                                          nic.address.address.value,
                                          result.flows[i]});
          Route(nics, &page.flows.back());
        }
        if (result.next == UINT32_MAX) break;  // this engine is done
        if (page.flows.size() >= page_size) {
          page.next_token =
              absl::StrFormat("%s/%d/%d", nic.name, e, result.next);
          full = true;
          break;
        }
        slot = result.next;
      }
    }
  }
  if (!status.ok()) return status;
  if (!reached) {
    return absl::InvalidArgumentError(
        "page_token: its NIC is no longer attached; list from the start");
  }
  return page;
}

namespace {

absl::Status NoSuchFlow(const std::string& nic, uint32_t id) {
  return absl::NotFoundError(
      absl::StrFormat("no flow %d on %s (closed, or never existed)", id, nic));
}

// The NIC a flow id names, and its engine (bits 16-19 of the id name it
// among all the daemon's engines):
// INVALID_ARGUMENT without a NIC, NOT_FOUND for an unknown NIC or an
// engine it does not have.
absl::StatusOr<std::pair<NicSummary, EngineRef>> FlowEngine(
    EngineCommands& nics, const std::string& nic, uint32_t id) {
  if (nic.empty()) {
    return absl::InvalidArgumentError("nic: give the flow's NIC");
  }
  absl::StatusOr<NicSummary> summary = nics.FindNic(nic);
  if (!summary.ok()) return summary.status();
  const int e = summary->EngineOfGroupIndex(static_cast<int>((id >> 16) & 0xf));
  if (e < 0) return NoSuchFlow(nic, id);
  return std::make_pair(*summary, EngineRef{nic, static_cast<size_t>(e)});
}

}  // namespace

absl::StatusOr<FlowRecord> FlowDirectory::Get(const std::string& nic,
                                              uint32_t id) {
  auto where = FlowEngine(*nics_, nic, id);
  if (!where.ok()) return where.status();
  const auto& [summary, engine] = *where;
  engine::FlowListResult result;
  if (absl::Status s = ListEngine(*nics_, engine, id & 0xffff, 1, &result);
      !s.ok()) {
    return s;
  }
  if (result.count != 1 || result.flows[0].id != id) return NoSuchFlow(nic, id);
  FlowRecord record{nic, static_cast<int>(engine.engine),
                    summary.address.address.value, result.flows[0]};
  Route(nics_->Nics(), &record);
  return record;
}

absl::Status FlowDirectory::Close(const std::string& nic, uint32_t id,
                                  bool reset, uint64_t owner_channel) {
  auto where = FlowEngine(*nics_, nic, id);
  if (!where.ok()) return where.status();
  engine::EngineCommand command;
  command.type = engine::CommandType::kFlowOp;
  command.flow_op.kind =
      reset ? engine::FlowOpKind::kReset : engine::FlowOpKind::kClose;
  command.flow_op.flow = id;
  command.channel_id = owner_channel;
  std::unique_ptr<engine::Completion> completion =
      std::make_unique<engine::FlowOpCompletion>();
  absl::Status result =
      nics_->Run(where->second, command, completion, kEngineTimeout);
  if (absl::IsNotFound(result)) return NoSuchFlow(nic, id);
  if (!result.ok()) return result;
  const ferry_status status =
      static_cast<engine::FlowOpCompletion*>(completion.get())->result.status;
  if (status != FERRY_STATUS_OK) {
    return WithFerryStatus(NoSuchFlow(nic, id), status);
  }
  return absl::OkStatus();
}

}  // namespace ferry::controlplane
