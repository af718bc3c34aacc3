// Sending and receiving a fixed-size message with file descriptors over a
// Unix stream socket (SCM_RIGHTS). Used by both ferryd and the client.
#ifndef FERRY_CLIENT_FD_PASSING_H_
#define FERRY_CLIENT_FD_PASSING_H_

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>

namespace ferry::shm {

// A socket address for `path`; a leading '@' names a Linux abstract socket
// (no file, gone with its owner). False when the name is too long.
bool MakeUnixAddress(const char* path, sockaddr_un* addr, socklen_t* length);

// Whether something accepts connections on the Unix socket at `path` (a
// daemon already serving there, as opposed to a stale socket file).
bool UnixSocketIsLive(const char* path);

// Sends all `size` bytes with `fd_count` descriptors attached. 0 or -errno.
int SendWithFds(int sock, const void* data, size_t size, const int* fds,
                int fd_count);

// Receives exactly `size` bytes and up to `max_fds` descriptors (the number
// received goes to *fd_count; extra ones are closed). 0 or -errno; -EPROTO
// on a short message.
int ReceiveWithFds(int sock, void* data, size_t size, int* fds, int max_fds,
                   int* fd_count);

}  // namespace ferry::shm

#endif  // FERRY_CLIENT_FD_PASSING_H_
