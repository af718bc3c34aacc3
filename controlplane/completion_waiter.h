// Waits for engine completions on a thread of its own, for calls that
// must not hold a gRPC thread meanwhile: a Connect waits a handshake long,
// and thousands may be in flight at once.
//
// Thread-safe: any thread adds waits; `done` runs on the waiter's thread,
// one at a time, and must not block.
#ifndef FERRY_CONTROLPLANE_COMPLETION_WAITER_H_
#define FERRY_CONTROLPLANE_COMPLETION_WAITER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dataplane/engine/command.h"

namespace ferry::controlplane {

class CompletionWaiter {
 public:
  // The completion when the engine completed it (its status says how), or
  // null with DEADLINE_EXCEEDED at the deadline, CANCELLED once `*cancel`
  // turned true, or when the waiter stops (the completion is then left to
  // the engine, which frees it).
  using Done =
      std::function<void(std::unique_ptr<engine::Completion>, absl::Status)>;

  CompletionWaiter();
  // Ends every wait still open with CANCELLED.
  ~CompletionWaiter();

  // `completion` has been posted to an engine. `cancel` may be null; else
  // it must stay valid until `done` has run.
  void Wait(std::unique_ptr<engine::Completion> completion, absl::Time deadline,
            const std::atomic<bool>* cancel, Done done);
  // Like Wait, for a command not posted yet because its engine's command
  // ring was full: `post` is retried on the waiter's thread until it
  // returns anything but RESOURCE_EXHAUSTED (another error goes to `done`
  // with a null completion), or the wait ends. A null `post`: posted.
  using Post = std::function<absl::Status()>;
  void PostAndWait(Post post, std::unique_ptr<engine::Completion> completion,
                   absl::Time deadline, const std::atomic<bool>* cancel,
                   Done done);

 private:
  struct Pending {
    std::unique_ptr<engine::Completion> completion;
    absl::Time deadline;
    const std::atomic<bool>* cancel;
    Done done;
    Post post;  // set until posted
  };
  void Loop();
  // Runs `done` for what ended; keeps the rest.
  void Sweep(std::vector<Pending>& pending, bool stopping);

  absl::Mutex mu_;
  std::vector<Pending> added_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_COMPLETION_WAITER_H_
