/*
 * The shared-memory channel between an application and a ferryd engine.
 *
 * This header is the whole ABI: the application's client library and the
 * engine both map one segment laid out as below. Every structure is fixed
 * size, cache-line aligned where two sides write, and carries indices and
 * offsets, never pointers (each side maps the segment at its own address).
 *
 *  offset 0 +------------------------------------------------------------+
 *           | ferry_channel_header: magic, version, sizes, offsets       |
 *           +------------------------------------------------------------+
 *           | ctrl_sq  app -> engine   control requests   (ferry_ctrl)    |
 *           | ctrl_cq  engine -> app   control completions (ferry_ctrl)   |
 *           | tx       app -> engine   messages to send   (ferry_desc)    |
 *           | rx       engine -> app   messages received, send errors     |
 *           | app_free engine -> app   buffers the app may fill (uint32)  |
 *           | eng_free app -> engine   buffers the engine may fill        |
 *           |   each ring: ferry_ring_indices (2 cache lines), entries   |
 *           +------------------------------------------------------------+
 *           | buffer meta[buffer_count]: next index, bytes used          |
 *           +------------------------------------------------------------+
 *           | blocked flows: one bit per flow slot (engine -> app)       |
 *           +------------------------------------------------------------+ page
 *           | buffer data[buffer_count][buffer_size]                     |
 * aligned
 *           +------------------------------------------------------------+
 *
 * A message of up to FERRY_INLINE_MAX bytes rides inside its descriptor
 * (head is FERRY_BUFFER_NONE): one cache line carries it across, and no
 * buffer moves. A longer message is a chain of buffers: the descriptor names
 * the first buffer and the total length; meta[i].next links the rest and
 * FERRY_BUFFER_NONE ends the chain. A message no longer than one buffer is
 * that one buffer and its meta entry is not read (readers take the length
 * from the descriptor), so it costs no meta cache line. Every ring has one
 * producer and one consumer.
 *
 * Buffers circulate: the app takes free buffers from app_free, fills them and
 * sends them through tx; the engine sends the data and gives the buffers back
 * through app_free. The engine fills buffers from eng_free and delivers them
 * through rx; the app reads them and gives them back through eng_free.
 *
 * Sleeping: a consumer about to sleep sets its ring's consumer_waiting and
 * re-checks the ring; a producer that finds consumer_waiting set after
 * publishing kicks the consumer's eventfd. Busy traffic never makes a system
 * call. Nobody sleeps on the two free rings: their producers publish with a
 * plain release store.
 *
 * Blocked flows: a flow whose queue in the engine is full (its peer or
 * the path is slower than the app) is blocked on its own. The engine sets
 * bit FERRY_FLOW_SLOT(flow) of the bitmap while it is, and the library's
 * sends on that flow return -EAGAIN while the channel's other flows go on.
 * A message already in the tx ring for a blocked flow still goes out, in
 * order; an app that ignores the bit only fills its own channel.
 *
 * Trust: the engine treats every byte of the segment as hostile. It keeps its
 * own copy of the layout (it created the segment), copies each descriptor and
 * meta entry before checking it, bounds-checks every index and length, and
 * never reads a value twice. The application trusts the segment.
 */
#ifndef FERRY_CLIENT_FERRY_CHANNEL_ABI_H_
#define FERRY_CLIENT_FERRY_CHANNEL_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define FERRY_STATIC_ASSERT static_assert
#define FERRY_ALIGNAS(n) alignas(n)
#define FERRY_ALIGNOF(t) alignof(t)
#else
#define FERRY_STATIC_ASSERT _Static_assert
#define FERRY_ALIGNAS(n) _Alignas(n)
#define FERRY_ALIGNOF(t) _Alignof(t)
#endif

#define FERRY_CHANNEL_MAGIC 0x314e414843595246ull /* "FRYCHAN1" */
#define FERRY_CHANNEL_ABI_VERSION 6u
#define FERRY_CACHE_LINE 64
#define FERRY_BUFFER_NONE 0xffffffffu
/* The largest message a channel carries. */
#define FERRY_MAX_MESSAGE_SIZE (8u << 20)
/* The largest message carried inside its descriptor. */
#define FERRY_INLINE_MAX 32u
/* A flow handle's slot in its engine (the low 16 bits), which names its bit
 * in the blocked-flows bitmap (uint64_t words, FERRY_FLOW_SLOTS bits). */
