/*
 * Ferry's client C API: messages between an application and ferryd through a
 * shared-memory channel. Link //client:ferry; no DPDK is needed.
 *
 * Lifecycle. An application opens a session with ferryd over its gRPC API
 * socket and creates channels in it (ferry_session_open and
 * ferry_session_attach, or ferry_attach for both at once): the API hands
 * out a ticket, and ferryd's channel socket hands over the channel's memory
 * for it. ferry_detach() unmaps a channel, after which ferryd reclaims it;
 * it does the same for every channel of a session that ends (closed, or its
 * process dead or hung). A process may hold several sessions and channels.
 *
 * Threading. A channel belongs to one thread at a time: every call on a
 * channel must come from the same thread, or the caller must serialise them
 * (a mutex around each call is enough). Debug builds check this and abort
 * with a message on a call from a second thread. Different channels are
 * independent.
 *
 * Ownership. Copying calls (ferry_send*, ferry_recv*) copy the data and
 * leave the caller's memory untouched. A message of at most
 * FERRY_INLINE_MAX (32) bytes is copied into its descriptor and takes no
 * buffer: the fastest way across. Zero-copy calls hand out pointers
 * into the channel: a ferry_zc_buf from ferry_zc_alloc belongs to the caller
 * until ferry_zc_send (which consumes it); one from ferry_zc_recv until
 * ferry_zc_release.
 *
 * Errors. Functions return 0 (or a count/length) on success and a negative
 * errno value on failure:
 *   -EAGAIN     no free buffers or ring slots right now (retry), or nothing
 *               to receive;
 *   -EMSGSIZE   a message over FERRY_MAX_MESSAGE_SIZE (8 MiB);
 *   -EINVAL     a bad argument;
 *   -ETIMEDOUT  a blocking call's timeout passed;
 *   -ECONNREFUSED/-ENOENT  ferryd's socket is not there (ferry_attach);
 *   -EPERM      ferryd refused an attach without a valid ticket;
 *   -EPROTO     ferryd answered something this library does not understand.
 * A message the engine refused after it was queued comes back as a receive
 * event with FERRY_RECV_SEND_ERROR and a reason in status (enum
 * ferry_status, see ferry_channel_abi.h).
 *
 * Flows. Every message carries a 64-bit flow handle. ferry_connect opens a
 * flow to another host's listener and returns its handle once the handshake
 * is done; ferry_listen makes this channel accept flows to a UDP port, each
 * announced by a FERRY_RECV_FLOW_ACCEPTED event with its handle. Received
 * messages and events carry the peer's address in info->cookie (decode it
 * with FERRY_COOKIE_REMOTE_IP/_REMOTE_PORT/_LOCAL_PORT): a server answers
 * by sending to info->flow. A flow that ends (closed by either side, reset,
 * peer dead) is announced by FERRY_RECV_FLOW_CLOSED with the reason in
 * info->status. Messages on one flow arrive whole, once, and in order.
 */
#ifndef FERRY_CLIENT_FERRY_H_
#define FERRY_CLIENT_FERRY_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "client/abi/ferry_channel_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ferry_channel ferry_channel;
typedef struct ferry_session ferry_session;

typedef struct ferry_channel_options {
  uint32_t buffer_count;  /* 0: ferryd's default (8192) */
  uint32_t buffer_size;   /* 0: ferryd's default (4096 bytes) */
  uint32_t ring_capacity; /* 0: ferryd's default (1024 messages) */
} ferry_channel_options;

/* Sessions. ferry_session_open opens a session with ferryd through its API
 * socket `socket_path` (NULL: FERRY_DEFAULT_SOCKET, /run/ferry/ferryd.sock;
 * "@name": an abstract socket). A library thread keeps it alive with
 * heartbeats; when the process dies or hangs, ferryd ends the session and
 * frees its channels and flows within about a second. Errors: -ENOENT
 * (no socket file there), -ECONNREFUSED (nothing listens on the socket, or
 * ferryd listens but does not answer within 10 s), -EAGAIN (ferryd's
 * session quota), -EPROTO.
 *
 * ferry_session_attach creates a channel in the session (-EMFILE past the
 * session's channel quota, -ENODEV when ferryd has no NIC). A session may
 * be used from any thread. ferry_session_close ends it: -EBUSY (and nothing
 * done) while any of its channels is still attached. */
int ferry_session_open(const char* socket_path, ferry_session** session);

/* Delivery after the application leaves. A message that a send accepted is
 * delivered even when the application detaches, exits or is killed right
 * after: ferryd sends what the channel holds, then closes each flow in
 * order (FIN), like TCP after close(). It waits at most the session's
 * linger time (ferryd's --session_linger_ms, 5 s by default; or
 * `linger_ms`, 1..600000; or $FERRY_LINGER_MS when the options leave it
 * 0), then resets the flows left and counts them
 * (ferry_engine_transport_linger_resets_total). ferry_detach_abort resets
 * a channel's flows at once instead, discarding what was not yet
 * delivered. */
