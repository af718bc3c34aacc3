#include "controlplane/completion_waiter.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

struct Outcome {
  absl::Notification done;
  absl::Status status;
  bool had_completion = false;
};

CompletionWaiter::Done Record(Outcome* out) {
  return [out](std::unique_ptr<engine::Completion> completion,
               absl::Status status) {
    out->had_completion = completion != nullptr;
    out->status = status;
    out->done.Notify();
  };
}

TEST(CompletionWaiterTest, HandsOverACompletedCompletion) {
  CompletionWaiter waiter;
  auto completion = std::make_unique<engine::Completion>();
  engine::Completion* engine_side = completion.get();
  Outcome out;
  waiter.Wait(std::move(completion), absl::Now() + absl::Seconds(30), nullptr,
              Record(&out));
  engine_side->Complete(absl::StatusCode::kAlreadyExists, "taken");
  out.done.WaitForNotification();
  EXPECT_TRUE(out.had_completion);
  EXPECT_EQ(out.status.code(), absl::StatusCode::kAlreadyExists);
}

TEST(CompletionWaiterTest, GivesUpAtTheDeadlineAndLeavesItToTheEngine) {
  CompletionWaiter waiter;
  auto completion = std::make_unique<engine::Completion>();
  engine::Completion* engine_side = completion.get();
  Outcome out;
  waiter.Wait(std::move(completion), absl::Now() + absl::Milliseconds(1),
              nullptr, Record(&out));
  out.done.WaitForNotification();
  EXPECT_FALSE(out.had_completion);
  EXPECT_EQ(out.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(engine_side->abandoned());
  engine_side->Complete(absl::StatusCode::kOk, "");  // frees it (ASan)
}

TEST(CompletionWaiterTest, EndsWhenCancelled) {
  CompletionWaiter waiter;
  auto completion = std::make_unique<engine::Completion>();
  engine::Completion* engine_side = completion.get();
  std::atomic<bool> cancel{false};
  Outcome out;
  waiter.Wait(std::move(completion), absl::Now() + absl::Hours(1), &cancel,
              Record(&out));
  EXPECT_FALSE(out.done.WaitForNotificationWithTimeout(absl::Milliseconds(5)));
  cancel = true;
  out.done.WaitForNotification();
  EXPECT_EQ(out.status.code(), absl::StatusCode::kCancelled);
  engine_side->Complete(absl::StatusCode::kOk, "");
}

TEST(CompletionWaiterTest, StoppingEndsEveryOpenWait) {
  Outcome outs[3];
  engine::Completion* engine_side[3];
  {
    CompletionWaiter waiter;
    for (int i = 0; i < 3; ++i) {
      auto completion = std::make_unique<engine::Completion>();
      engine_side[i] = completion.get();
      waiter.Wait(std::move(completion), absl::Now() + absl::Hours(1), nullptr,
                  Record(&outs[i]));
    }
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(outs[i].done.HasBeenNotified());
    EXPECT_EQ(outs[i].status.code(), absl::StatusCode::kCancelled);
    engine_side[i]->Complete(absl::StatusCode::kOk, "");
  }
}

}  // namespace
}  // namespace ferry::controlplane
