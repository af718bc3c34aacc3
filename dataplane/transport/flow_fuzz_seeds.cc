// Seeds for flow_fuzz.cc under fuzz_driver: step sequences that exchange
// messages, lose and repeat segments, let timers run and forge segments.
#include <cstdint>
#include <vector>

std::vector<std::vector<uint8_t>> FerryFuzzSeeds() {
  return {
      // A message each way of the steps: queue, deliver, answer, time.
      {4, 20, 0, 1, 1, 1, 1, 2, 1, 1, 3, 5},
      // Lost and repeated segments, then the retransmission timer.
      {4, 200, 0, 0, 3, 1, 3, 2, 1, 0x13, 50, 1, 1, 1, 1, 2, 1},
      // Forged segments: data in window, a RST, a FIN, a bad length.
      {5, 2, 3, 0, 0, 0, 0, 0, 0, 0,    0, 0, 0, 0, 0, 10, 40, 8, 1, 2, 3,
       4, 5, 6, 7, 8, 5, 5, 0, 9, 0xf0, 0, 0, 0, 0, 0, 0,  0,  0, 0, 0, 0,
       0, 5, 4, 0, 1, 1, 0, 0, 0, 0,    0, 0, 0, 0, 0, 0,  0,  0, 0},
      // Many messages, a closed window, a probe.
      {4, 9, 4, 9, 4, 9, 4, 9,    0, 1, 1, 1, 1,
       1, 1, 1, 1, 1, 1, 3, 0xff, 2, 1, 1, 1},
  };
}
