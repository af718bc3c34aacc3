// A fake engine behind the EngineCommands seam, for unit tests: commands
// complete inline (a control request answered as the test says, or held
// until the test completes it, as a handshake that ends late), and every
// posted command is recorded for the test to assert on.
#ifndef FERRY_CONTROLPLANE_ENGINE_COMMANDS_FAKE_H_
#define FERRY_CONTROLPLANE_ENGINE_COMMANDS_FAKE_H_

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controlplane/engine_commands.h"
#include "dataplane/engine/flow_list.h"

namespace ferry::controlplane {

class FakeEngineCommands : public EngineCommands {
 public:
  // Answers a kFlowOp command: fills `result` and returns true, or returns
  // false to hold it unanswered.
  using FlowOpAnswer = std::function<bool(const engine::FlowOp& op,
                                          engine::FlowOpResult* result)>;

  ~FakeEngineCommands() override {
    // An engine completes everything it was given; a completion its
    // waiter abandoned is freed by that.
    for (engine::Completion* held : held_) {
      held->Complete(absl::StatusCode::kAborted, "engine stopped");
    }
  }

  void AddNic(const std::string& name, net::Ipv4Prefix address,
              size_t engines = 1) {
    absl::MutexLock lock(&mu_);
    nics_.push_back(NicSummary{name, engines, address});
  }
  void RemoveNic(const std::string& name) {
    absl::MutexLock lock(&mu_);
    nics_.erase(
        std::remove_if(nics_.begin(), nics_.end(),
                       [&](const NicSummary& n) { return n.name == name; }),
        nics_.end());
  }
  // The flows an engine holds, by slot, for its kListFlows answers.
  void SetFlows(const EngineRef& where,
                std::map<uint32_t, engine::FlowInfo> by_slot) {
    absl::MutexLock lock(&mu_);
    flows_[{where.nic, where.engine}] = std::move(by_slot);
  }
  void set_flow_op_answer(FlowOpAnswer answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  // The next `n` posts find the command ring full.
  void FillRing(int n) {
    absl::MutexLock lock(&mu_);
    ring_full_ = n;
  }
  std::vector<engine::EngineCommand> posted() {
    absl::MutexLock lock(&mu_);
    return posted_;
  }
  size_t held() {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  // Completes the oldest held request with `result`; false when its waiter
  // had given up (the completion is then freed, as an engine's would be).
  bool CompleteHeld(const engine::FlowOpResult& result) {
    engine::Completion* completion;
    {
      absl::MutexLock lock(&mu_);
      completion = held_.front();
      held_.erase(held_.begin());
    }
    if (!completion->abandoned()) {
      static_cast<engine::FlowOpCompletion*>(completion)->result = result;
    }
    return completion->Complete(absl::StatusCode::kOk, "");
  }

  absl::Status Post(const EngineRef& where, engine::EngineCommand command,
                    engine::Completion* completion) override {
    absl::MutexLock lock(&mu_);
    const NicSummary* nic = FindLocked(where.nic);
    if (nic == nullptr) return absl::NotFoundError("no such NIC");
    if (where.engine >= nic->engines) {
      return absl::UnavailableError("no such engine");
    }
    if (ring_full_ > 0) {
      --ring_full_;
      return absl::ResourceExhaustedError("command ring full");
    }
    posted_.push_back(command);
    if (command.type == engine::CommandType::kListFlows) {
      List(flows_[{where.nic, where.engine}], command.start, command.flow_list);
    }
    if (command.type != engine::CommandType::kFlowOp) {
      completion->Complete(absl::StatusCode::kOk, "");
      return absl::OkStatus();
    }
    engine::FlowOpResult result;
    if (answer_ && !answer_(command.flow_op, &result)) {
      held_.push_back(completion);
      return absl::OkStatus();
    }
    static_cast<engine::FlowOpCompletion*>(completion)->result = result;
    completion->Complete(absl::StatusCode::kOk, "");
    return absl::OkStatus();
  }

  absl::Status Run(const EngineRef& where, const engine::EngineCommand& command,
                   std::unique_ptr<engine::Completion>& completion,
                   absl::Duration) override {
    if (absl::Status s = Post(where, command, completion.get()); !s.ok()) {
      return s;
    }
    // Held: nothing will answer before any timeout.
    if (!completion->done() && completion->TryAbandon()) {
      completion.release();
      return absl::DeadlineExceededError("the fake engine holds it");
    }
    return completion->status();
  }

  absl::StatusOr<NicSummary> FindNic(const std::string& name) override {
    absl::MutexLock lock(&mu_);
    const NicSummary* nic = FindLocked(name);
    if (nic == nullptr) return absl::NotFoundError("no such NIC");
    return *nic;
  }
  std::vector<NicSummary> Nics() override {
    absl::MutexLock lock(&mu_);
    return nics_;
  }

 private:
  const NicSummary* FindLocked(const std::string& name) const {
    for (const NicSummary& nic : nics_) {
      if (nic.name == name) return &nic;
    }
    return nullptr;
  }
  // As TransportEndpoint::ListFlows_st: flows from slot `start` on, as
  // many as fit; `next` the slot of the first that did not.
  static void List(const std::map<uint32_t, engine::FlowInfo>& by_slot,
                   uint32_t start, engine::FlowListResult* out) {
    out->count = 0;
    out->next = UINT32_MAX;
    for (auto it = by_slot.lower_bound(start); it != by_slot.end(); ++it) {
      if (out->count == out->flows.size()) {
        out->next = it->first;
        return;
      }
      out->flows[out->count++] = it->second;
    }
  }

  absl::Mutex mu_;
  std::vector<NicSummary> nics_;
  std::map<std::pair<std::string, size_t>, std::map<uint32_t, engine::FlowInfo>>
      flows_;
  FlowOpAnswer answer_;
  int ring_full_ = 0;
  std::vector<engine::EngineCommand> posted_;
  std::vector<engine::Completion*> held_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_ENGINE_COMMANDS_FAKE_H_
