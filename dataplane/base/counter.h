// Statistics with one writer thread and any number of readers.
//
// A relaxed atomic load and store: the same instructions as a plain integer
// on x86-64, but without a data race for the control plane that reads it at
// scrape time. Never use it with two writers.
#ifndef FERRY_DATAPLANE_BASE_COUNTER_H_
#define FERRY_DATAPLANE_BASE_COUNTER_H_

#include <atomic>
#include <cstdint>

namespace ferry {

class Counter {
 public:
  void Add(uint64_t n) { Set(Get() + n); }
  void Inc() { Add(1); }
  void Set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A level (buffers held, flows open) with the same one-writer rule: it
// goes up and down, and readers see some recent value.
class Gauge {
 public:
  void Add(uint64_t n) { Set(Get() + n); }
  void Sub(uint64_t n) { Set(Get() - n); }
  void Set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace ferry

#endif  // FERRY_DATAPLANE_BASE_COUNTER_H_