typedef struct ferry_session_options {
  uint32_t linger_ms; /* 0: ferryd's default */
} ferry_session_options;
int ferry_session_open_ex(const char* socket_path,
                          const ferry_session_options* options,
                          ferry_session** session);
int ferry_session_attach(ferry_session* session,
                         const ferry_channel_options* options,
                         ferry_channel** channel);
int ferry_session_close(ferry_session* session);
uint64_t ferry_session_id(const ferry_session* session);

/* The short form: a session of its own for one channel, ended by
 * ferry_detach. `socket_path` as for ferry_session_open; `options` may be
 * NULL. */
int ferry_attach(const char* socket_path, const ferry_channel_options* options,
                 ferry_channel** channel);
void ferry_detach(ferry_channel* channel);
void ferry_detach_abort(ferry_channel* channel);

/* For programs that serve channels themselves (the engine side's tests and
 * benchmarks): attaches straight to a channel socket, without a session.
 * ferryd refuses such attaches (-EPERM): its channels belong to sessions. */
int ferry_attach_channel_socket(const char* socket_path,
                                const ferry_channel_options* options,
                                ferry_channel** channel);

uint64_t ferry_channel_id(const ferry_channel* channel);
/* A file descriptor that becomes readable when the engine has something for
 * this channel while it waits (for poll/epoll loops; see ferry_recv_wait). */
int ferry_wait_fd(const ferry_channel* channel);

/* Sending: the message is copied into the channel and queued; 0 or -errno.
 * -EAGAIN for one flow only while that flow is blocked: its queue in the
 * engine is full (a slow receiver or path); the channel's other flows go
 * on, and the flow takes messages again once its peer acknowledges. */
int ferry_send(ferry_channel* channel, uint64_t flow, const void* data,
               size_t length);
int ferry_sendmsg(ferry_channel* channel, uint64_t flow,
                  const struct iovec* iov, int iovcnt, uint64_t cookie);

typedef struct ferry_msghdr {
  uint64_t flow;
  uint64_t cookie; /* echoed in a send-error event */
  const struct iovec* iov;
  int iovcnt;
} ferry_msghdr;

/* 1 while `flow` is blocked (sends on it return -EAGAIN), else 0. */
int ferry_flow_blocked(const ferry_channel* channel, uint64_t flow);

/* Queues up to `count` messages with one publication; returns how many were
 * queued (the first that did not fit and all after it were not), or a
 * negative errno when none was. */
int ferry_sendmmsg(ferry_channel* channel, const ferry_msghdr* messages,
                   int count);

/* Receive events: info->flags. Events carry no data (0 bytes). */
#define FERRY_RECV_TRUNCATED 0x1  /* the buffer was smaller than length */
#define FERRY_RECV_SEND_ERROR 0x2 /* event: a send failed (status) */
#define FERRY_RECV_FLOW_ACCEPTED                                            \
  0x4                              /* event: a listener accepted info->flow \
                                    */
#define FERRY_RECV_FLOW_CLOSED 0x8 /* event: info->flow ended (status) */
#define FERRY_RECV_EVENT_MASK \
  (FERRY_RECV_SEND_ERROR | FERRY_RECV_FLOW_ACCEPTED | FERRY_RECV_FLOW_CLOSED)

typedef struct ferry_recv_info {
  uint64_t flow;
  uint64_t cookie; /* for send errors */
  uint32_t length; /* the whole message's length */
  uint16_t status; /* enum ferry_status */
  uint16_t flags;  /* FERRY_RECV_* */
} ferry_recv_info;

/* Non-blocking: copies the next message (up to `capacity` bytes) and
 * returns the bytes copied, or -EAGAIN when nothing is waiting. A send-error
 * event returns 0 with FERRY_RECV_SEND_ERROR in info->flags. A loop may
 * spin on these without yielding: after a short run of empty polls (about
 * a microsecond) each empty one yields the CPU, so the ferryd engine that
 * shares the core delivers the next message (ferry_zc_recv too). */
ssize_t ferry_recv(ferry_channel* channel, void* buffer, size_t capacity,
                   ferry_recv_info* info);
ssize_t ferry_recvmsg(ferry_channel* channel, const struct iovec* iov,
                      int iovcnt, ferry_recv_info* info);
/* Blocking: like ferry_recv, but waits up to `timeout_ms` (-1: forever),
 * spinning briefly and then sleeping until the engine kicks the channel. */
ssize_t ferry_recv_wait(ferry_channel* channel, void* buffer, size_t capacity,
                        ferry_recv_info* info, int timeout_ms);
/* How long blocking calls spin (yielding) before they sleep: 50 us by
 * default, which suits pipelined traffic; 0 suits a lone request/response
 * on a machine whose cores the engines need. $FERRY_WAIT_SPIN_NS sets the
 * default for a process. */
void ferry_set_wait_spin_ns(ferry_channel* channel, uint64_t ns);

/* Zero copy. A ferry_zc_buf names a chain of channel buffers. */
typedef struct ferry_zc_buf {
  uint32_t head;
  uint32_t length;
  uint32_t segments;
  uint32_t flags; /* FERRY_ZC_*: the library's own, leave them alone */
} ferry_zc_buf;
/* A received inline message copied into one of the app's free buffers. */
#define FERRY_ZC_APP_BUFFER 1u

