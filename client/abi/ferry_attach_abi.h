/*
 * How an application obtains a channel: it reserves one in its session over
 * gRPC (SessionService.CreateChannel, which returns a ticket and the channel
 * socket's path), connects to ferryd's channel socket (a Unix stream
 * socket), sends one ferry_attach_request with the ticket, and reads
 * one ferry_attach_reply carrying three file descriptors (SCM_RIGHTS):
 *   [0] the channel segment (a sealed memfd: map it MAP_SHARED, whole),
 *   [1] the engine's eventfd (write 1 to wake a sleeping engine),
 *   [2] the application's eventfd (readable when the engine kicked it).
 * The application keeps the connection open for the channel's lifetime:
 * ferryd takes its closing (exit, crash, SIGKILL) as the end of the channel
 * and reclaims everything.
 */
#ifndef FERRY_CLIENT_FERRY_ATTACH_ABI_H_
#define FERRY_CLIENT_FERRY_ATTACH_ABI_H_

#include <stdint.h>

#include "client/abi/ferry_channel_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FERRY_ATTACH_MAGIC 0x54544146u /* "FATT" */
#define FERRY_ATTACH_FD_COUNT 3
#define FERRY_DEFAULT_CHANNEL_SOCKET "/run/ferry/channels.sock"
/* ferryd's gRPC API, where applications open their sessions. */
#define FERRY_DEFAULT_SOCKET "/run/ferry/ferryd.sock"

typedef struct ferry_attach_request {
  uint32_t magic;   /* FERRY_ATTACH_MAGIC */
  uint32_t version; /* FERRY_CHANNEL_ABI_VERSION */
  /* 0 for ferryd's default; otherwise powers of two (see channel_layout). */
  uint32_t buffer_count;
  uint32_t buffer_size;
  uint32_t ring_capacity;
  uint32_t reserved;
  /* From SessionService.CreateChannel (proto/ferry/v1/ferry.proto): ferryd
   * attaches a channel only for a valid, unused ticket, and the channel then
   * belongs to the ticket's session. All zero: no ticket (a test listener). */
  uint8_t ticket[16];
} ferry_attach_request;
FERRY_STATIC_ASSERT(sizeof(ferry_attach_request) == 40, "request size");

typedef struct ferry_attach_reply {
  uint32_t magic; /* FERRY_ATTACH_MAGIC */
  int32_t error;  /* 0, or a positive errno value explained in message */
  uint64_t channel_id;
  uint64_t segment_size;
  char message[104]; /* NUL-terminated reason when error != 0 */
} ferry_attach_reply;
FERRY_STATIC_ASSERT(sizeof(ferry_attach_reply) == 128, "reply size");

#ifdef __cplusplus
}
#endif

#endif /* FERRY_CLIENT_FERRY_ATTACH_ABI_H_ */
