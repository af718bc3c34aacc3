// Two engines joined by a ring-backed port pair in one process (or a memif
// pair, whose driver copies every frame as between two hosts), each with a
// channel socket that the real client library attaches to. Host A is
// 10.88.0.1, host B 10.88.0.2. The engines are not started: the caller
// steps them (Step, or StartStepper for a background thread that does),
// so tests and benchmarks decide who runs when.
#ifndef FERRY_DATAPLANE_ENGINE_TESTING_ENGINE_PAIR_H_
#define FERRY_DATAPLANE_ENGINE_TESTING_ENGINE_PAIR_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "client/ferry.h"
#include "dataplane/channel/channel_listener.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/engine/engine.h"

namespace ferry::engine::testing {

inline constexpr uint32_t kHostA = 0x0a580001;  // 10.88.0.1
inline constexpr uint32_t kHostB = 0x0a580002;  // 10.88.0.2

// Message `seed` of `n` bytes: pseudo-random, so that a byte out of place
// shows.
inline std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

struct EnginePairOptions {
  // kRing hands each frame's buffer to the other port; kMemif copies it
  // through a shared ring, as two ferryd processes over memif do (and lets
  // frames point into channels: zero-copy transmit).
  enum class Wire { kRing, kMemif };
  Wire wire = Wire::kRing;
  bool tx_external = true;  // with kMemif: allow zero-copy transmit
  FaultConfig faults_a;     // on A's transmit path
  FaultConfig faults_b;
  TransportConfig transport;
  // B's, when it differs from A's (encryption modes, trust).
  std::optional<TransportConfig> transport_b;
  uint32_t mbufs_per_queue = 8191;
};

class EnginePair {
 public:
  // Starts EAL once per process (ordinary pages).
  static absl::StatusOr<std::unique_ptr<EnginePair>> Create(
      const EnginePairOptions& options = {});
  ~EnginePair();

  Engine& a() { return *engines_[0]; }
  Engine& b() { return *engines_[1]; }
  // One poll of each engine at `now_ns`; true if either had work.
  bool Step(uint64_t now_ns);
  // A thread that steps both engines until StopStepper.
  void StartStepper();
  void StopStepper();
  // After stepping from this thread: lets another thread (the stepper)
  // step next.
  void ReleaseThreads() {
    engines_[0]->ReleaseThread();
    engines_[1]->ReleaseThread();
  }

  // Attaches a client channel to engine `side` (0: A, 1: B). Needs the
  // engines stepping (the attach handshake goes through the listener here
  // and the engine's command path).
  absl::StatusOr<ferry_channel*> Attach(
      int side, const ferry_channel_options* options = nullptr);
  // For applications that attach by themselves (another thread, another
  // API): where to attach, and accepting one attach on that side.
  const std::string& socket_path(int side) const { return paths_[side]; }
  absl::Status AcceptOne(int side);

 private:
  EnginePair() = default;

  std::unique_ptr<dpdk::Port> ports_[2];
  std::unique_ptr<Engine> engines_[2];
  std::unique_ptr<channel::ChannelListener> listeners_[2];
  std::string paths_[2];
  std::vector<int> connections_;
  uint64_t next_channel_id_ = 1;
  std::atomic<bool> stepping_{false};
  std::thread stepper_;
};

}  // namespace ferry::engine::testing

#endif  // FERRY_DATAPLANE_ENGINE_TESTING_ENGINE_PAIR_H_