/* Takes buffers for a `length`-byte message and describes them in `iov`
 * (room for `max_iov` entries; -ENOSPC if more are needed). Fill them, then
 * ferry_zc_send. Returns the number of iovecs. */
int ferry_zc_alloc(ferry_channel* channel, size_t length, struct iovec* iov,
                   int max_iov, ferry_zc_buf* buf);
int ferry_zc_send(ferry_channel* channel, uint64_t flow,
                  const ferry_zc_buf* buf, uint64_t cookie);
/* Returns buffers taken by ferry_zc_alloc without sending them. */
void ferry_zc_discard(ferry_channel* channel, const ferry_zc_buf* buf);
/* Describes the next received message in place; returns the number of
 * iovecs (-ENOSPC if `max_iov` is too small: nothing is consumed then), or
 * -EAGAIN. Release it with ferry_zc_release. Send-error events return 0.
 * A message of at most FERRY_INLINE_MAX bytes arrives inside its descriptor,
 * whose ring slot is reused: it is copied into one of the app's free
 * buffers (-EAGAIN while the app has none) and described there. */
int ferry_zc_recv(ferry_channel* channel, struct iovec* iov, int max_iov,
                  ferry_recv_info* info, ferry_zc_buf* buf);
void ferry_zc_release(ferry_channel* channel, const ferry_zc_buf* buf);

/* A round trip through the engine's control ring (liveness check). */
int ferry_ping_engine(ferry_channel* channel, int timeout_ms);

/* Flows. Addresses are IPv4 in host byte order. On a session's channel,
 * listen, unlisten and connect are FlowService calls to ferryd (which
 * checks the session and its quotas); close, and every call on a bare
 * channel, go through the channel's control ring, in order with the
 * messages already queued. Each waits for the engine's answer (up to
 * `timeout_ms`, -1: as long as the engine takes; a connect's handshake
 * gives up by itself after about a second of silence).
 *
 * ferry_listen: accept flows to `port` (-EADDRINUSE when another channel
 * listens there). ferry_connect: a flow to remote_ip:remote_port from
 * `local_port` (0: any); on success *flow is its handle. Failures:
 * -ECONNREFUSED (nobody listens), -ETIMEDOUT (no answer), -EHOSTUNREACH
 * (no ARP answer), -EMFILE (flow table full), -EINVAL; with encrypted
 * flows, -EACCES (this host and the peer do not trust each other's node
 * key) and -EPROTONOSUPPORT (one side requires encryption, the other has
 * it off). ferry_close: an
 * orderly close after what was already sent; the FLOW_CLOSED event follows
 * when the peer has confirmed.
 *
 * With several NICs, a listener accepts on all of them and a connect
 * leaves through the NIC its route picks (the destination's subnet, else
 * a NIC with a gateway), whichever engine serves the channel. */
int ferry_listen(ferry_channel* channel, uint16_t port, int timeout_ms);
int ferry_unlisten(ferry_channel* channel, uint16_t port, int timeout_ms);
int ferry_connect(ferry_channel* channel, uint32_t remote_ip,
                  uint16_t remote_port, uint16_t local_port, int timeout_ms,
                  uint64_t* flow);

/* A flow's addresses, host byte order. */
typedef struct ferry_flow_addr {
  uint32_t local_ip;
  uint32_t remote_ip;
  uint16_t local_port;
  uint16_t remote_port;
} ferry_flow_addr;

/* ferry_connect that also tells the flow's addresses (the local port the
 * engine picked); `addr` may be NULL. */
int ferry_connect_ex(ferry_channel* channel, uint32_t remote_ip,
                     uint16_t remote_port, uint16_t local_port, int timeout_ms,
                     uint64_t* flow, ferry_flow_addr* addr);
/* ferry_listen on one NIC only: flows to `local_ip`:`port` (0: every
 * NIC). ferry_connect_ex leaving from the NIC with address `local_ip` (0:
 * the route's). Both fail with -EADDRNOTAVAIL when no NIC of ferryd has
 * that address. */
int ferry_listen_on(ferry_channel* channel, uint32_t local_ip, uint16_t port,
                    int timeout_ms);
int ferry_connect_from(ferry_channel* channel, uint32_t local_ip,
                       uint32_t remote_ip, uint16_t remote_port,
                       uint16_t local_port, int timeout_ms, uint64_t* flow,
                       ferry_flow_addr* addr);
int ferry_close(ferry_channel* channel, uint64_t flow, int timeout_ms);
/* The engine's IPv4 address (host byte order) as of the last flow call,
 * or 0 before any: a connect's is that of the NIC it left through. */
uint32_t ferry_local_ip(const ferry_channel* channel);

/* A short English name for an enum ferry_status value. */
const char* ferry_status_name(uint16_t status);
/* The negative errno that a ferry_status maps to (0 for OK). */
int ferry_status_errno(uint16_t status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FERRY_CLIENT_FERRY_H_ */