#define FERRY_FLOW_SLOTS 65536u
#define FERRY_FLOW_SLOT(flow) ((uint32_t)((flow) & (FERRY_FLOW_SLOTS - 1)))

/*
 * Per-message status, in descriptors and completions. One list, from which
 * the enum below and the client library's ferry_status_name and
 * ferry_status_errno are generated:
 *   X(NAME, value, errno the library returns for it, what it means)
 * (the errno column is expanded only where <errno.h> is included).
 */
#define FERRY_STATUS_LIST(X)                                              \
  X(OK, 0, 0, "ok")                                                       \
  /* a chain names a buffer out of range */                               \
  X(BAD_BUFFER_INDEX, 1, EINVAL, "bad buffer index")                      \
  /* lengths do not add up, or too big */                                 \
  X(BAD_LENGTH, 2, EINVAL, "bad length")                                  \
  /* chain loops or outruns the message */                                \
  X(CHAIN_TOO_LONG, 3, EINVAL, "buffer chain too long or looping")        \
  /* the receiver had no free buffers */                                  \
  X(NO_BUFFERS, 4, EAGAIN, "no free buffers")                             \
  /* no such flow on this channel */                                      \
  X(UNKNOWN_FLOW, 5, ENOTCONN, "unknown flow")                            \
  /* malformed control request */                                         \
  X(BAD_REQUEST, 6, EINVAL, "bad request")                                \
  /* Why a connect failed or a flow ended (FLOW_CLOSED events, SEND_ERROR \
   * for messages that were queued on it, CONNECT completions). */        \
  /* nobody listens at that address/port */                               \
  X(REFUSED, 7, ECONNREFUSED, "refused (nobody listens there)")           \
  /* the handshake got no answer */                                       \
  X(TIMED_OUT, 8, ETIMEDOUT, "timed out (no answer)")                     \
  /* the peer reset the flow */                                           \
  X(RESET, 9, ECONNRESET, "reset by the peer")                            \
  /* the peer stopped answering */                                        \
  X(PEER_DEAD, 10, ETIMEDOUT, "peer stopped answering")                   \
  /* the peer broke the protocol */                                       \
  X(PROTOCOL_ERROR, 11, ECONNRESET, "protocol error")                     \
  /* closed in order (either side) */                                     \
  X(CLOSED, 12, EPIPE, "closed")                                          \
  /* LISTEN on a port already taken */                                    \
  X(ADDRESS_IN_USE, 13, EADDRINUSE, "address in use")                     \
  /* too many flows, listeners or requests */                             \
  X(LIMIT, 14, EMFILE, "limit reached")                                   \
  /* ended by ferryd (channel going away) */                              \
  X(ABORTED, 15, ECONNRESET, "aborted by ferryd")                         \
  /* the peer (or gateway) never answered ARP */                          \
  X(UNREACHABLE, 16, EHOSTUNREACH, "unreachable (no ARP answer)")         \
  /* no NIC of ferryd has the local address asked for */                  \
  X(NO_ADDRESS, 17, EADDRNOTAVAIL, "no NIC has that local address")       \
  /* the peer's node key is not trusted here, or ours not there */        \
  X(UNTRUSTED, 18, EACCES, "untrusted (node key not in the trust list)")  \
  /* one side requires encryption and the other does not encrypt */       \
  X(ENCRYPTION_REQUIRED, 19, EPROTONOSUPPORT,                             \
    "encryption required by one side, off on the other")

enum ferry_status {
#define FERRY_STATUS_ENUM(name, value, error, text) FERRY_STATUS_##name = value,
  FERRY_STATUS_LIST(FERRY_STATUS_ENUM)
#undef FERRY_STATUS_ENUM
};

/* Descriptor kinds on the rx ring (the tx ring carries only MESSAGE). */
enum ferry_desc_type {
  FERRY_DESC_MESSAGE = 1,       /* a message; head/length name its buffers */
  FERRY_DESC_SEND_ERROR = 2,    /* a sent message failed: cookie and status */
  FERRY_DESC_FLOW_ACCEPTED = 3, /* a listener accepted `flow`; cookie: peer */
  FERRY_DESC_FLOW_CLOSED = 4,   /* `flow` ended; status says why */
};

