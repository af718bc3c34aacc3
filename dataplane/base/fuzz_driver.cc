// Runs a libFuzzer target (LLVMFuzzerTestOneInput) as an ordinary test, with
// no fuzzing engine: each seed from the target's FerryFuzzSeeds() as is, then
// deterministic random mutations of the seeds (byte flips, truncations,
// extensions) and purely random inputs. A crash or abort fails the test; run
// it under --config=asan to catch out-of-bounds reads.
//
//   fuzz_test [ITERATIONS]     (default 200000)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Each fuzz target provides well-formed inputs to mutate.
std::vector<std::vector<uint8_t>> FerryFuzzSeeds();

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 200000;
  const std::vector<std::vector<uint8_t>> seeds = FerryFuzzSeeds();
  for (const auto& seed : seeds)
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
  std::mt19937_64 rng(0xf3779);
  for (long i = 0; i < iterations; ++i) {
    std::vector<uint8_t> input;
    if (seeds.empty() || i % 4 == 0) {
      input.resize(rng() % 256);
      for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
    } else {
      input = seeds[rng() % seeds.size()];
      const int mutations = 1 + static_cast<int>(rng() % 4);
      for (int m = 0; m < mutations && !input.empty(); ++m) {
        switch (rng() % 3) {
          case 0:
            input[rng() % input.size()] = static_cast<uint8_t>(rng());
            break;
          case 1:
            input.resize(rng() % (input.size() + 1));
            break;
          default:
            input.push_back(static_cast<uint8_t>(rng()));
            break;
        }
      }
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("fuzz: %zu seeds and %ld generated inputs, no crash\n",
              seeds.size(), iterations);
  return 0;
}
