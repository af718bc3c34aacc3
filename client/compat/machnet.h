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
 *   - A message that machnet_send accepted is delivered even when the
 *     process exits or is killed right after (ferryd drains the channel,
 *     then closes its flows; see docs/TRANSPORT.md).
 *   - machnet_recv and machnet_recvmsg that find nothing yield the CPU after
 *     a short run of empty polls, so a loop that spins on them shares a core
 *     with ferryd's engines.
 *   - Machnet's channel memory is not Ferry's: MachnetChannelCtx_t and
 *     MachnetMsgBuf_t are opaque, machnet_bind (not part of Machnet's public
 *     API) maps nothing and returns NULL with errno ENOTSUP, and
 *     g_ctrl_socket stays -1 (the session is a gRPC stream), and
 *     machnet_recvmsg_buf is declared but not provided.
 *
 * Names, tags, typedefs, field order and constants are Machnet's, and this
 * header includes what Machnet's does (stdio.h, stdlib.h, unistd.h, and
 * through machnet_common.h the rest), so Machnet's applications compile
 * unchanged with Machnet's line: cc -I<include dir> app.c -lmachnet_shim.
 */
#ifndef FERRY_CLIENT_COMPAT_MACHNET_H_
#define FERRY_CLIENT_COMPAT_MACHNET_H_

#ifdef __cplusplus
extern "C" {
#endif

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "machnet_common.h"

/* One piece of a message (like struct iovec). */
struct MachnetIovec {
  void *base;
  size_t len;
};
typedef struct MachnetIovec MachnetIovec_t;

/* A message: msg_size bytes in msg_iovlen pieces, to or from flow_info. */
struct MachnetMsgHdr {
  uint32_t msg_size;
  MachnetFlow_t flow_info;
  MachnetIovec_t *msg_iov;
  size_t msg_iovlen;
  uint16_t flags;
};
typedef struct MachnetMsgHdr MachnetMsgHdr_t;

/* Machnet's connection to its controller. Ferry's session is a gRPC
 * stream, so this stays -1. */
extern int g_ctrl_socket;

/* Once per process (further calls do nothing). 0, or -1 when ferryd does
 * not answer at $FERRY_SOCKET (default /run/ferry/ferryd.sock). */
int machnet_init();
/* Not part of Machnet's public API: maps a Machnet channel's memory. Ferry
 * channels are not Machnet's memory: closes `shm_fd`, sets errno to
 * ENOTSUP and returns NULL (what Machnet returns for a bad segment). */
MachnetChannelCtx_t *machnet_bind(int shm_fd, size_t *channel_size);
/* A new channel; NULL on failure. */
void *machnet_attach();
/* Accept flows to local_ip:port on this channel. 0; -1; -EINVAL for an
 * unparsable address. */
int machnet_listen(void *channel_ctx, const char *local_ip, uint16_t port);
/* A flow to remote_ip:remote_port; fills *flow (src: local, dst: remote)
 * once the handshake completes. 0 / -1. */
int machnet_connect(void *channel_ctx, const char *local_ip,
                    const char *remote_ip, uint16_t remote_port,
                    MachnetFlow_t *flow);
/* Non-blocking sends: 0 / -1. */
int machnet_send(const void *channel_ctx, MachnetFlow_t flow, const void *buf,
                 size_t len);
int machnet_sendmsg(const void *channel_ctx, const MachnetMsgHdr_t *msghdr);
/* Sends up to vlen messages; returns how many were queued. */
int machnet_sendmmsg(const void *channel_ctx,
                     const MachnetMsgHdr_t *msghdr_iovec, int vlen);
/* Non-blocking receives. machnet_recv: 0 when nothing is waiting, -1 on
 * error, else the message's size (flow: src remote, dst local).
 * machnet_recvmsg: 0 nothing, 1 a message, -1 error. */
ssize_t machnet_recv(const void *channel_ctx, void *buf, size_t len,
                     MachnetFlow_t *flow);
int machnet_recvmsg(const void *channel_ctx, MachnetMsgHdr_t *msghdr);
/* Declared as in Machnet's header; this library does not provide it (a
 * program that calls it does not link). */
int machnet_recvmsg_buf(const void *channel_ctx, MachnetMsgBuf_t *msgbuf);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FERRY_CLIENT_COMPAT_MACHNET_H_ */
