// Anti-replay for authenticated segments: which of the last kBits packet
// numbers were already accepted (the bitmap of RFC 6479: a ring of 64-bit
// words, so that advancing clears whole words and costs nothing per
// number skipped). A number more than the window below the highest seen
// is refused as too old; the transport's own duplicate handling stays for
// what it resends.
//
// Check before the tag is verified (a cheap refusal), Accept only after:
// a forged segment must not move the window.
#ifndef FERRY_DATAPLANE_CRYPTO_REPLAY_WINDOW_H_
#define FERRY_DATAPLANE_CRYPTO_REPLAY_WINDOW_H_

#include <array>
#include <cstdint>

namespace ferry::crypto {

class ReplayWindow {
 public:
  // 2048 numbers: 256 segments in flight, reordered by thousands of
  // segments on a bad path, still fit.
  static constexpr uint64_t kBits = 2048;

  // Whether `pn` may be accepted: new, and not too old.
  bool Check(uint64_t pn) const {
    if (!any_ || pn > highest_) return true;
    // One word of the ring is the one being reused: the window proper is
    // a word short of the ring.
    if (highest_ - pn >= kBits - 64) return false;
    return (words_[Word(pn)] & Bit(pn)) == 0;
  }

  // Records `pn` (after Check and the tag both passed).
  void Accept(uint64_t pn) {
    if (!any_ || pn > highest_) {
      const uint64_t from = any_ ? (highest_ >> 6) + 1 : pn >> 6;
      const uint64_t to = pn >> 6;
      // Words the window moves onto start empty; past a full turn of the
      // ring, all of them.
      const uint64_t clear = to - from + 1 > kWords ? kWords : to - from + 1;
      for (uint64_t i = 0; i < clear && from <= to; ++i) {
        words_[(from + i) % kWords] = 0;
      }
      highest_ = pn;
      any_ = true;
    }
    words_[Word(pn)] |= Bit(pn);
  }

  uint64_t highest() const { return highest_; }

 private:
  static constexpr uint64_t kWords = kBits / 64;
  static uint64_t Word(uint64_t pn) { return (pn >> 6) % kWords; }
  static uint64_t Bit(uint64_t pn) { return uint64_t{1} << (pn & 63); }

  // Every check reads these: first, beside its owner's other fields.
  uint64_t highest_ = 0;
  bool any_ = false;
  std::array<uint64_t, kWords> words_{};
};

}  // namespace ferry::crypto

#endif  // FERRY_DATAPLANE_CRYPTO_REPLAY_WINDOW_H_
