// FERRY_DCHECK: an invariant of Ferry's own code, checked in debug builds
// (tests run them) and compiled out with NDEBUG. Never for what the network,
// an application or the environment controls: that is counted and refused.
#ifndef FERRY_DATAPLANE_BASE_CHECK_H_
#define FERRY_DATAPLANE_BASE_CHECK_H_

#include <cstdio>
#include <cstdlib>

#ifdef NDEBUG
#define FERRY_DCHECK(condition) \
  do {                          \
    (void)sizeof(condition);    \
  } while (0)
#else
#define FERRY_DCHECK(condition)                                             \
  do {                                                                      \
    if (!(condition)) {                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                             \
      std::abort();                                                         \
    }                                                                       \
  } while (0)
#endif

#endif  // FERRY_DATAPLANE_BASE_CHECK_H_
