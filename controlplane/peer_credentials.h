// Who is at the other end of a Unix socket, as the kernel says
// (SO_PEERCRED at connect time), not as the peer claims.
#ifndef FERRY_CONTROLPLANE_PEER_CREDENTIALS_H_
#define FERRY_CONTROLPLANE_PEER_CREDENTIALS_H_

#include <sys/types.h>

namespace ferry::controlplane {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_PEER_CREDENTIALS_H_
