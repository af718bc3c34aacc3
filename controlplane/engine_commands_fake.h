// A fake engine behind the EngineCommands seam, for unit tests: commands
// complete inline (a control request answered as the test says, or held
// until the test completes it, as a handshake that ends late), and every
// posted command is recorded for the test to assert on.
#ifndef FERRY_CONTROLPLANE_ENGINE_COMMANDS_FAKE_H_
#define FERRY_CONTROLPLANE_ENGINE_COMMANDS_FAKE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controlplane/engine_commands.h"

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

  void AddNic(const std::string& name, net::Ipv4Prefix address) {
    absl::MutexLock lock(&mu_);
    nics_[name] = address;
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
    if (nics_.count(where.nic) == 0) {
      return absl::NotFoundError("no such NIC");
    }
    if (ring_full_ > 0) {
      --ring_full_;
      return absl::ResourceExhaustedError("command ring full");
    }
    posted_.push_back(command);
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

  absl::StatusOr<net::Ipv4Prefix> NicAddress(const std::string& nic) override {
    absl::MutexLock lock(&mu_);
    auto it = nics_.find(nic);
    if (it == nics_.end()) return absl::NotFoundError("no such NIC");
    return it->second;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, net::Ipv4Prefix> nics_;
  FlowOpAnswer answer_;
  int ring_full_ = 0;
  std::vector<engine::EngineCommand> posted_;
  std::vector<engine::Completion*> held_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_ENGINE_COMMANDS_FAKE_H_
