#include "dataplane/crypto/trust_list.h"

#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ferry::crypto {

TrustList::~TrustList() { delete keys_.load(std::memory_order_acquire); }

TrustList::TrustList(TrustList&& other) noexcept
    : keys_(other.keys_.exchange(nullptr, std::memory_order_acq_rel)) {}

TrustList& TrustList::operator=(TrustList&& other) noexcept {
  if (this != &other) {
    delete keys_.exchange(other.keys_.exchange(nullptr),
                          std::memory_order_acq_rel);
  }
  return *this;
}

bool TrustList::Contains(const PublicKey& key) const {
  // Sequentially consistent, with Replace's exchange and load: either this
  // reader's count is seen by the writer before it frees the old set, or
  // this reader loads the new set.
  readers_.fetch_add(1, std::memory_order_seq_cst);
  const Keys* keys = keys_.load(std::memory_order_seq_cst);
  const bool found = keys != nullptr && keys->contains(key);
  readers_.fetch_sub(1, std::memory_order_release);
  return found;
}

void TrustList::Replace(Keys keys) {
  const Keys* old =
      keys_.exchange(new Keys(std::move(keys)), std::memory_order_seq_cst);
  // A reader holds the old set for one lookup at most.
  while (readers_.load(std::memory_order_seq_cst) != 0) {
    absl::SleepFor(absl::Microseconds(20));
  }
  delete old;
}

void TrustList::Insert(const PublicKey& key) {
  Keys keys = Snapshot();
  keys.insert(key);
  Replace(std::move(keys));
}

TrustList::Keys TrustList::Snapshot() const {
  // Writers are serialized by the caller, and this runs on a writer's
  // side: the set cannot be freed under it.
  const Keys* keys = keys_.load(std::memory_order_acquire);
  return keys == nullptr ? Keys() : *keys;
}

}  // namespace ferry::crypto
