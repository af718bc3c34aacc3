// The peer credentials of every connection to one of ferryd's Unix
// sockets, taken by the socket's own accept loop (SO_PEERCRED) before gRPC
// sees the connection, and a bound on live connections per user.
//
// gRPC names a connection it was handed by file descriptor "fd:N" (its
// peer()); the table finds a call's credentials by that name. A recorded
// descriptor counts as live while it still refers to the same socket
// (device and inode): gRPC closes it when the connection ends, and a later
// connection that gets the same number replaces the record.
//
// Thread-safe: the accept loop admits, gRPC threads look up.
#ifndef FERRY_CONTROLPLANE_API_PEER_TABLE_H_
#define FERRY_CONTROLPLANE_API_PEER_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "controlplane/peer_credentials.h"

namespace ferry::controlplane {

class PeerTable {
 public:
  explicit PeerTable(uint32_t max_per_user) : max_per_user_(max_per_user) {}

  uint32_t max_per_user() const { return max_per_user_; }

  // A connection just accepted on `fd`: false, and nothing recorded, when
  // its user already holds max_per_user live connections.
  bool Admit(int fd, const PeerCredentials& peer);
  // The credentials behind a call's gRPC peer name ("fd:N"); nullopt for a
  // peer the table does not know (or no longer: the connection ended).
  std::optional<PeerCredentials> Find(const std::string& grpc_peer);
  // Live connections of `uid`.
  uint32_t LiveFor(uid_t uid);

 private:
  struct Entry {
    PeerCredentials peer;
    dev_t dev = 0;
    ino_t inode = 0;
  };
  static bool Live(int fd, const Entry& entry);
  void PruneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint32_t max_per_user_;
  absl::Mutex mu_;
  std::map<int, Entry> by_fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_PEER_TABLE_H_
