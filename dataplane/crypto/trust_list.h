// The node keys a ferryd trusts, which engines consult during handshakes
// and the operator changes while they run (ferryctl node trust/distrust).
//
// The set is replaced as a whole, never changed in place: a reader
// announces itself in a counter, reads the current set and leaves; the
// writer installs the new set, then waits until no reader is inside before
// it frees the old one. Readers take no lock and allocate nothing (a
// handshake, not the per-segment path, reads it), and the wait is as long
// as one set lookup.
//
// Threading: Contains from any thread; Replace from one thread at a time
// (the caller serializes writers). Moving is for set-up only, before any
// reader can see the object.
#ifndef FERRY_DATAPLANE_CRYPTO_TRUST_LIST_H_
#define FERRY_DATAPLANE_CRYPTO_TRUST_LIST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "dataplane/crypto/noise_handshake.h"

namespace ferry::crypto {

class TrustList {
 public:
  using Keys = absl::flat_hash_set<PublicKey>;

  TrustList() = default;
  ~TrustList();
  TrustList(TrustList&& other) noexcept;
  TrustList& operator=(TrustList&& other) noexcept;
  TrustList(const TrustList&) = delete;
  TrustList& operator=(const TrustList&) = delete;

  bool Contains(const PublicKey& key) const;
  // Installs `keys`; returns once no reader can still see the old set,
  // which is then freed.
  void Replace(Keys keys);
  // Set-up and tests: Replace with the current keys and `key`.
  void Insert(const PublicKey& key);
  // A copy of the current keys (control plane).
  Keys Snapshot() const;

 private:
  std::atomic<const Keys*> keys_{nullptr};
  mutable std::atomic<uint32_t> readers_{0};
};

}  // namespace ferry::crypto

#endif  // FERRY_DATAPLANE_CRYPTO_TRUST_LIST_H_
