#include "controlplane/api/peer_table.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace ferry::controlplane {

bool PeerTable::Live(int fd, const Entry& entry) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
         st.st_dev == entry.dev && st.st_ino == entry.inode;
}

void PeerTable::PruneLocked() {
  for (auto it = by_fd_.begin(); it != by_fd_.end();) {
    it = Live(it->first, it->second) ? std::next(it) : by_fd_.erase(it);
  }
}

bool PeerTable::Admit(int fd, const PeerCredentials& peer) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  absl::MutexLock lock(&mu_);
  by_fd_.erase(fd);  // its number was reused: that connection has ended
  PruneLocked();
  uint32_t live = 0;
  for (const auto& [other_fd, entry] : by_fd_) {
    if (entry.peer.uid == peer.uid) ++live;
  }
  if (live >= max_per_user_) return false;
  by_fd_[fd] = Entry{peer, st.st_dev, st.st_ino};
  return true;
}

std::optional<PeerCredentials> PeerTable::Find(const std::string& grpc_peer) {
  int fd = -1;
  if (!absl::StartsWith(grpc_peer, "fd:") ||
      !absl::SimpleAtoi(grpc_peer.substr(3), &fd)) {
    return std::nullopt;
  }
  absl::MutexLock lock(&mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end() || !Live(fd, it->second)) return std::nullopt;
  return it->second.peer;
}

uint32_t PeerTable::LiveFor(uid_t uid) {
  absl::MutexLock lock(&mu_);
  PruneLocked();
  uint32_t live = 0;
  for (const auto& [fd, entry] : by_fd_) {
    if (entry.peer.uid == uid) ++live;
  }
  return live;
}

}  // namespace ferry::controlplane
