#pragma once
// Invariant checks (STYLE rule 19). Input from the network, disk or a hypervisor gets an
// error value, never one of these.

#include <cstdio>
#include <cstdlib>

/// Always on: the process cannot continue safely (a broken invariant of our own).
#define VSNAPD_CHECK(cond)                                                          \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "fatal: check failed: %s at %s:%d\n", #cond, __FILE__,   \
                   __LINE__);                                                       \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

#ifdef NDEBUG
#define VSNAPD_ASSERT(cond) ((void)0)
#else
#define VSNAPD_ASSERT(cond) VSNAPD_CHECK(cond)
#endif
