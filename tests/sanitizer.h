// RELPROP_UNDER_ASAN: defined when the tests are built with AddressSanitizer (g++ or clang), which
// reserves terabytes of address space (no RLIMIT_AS / ulimit -v tests) and aborts on a failed allocation.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define RELPROP_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RELPROP_UNDER_ASAN 1
#endif
#endif
