/*
 * Machnet's application API, implemented over Ferry's client library, so
 * that a Machnet application moves to Ferry by rebuilding: include this
 * header, link libmachnet_shim.so (or //client/compat:machnet), and run
 * ferryd instead of Machnet's sidecar.
 *
 * Semantics follow Machnet's documented behaviour: a flow is named by its
 * 4-tuple (MachnetFlow_t, host byte order; src is the local end when
 * sending and the remote end when receiving, so a server answers by
 * swapping src and dst), messages on a flow arrive whole and in order,
 * everything after machnet_attach is non-blocking except listen and
 * connect, and one thread per channel.
 *
 * Where Ferry differs (on purpose):
 *   - machnet_sendmsg with msg_size different from the sum of the iovec
 *     lengths returns -1 (Machnet aborts or overruns memory).
 *   - A message of up to MACHNET_MSG_MAX_LEN (8 MiB) fits a default channel
 *     (Machnet's holds about 5.8 MB).
 *   - machnet_recvmsg with iovecs too small for the message returns -1 and
 *     drops the message, as Machnet does; the other messages are kept.
 *   - listen and connect answer in microseconds plus the handshake, not
 *     after a 1 s poll; a connect that fails says so (-1) within about a
 *     second instead of timing out silently.
 *   - machnet_init opens a session with ferryd through its API socket,
 *     $FERRY_SOCKET or /run/ferry/ferryd.sock (it fails, -1, when ferryd
 *     does not answer); channels and flows belong to that session and are
 *     freed when the process exits, crashes or hangs.
 *   - Flows end when either side closes or goes away; Machnet has no close,
 *     so neither does this API (ferry_close exists in the native API).
 */
#ifndef FERRY_CLIENT_COMPAT_MACHNET_H_
#define FERRY_CLIENT_COMPAT_MACHNET_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MACHNET_MSG_MAX_LEN (8u << 20)

/* A flow's 4-tuple, host byte order (the protocol is always UDP). */
typedef struct {
  uint32_t src_ip;
  uint32_t dst_ip;
  uint16_t src_port;
  uint16_t dst_port;
} MachnetFlow_t;

typedef struct {
  void* base;
  size_t len;
} MachnetIovec_t;

typedef struct {
  uint32_t msg_size;
  MachnetFlow_t flow_info;
  MachnetIovec_t* msg_iov;
  size_t msg_iovlen;
  uint16_t flags;
} MachnetMsgHdr_t;

/* Once per process (further calls do nothing). 0, or -1 when ferryd's
 * channel socket is not there. */
int machnet_init(void);
/* A new channel; NULL on failure. */
void* machnet_attach(void);
/* Accept flows to local_ip:port on this channel. 0; -1; -EINVAL for an
 * unparsable address. */
int machnet_listen(void* channel_ctx, const char* local_ip, uint16_t port);
/* A flow to remote_ip:remote_port; fills *flow (src: local, dst: remote)
 * once the handshake completes. 0 / -1. */
int machnet_connect(void* channel_ctx, const char* local_ip,
                    const char* remote_ip, uint16_t remote_port,
                    MachnetFlow_t* flow);
/* Non-blocking sends: 0 / -1. */
int machnet_send(const void* channel_ctx, MachnetFlow_t flow, const void* buf,
                 size_t len);
int machnet_sendmsg(const void* channel_ctx, const MachnetMsgHdr_t* msghdr);
/* Sends up to vlen messages; returns how many were queued. */
int machnet_sendmmsg(const void* channel_ctx, const MachnetMsgHdr_t* msghdrs,
                     int vlen);
/* Non-blocking receives. machnet_recv: 0 when nothing is waiting, -1 on
 * error, else the message's size (flow: src remote, dst local).
 * machnet_recvmsg: 0 nothing, 1 a message, -1 error. */
ssize_t machnet_recv(const void* channel_ctx, void* buf, size_t len,
                     MachnetFlow_t* flow);
int machnet_recvmsg(const void* channel_ctx, MachnetMsgHdr_t* msghdr);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FERRY_CLIENT_COMPAT_MACHNET_H_ */
