// Seeds for engine_channel_fuzz.cc: short well-behaved programs on both
// channel shapes (see the target for what each step byte means), for the
// fuzzer to mutate.
#include <cstdint>
#include <vector>

std::vector<std::vector<uint8_t>> FerryFuzzSeeds() {
  std::vector<std::vector<uint8_t>> seeds;
  for (uint8_t shape : {0, 1}) {
    // Send a chained message of two buffers and an inline one; the engine
    // keeps the first, sends the second; copy and release; the app takes
    // back its buffers.
    seeds.push_back(
        {shape, 0,   7,   0,    0,   0,    0, 0,    0, 0, 9,
         2,     0,   0,   0x10, 0,   0,    0, 0x08, 0, 1,  // AppSend
         0,     3,   0,   0,    0,   0,    0, 0,    0, 1, 0,
         5,     'h', 'e', 'l',  'l', 'o',  1,           // inline
         8,     4,   1,   0,                            // PollTx
         9,     0,   0,   2,    0,   0x10, 0, 0x08, 0,  // copy, release
         5,     3,   1,   1,    1,                      // AppReceive
         15});
    // A message reassembled in chunks and delivered; a delivery of two
    // pieces; the app reads both and returns the buffers.
    seeds.push_back({shape, 10, 0, 1,    0x30, 0x00,  // begin 12 KiB
                     10,    2,  0, 0x10, 0x00,        // a chunk
                     10,    3,  0, 7,    0,    0,    0,  0,
                     0,     0,  0, 1,                        // the rest
                     12,    2,  1, 0x01, 0x00, 0,    20, 3,  // deliver
                     15,    5,  4, 1,    1,    1,    1,  15});
    // Control requests: one answered, one deferred and completed; an
    // event; a scribble over the ring area; a raw descriptor.
    seeds.push_back(
        {shape, 7, 0, 0, 0, 0, 0, 0,    0,    1,    0,    0,  // NOOP
         7,     0, 0, 0, 0, 0, 0, 0,    2,    0,    3,        // CONNECT
         14,    1, 0, 0,                                      // serve, defer
         13,    0, 0, 0, 0, 0, 0, 0,    9,    0,    0,    0,    0,
         0,     0, 0, 1, 2, 0, 0, 0x01, 0x40, 4,    0xff, 0xff, 0xff,
         0xff,  1, 0, 0, 0, 0, 0, 0,    0,    1,    0,    0,    0,
         0,     0, 0, 0, 2, 2, 0, 3,    1,    0x10, 0x00, 1,    1,  // raw desc
         8,     2, 0, 15});
  }
  return seeds;
}
