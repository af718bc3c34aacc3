/*
 * The names of Machnet's machnet_common.h that applications can see through
 * machnet.h: the flow and listener types, MACHNET_MSG_MAX_LEN, the size and
 * branch-hint macros, and the standard headers that Machnet's header chain
 * (machnet_common.h and jring.h) includes, so that a program that compiled
 * against Machnet's headers compiles against these.
 *
 * Machnet's channel layout (MachnetChannelCtx, MachnetMsgBuf, its rings and
 * the inline helpers that walk them) is Machnet's shared-memory format, not
 * Ferry's: those structures are declared here by tag only (pointers to them
 * compile; their fields do not exist).
 */
#ifndef FERRY_CLIENT_COMPAT_MACHNET_COMMON_H_
#define FERRY_CLIENT_COMPAT_MACHNET_COMMON_H_

#ifdef __cplusplus
extern "C" {
#endif

/* What Machnet's machnet_common.h and jring.h include. */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifndef KB
#define KB (1 << 10)
#endif
#ifndef MB
#define MB (KB * KB)
#endif
#ifndef CACHE_LINE_SIZE
#define CACHE_LINE_SIZE 64
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE (4 * KB)
#endif
#define HUGE_PAGE_2M_SIZE (2 * MB)
#define MACHNET_MSG_MAX_LEN (8 * MB)
#define CACHED_BUF_SIZE (1 << 6)

#ifndef likely
#define likely(x) __builtin_expect((x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect((x), 0)
#endif

#define __DECONST(type, var) ((type)(uintptr_t)(const void *)(var))
#define ALIGN_TO_BOUNDARY(x, _pagesz) (((x) + _pagesz - 1) & ~(_pagesz - 1))

#ifndef MIN
#define MIN(a, b)           \
  ({                        \
    __typeof__(a) _a = (a); \
    __typeof__(b) _b = (b); \
    _a < _b ? _a : _b;      \
  })
#endif

typedef unsigned char uchar_t;
typedef uint32_t MachnetRingSlot_t;

/* A flow, as the 4-tuple of its addresses in host byte order (the protocol
 * is always Ferry's transport over UDP). Sending, src is the local end and
 * dst the remote one; receiving, src is the sender and dst the local end. */
struct MachnetFlow {
  uint32_t src_ip;
  uint32_t dst_ip;
  uint16_t src_port;
  uint16_t dst_port;
};
typedef struct MachnetFlow MachnetFlow_t;

struct MachnetListenerInfo {
  uint32_t ip;
  uint16_t port;
  uint16_t reserved;
};
typedef struct MachnetListenerInfo MachnetListenerInfo_t;

/* Machnet's channel memory and message buffers: opaque here. */
struct MachnetChannelCtx;
typedef struct MachnetChannelCtx MachnetChannelCtx_t;
struct MachnetMsgBuf;
typedef struct MachnetMsgBuf MachnetMsgBuf_t;

/* Machnet's message flags (MachnetMsgHdr_t.flags). Machnet forwards only
 * NOTIFY_DELIVERY and never acts on it; Ferry accepts and ignores every
 * flag (delivery is always reliable). */
#define MACHNET_MSGBUF_FLAGS_SYN (1 << 0)
#define MACHNET_MSGBUF_FLAGS_SG (1 << 1)
#define MACHNET_MSGBUF_FLAGS_FIN (1 << 2)
#define MACHNET_MSGBUF_FLAGS_CHAIN (1 << 3)
#define MACHNET_MSGBUF_NOTIFY_DELIVERY (1 << 7)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FERRY_CLIENT_COMPAT_MACHNET_COMMON_H_ */
