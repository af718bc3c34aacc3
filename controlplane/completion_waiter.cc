#include "controlplane/completion_waiter.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace ferry::controlplane {

CompletionWaiter::CompletionWaiter() : thread_([this] { Loop(); }) {}

CompletionWaiter::~CompletionWaiter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void CompletionWaiter::Wait(std::unique_ptr<engine::Completion> completion,
                            absl::Time deadline,
                            const std::atomic<bool>* cancel, Done done) {
  PostAndWait(nullptr, std::move(completion), deadline, cancel,
              std::move(done));
}

void CompletionWaiter::PostAndWait(
    Post post, std::unique_ptr<engine::Completion> completion,
    absl::Time deadline, const std::atomic<bool>* cancel, Done done) {
  absl::MutexLock lock(&mu_);
  added_.push_back(Pending{std::move(completion), deadline, cancel,
                           std::move(done), std::move(post)});
}

namespace {

// Why a wait ends that the engine has not answered; OK while it goes on.
absl::Status GiveUp(const std::atomic<bool>* cancel, absl::Time deadline,
                    bool posted, bool stopping, absl::Time now) {
  if (stopping) return absl::CancelledError("ferryd is stopping");
  if (cancel != nullptr && cancel->load()) {
    return absl::CancelledError("the call was cancelled");
  }
  if (now < deadline) return absl::OkStatus();
  return posted ? absl::DeadlineExceededError(
                      "the engine did not answer before the deadline")
                : absl::ResourceExhaustedError(
                      "the engine's command ring stayed full until the "
                      "deadline");
}

}  // namespace

void CompletionWaiter::Sweep(std::vector<Pending>& pending, bool stopping) {
  const absl::Time now = absl::Now();
  size_t kept = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    Pending& p = pending[i];
    if (p.post && !stopping) {
      const absl::Status posted = p.post();
      if (posted.ok()) {
        p.post = nullptr;
      } else if (!absl::IsResourceExhausted(posted)) {
        p.done(nullptr, posted);
        continue;
      }
    }
    if (!p.post && p.completion->done()) {
      const absl::Status status = p.completion->status();
      p.done(std::move(p.completion), status);
      continue;
    }
    const absl::Status ended =
        GiveUp(p.cancel, p.deadline, !p.post, stopping, now);
    // Unposted, the completion is ours to drop. Posted, it goes to the
    // engine, unless the engine completes it right now: then its result
    // is handed out on the next sweep.
    if (!ended.ok() && (p.post || p.completion->TryAbandon())) {
      if (!p.post) p.completion.release();  // the engine frees it
      p.done(nullptr, ended);
      continue;
    }
    if (kept != i) pending[kept] = std::move(p);
    ++kept;
  }
  pending.resize(kept);
}

void CompletionWaiter::Loop() {
  pthread_setname_np(pthread_self(), "ferry-waiter");
  std::vector<Pending> pending;
  // Short sleeps while something is pending (an engine answers within
  // microseconds to a handshake's round trip); none while idle.
  absl::Duration backoff = absl::Microseconds(5);
  while (true) {
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      if (pending.empty()) {
        mu_.Await(absl::Condition(
            +[](CompletionWaiter* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return w->stop_ || !w->added_.empty();
            },
            this));
      }
      stopping = stop_;
      if (!added_.empty()) backoff = absl::Microseconds(5);
      for (Pending& p : added_) pending.push_back(std::move(p));
      added_.clear();
    }
    Sweep(pending, stopping);
    // Nothing is added once the destructor began; what is left completed
    // as it was given up, and is handed out on the next sweep.
    if (stopping && pending.empty()) return;
    if (!pending.empty()) {
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Microseconds(100));
    }
  }
}

}  // namespace ferry::controlplane