/*
 * On the rx ring, MESSAGE and FLOW_ACCEPTED descriptors carry the flow's
 * addresses in `cookie` (host byte order), so that a receiver can answer
 * without a lookup: remote IPv4 in the top 32 bits, remote UDP port in the
 * next 16, local UDP port in the low 16.
 */
#define FERRY_PEER_COOKIE(ip, port, local_port)                  \
  (((uint64_t)(ip) << 32) | ((uint64_t)(uint16_t)(port) << 16) | \
   (uint64_t)(uint16_t)(local_port))
#define FERRY_COOKIE_REMOTE_IP(c) ((uint32_t)((c) >> 32))
#define FERRY_COOKIE_REMOTE_PORT(c) ((uint16_t)((c) >> 16))
#define FERRY_COOKIE_LOCAL_PORT(c) ((uint16_t)(c))

/*
 * One message or event: 64 bytes, one cache line. `seq` is written last,
 * with release ordering, as (ring index of this slot) + 1: a consumer sees
 * that a slot is ready from the slot itself, without reading the producer's
 * tail (one cache line less per message). A MESSAGE whose head is
 * FERRY_BUFFER_NONE is inline: its `length` (at most FERRY_INLINE_MAX)
 * bytes are the first bytes of inline_data.
 */
typedef struct ferry_desc {
  /* Cache-line aligned, so that a ring of them (or a copy) never splits
   * one across two lines. */
  FERRY_ALIGNAS(FERRY_CACHE_LINE) uint64_t flow; /* flow handle */
  uint64_t cookie; /* chosen by the sender of a tx message, echoed in errors */
  uint32_t head;   /* first buffer, or FERRY_BUFFER_NONE (inline or event) */
  uint32_t length; /* total bytes of the message */
  uint16_t type;   /* enum ferry_desc_type */
  uint16_t status; /* enum ferry_status */
  uint32_t seq;    /* slot index + 1, stored last (see above) */
  uint8_t inline_data[FERRY_INLINE_MAX];
} ferry_desc;
FERRY_STATIC_ASSERT(sizeof(ferry_desc) == FERRY_CACHE_LINE,
                    "ferry_desc is one cache line");
FERRY_STATIC_ASSERT(FERRY_ALIGNOF(ferry_desc) == FERRY_CACHE_LINE,
                    "ferry_desc is cache-line aligned");
FERRY_STATIC_ASSERT(offsetof(ferry_desc, head) == 16, "ferry_desc layout");
FERRY_STATIC_ASSERT(offsetof(ferry_desc, type) == 24, "ferry_desc layout");
FERRY_STATIC_ASSERT(offsetof(ferry_desc, seq) == 28, "ferry_desc layout");
FERRY_STATIC_ASSERT(offsetof(ferry_desc, inline_data) == 32,
                    "ferry_desc layout");

/* Control operations that do not go through gRPC: 64 bytes each. */
enum ferry_ctrl_op {
  FERRY_CTRL_NOOP = 0,     /* round trip through the engine (liveness) */
  FERRY_CTRL_LISTEN = 1,   /* accept flows to local_port on this channel */
  FERRY_CTRL_UNLISTEN = 2, /* stop accepting on local_port */
  FERRY_CTRL_CONNECT = 3,  /* open a flow to remote_ip:remote_port; the
                            * completion comes when the handshake is done
                            * (status OK, flow and local_port set) or has
                            * failed (REFUSED, TIMED_OUT, ...) */
  FERRY_CTRL_CLOSE = 4,    /* orderly close of `flow` after what is queued */
};

/* args of LISTEN, UNLISTEN, CONNECT and CLOSE, requests and completions. */
typedef struct ferry_ctrl_flow_args {
  uint64_t flow;        /* CLOSE request; CONNECT completion */
  uint32_t remote_ip;   /* CONNECT: IPv4, host byte order */
  uint16_t remote_port; /* CONNECT */
  uint16_t local_port;  /* LISTEN/UNLISTEN; CONNECT: 0 picks one */
  uint32_t local_ip;    /* LISTEN: only this address (0: every NIC);
                           CONNECT: leave from the NIC with it (0: the
                           route's); completions: the flow's address */
  uint32_t reserved[7];
} ferry_ctrl_flow_args;
FERRY_STATIC_ASSERT(sizeof(ferry_ctrl_flow_args) == 48, "flow args size");

