#include "dataplane/net/checksum.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::net {
namespace {

// RFC 1071 word by word, the way the RFC writes it.
uint32_t ReferenceAdd(uint32_t sum, const uint8_t* p, size_t n) {
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < n; i += 2) acc += (uint32_t{p[i]} << 8) | p[i + 1];
  if (i < n) acc += uint32_t{p[i]} << 8;
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint32_t>(acc);
}

// Every test runs with each kernel the CPU has: scalar, AVX2, AVX-512BW.
class ChecksumTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { before_ = LimitChecksumKernelForTesting(GetParam()); }
  void TearDown() override { LimitChecksumKernelForTesting(before_); }
  int before_ = 2;
};

INSTANTIATE_TEST_SUITE_P(Kernels, ChecksumTest, ::testing::Values(0, 1, 2));

TEST_P(ChecksumTest, MatchesTheWordByWordSumForAnyLengthAndAlignment) {
  std::mt19937 rng(3);
  std::vector<uint8_t> data(3000);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t length = 0; length < 300; ++length) {
      const uint32_t seed = rng() & 0x3ffff;
      const uint32_t wide =
          ChecksumAdd(seed, absl::MakeConstSpan(data.data() + offset, length));
      const uint32_t reference =
          ReferenceAdd(seed, data.data() + offset, length);
      // Expect: the same value once folded (the accumulators may differ by
      // when they fold).
      ASSERT_EQ(ChecksumFinish(wide), ChecksumFinish(reference))
          << "offset " << offset << " length " << length;
    }
  }
  const uint32_t big = ChecksumAdd(0, absl::MakeConstSpan(data));
  EXPECT_EQ(ChecksumFinish(big),
            ChecksumFinish(ReferenceAdd(0, data.data(), data.size())));
}

TEST_P(ChecksumTest, AllOnesCarryEverywhere) {
  // Every word 0xffff: the most carries any data makes, over sizes that
  // take every path (scalar, wide blocks and their tails) up to 9 MiB.
  std::vector<uint8_t> ones(9u << 20, 0xff);
  for (size_t length : {63u, 64u, 65u, 95u, 1024u, 1111u, 65537u, 9u << 20}) {
    ASSERT_EQ(ChecksumFinish(
                  ChecksumAdd(7, absl::MakeConstSpan(ones.data(), length))),
              ChecksumFinish(ReferenceAdd(7, ones.data(), length)))
        << "length " << length;
  }
}

TEST_P(ChecksumTest, PiecesSumAsTheWhole) {
  // Any split into pieces, odd lengths included, sums as the whole does
  // when each piece is added at its offset.
  std::mt19937 rng(5);
  std::vector<uint8_t> data(1500);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t length = rng() % data.size();
    uint32_t pieces = 0;
    size_t at = 0;
    while (at < length) {
      const size_t n = std::min<size_t>(length - at, 1 + rng() % 200);
      pieces =
          ChecksumAddAt(pieces, absl::MakeConstSpan(data.data() + at, n), at);
      at += n;
    }
    ASSERT_EQ(ChecksumFinish(pieces),
              ChecksumFinish(ReferenceAdd(0, data.data(), length)))
        << "trial " << trial << " length " << length;
  }
}

TEST_P(ChecksumTest, KnownVector) {
  // RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(0, absl::MakeConstSpan(bytes))),
            static_cast<uint16_t>(~0xddf2));
}

TEST_P(ChecksumTest, CopyingSumsWhatItCopies) {
  // Pieces of any length at any alignment, copied into a frame at their
  // offsets: the frame holds the bytes, and the sum is the whole's.
  std::mt19937 rng(7);
  std::vector<uint8_t> data(3000);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  for (int trial = 0; trial < 3000; ++trial) {
    const size_t src_offset = rng() % 64;
    const size_t length = rng() % 1600;
    std::vector<uint8_t> frame(length + 130, 0xa5);
    const size_t dst_offset = rng() % 64;
    uint32_t sum = 0;
    size_t at = 0;
    while (at < length) {
      const size_t n = std::min<size_t>(length - at, 1 + rng() % 700);
      sum = ChecksumCopyAt(
          sum, frame.data() + dst_offset + at,
          absl::MakeConstSpan(data.data() + src_offset + at, n), at);
      at += n;
    }
    ASSERT_TRUE(std::equal(data.begin() + src_offset,
                           data.begin() + src_offset + length,
                           frame.begin() + dst_offset))
        << "trial " << trial;
    // Expect: nothing written around the copy.
    ASSERT_TRUE(std::all_of(frame.begin(), frame.begin() + dst_offset,
                            [](uint8_t b) { return b == 0xa5; }));
    ASSERT_TRUE(std::all_of(frame.begin() + dst_offset + length, frame.end(),
                            [](uint8_t b) { return b == 0xa5; }));
    ASSERT_EQ(ChecksumFinish(sum),
              ChecksumFinish(ReferenceAdd(0, data.data() + src_offset, length)))
        << "trial " << trial << " length " << length;
  }
}

}  // namespace
}  // namespace ferry::net