typedef struct ferry_ctrl {
  uint64_t id; /* chosen by the app, echoed in the completion */
  uint16_t op; /* enum ferry_ctrl_op */
  uint16_t status;
  uint32_t reserved;
  uint8_t args[48];
} ferry_ctrl;
FERRY_STATIC_ASSERT(sizeof(ferry_ctrl) == 64, "ferry_ctrl is 64 bytes");

typedef struct ferry_buffer_meta {
  uint32_t next;   /* next buffer of the message, or FERRY_BUFFER_NONE */
  uint32_t length; /* bytes used in this buffer */
} ferry_buffer_meta;
FERRY_STATIC_ASSERT(sizeof(ferry_buffer_meta) == 8, "meta is 8 bytes");

/*
 * Ring indices: free-running 32-bit counters (entries = capacity, a power of
 * two; slot = index & (capacity - 1)). The consumer writes head (every
 * batch) and consumer_waiting (only around sleeps), the producer writes
 * tail: three cache lines, so that a producer checking consumer_waiting
 * after each publish reads a line that rarely changes.
 */
typedef struct ferry_ring_indices {
  FERRY_ALIGNAS(FERRY_CACHE_LINE) uint32_t head;
  FERRY_ALIGNAS(FERRY_CACHE_LINE) uint32_t tail;
  FERRY_ALIGNAS(FERRY_CACHE_LINE) uint32_t consumer_waiting; /* 1: kick it */
} ferry_ring_indices;
FERRY_STATIC_ASSERT(sizeof(ferry_ring_indices) == 3 * FERRY_CACHE_LINE,
                    "ring indices are three cache lines");
FERRY_STATIC_ASSERT(offsetof(ferry_ring_indices, tail) == FERRY_CACHE_LINE,
                    "tail on its own cache line");
FERRY_STATIC_ASSERT(offsetof(ferry_ring_indices, consumer_waiting) ==
                        2 * FERRY_CACHE_LINE,
                    "consumer_waiting on its own cache line");

/* Where one ring lives: its indices at `offset`, entries right after. */
typedef struct ferry_ring_layout {
  uint64_t offset;
  uint32_t capacity;   /* entries, a power of two */
  uint32_t entry_size; /* bytes */
} ferry_ring_layout;
FERRY_STATIC_ASSERT(sizeof(ferry_ring_layout) == 16, "ring layout size");

enum ferry_ring_id {
  FERRY_RING_CTRL_SQ = 0,
  FERRY_RING_CTRL_CQ = 1,
  FERRY_RING_TX = 2,
  FERRY_RING_RX = 3,
  FERRY_RING_APP_FREE = 4,
  FERRY_RING_ENGINE_FREE = 5,
  FERRY_RING_COUNT = 6,
};

typedef struct ferry_channel_header {
  uint64_t magic;   /* FERRY_CHANNEL_MAGIC */
  uint32_t version; /* FERRY_CHANNEL_ABI_VERSION */
  uint32_t header_size;
  uint64_t segment_size;
  uint64_t channel_id;
  uint32_t buffer_count;
  uint32_t buffer_size;
  uint64_t meta_offset; /* ferry_buffer_meta[buffer_count] */
  uint64_t data_offset; /* page aligned */
  uint32_t max_message_size;
  uint32_t blocked_offset; /* blocked-flows bitmap, FERRY_FLOW_SLOTS bits */
  ferry_ring_layout rings[FERRY_RING_COUNT];
} ferry_channel_header;
FERRY_STATIC_ASSERT(offsetof(ferry_channel_header, rings) == 64,
                    "ring table starts on the second cache line");
FERRY_STATIC_ASSERT(sizeof(ferry_channel_header) == 64 + 16 * FERRY_RING_COUNT,
                    "header size");

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FERRY_CLIENT_FERRY_CHANNEL_ABI_H_ */
