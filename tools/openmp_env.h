// OpenMP's wait policy for relprop's programs (the command line and relprop-bench).
//
// libgomp (GCC's OpenMP runtime, which relprop's kernels and oneDNN use) lets a thread that finished its
// share of a parallel loop spin for ~300,000 iterations before it sleeps. On an idle machine that saves
// a wake-up; on a machine whose cores are busy with other work the spinning threads take time slices
// from the threads still working, and one call can take 50x longer (measured: a 196-input batch 15.8 s
// instead of 1.0 s on 2 shared cores). Passive waiting (OMP_WAIT_POLICY=PASSIVE: sleep at once) does
// not collapse under load, and costs little when idle (README, Benchmark).
//
// libgomp reads its environment once, when it is loaded — before main — so a program that wants
// another default must set the variable and start itself again.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace relprop::tools {

/// Whether the user configured the OpenMP runtime: any OMP_*, GOMP_* or KMP_* variable is set.
inline bool openmp_configured() {
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "OMP_", 4) == 0 || std::strncmp(*e, "GOMP_", 5) == 0 || std::strncmp(*e, "KMP_", 4) == 0)
            return true;
    return false;
}

/// Called first in main: unless the user configured OpenMP, sets OMP_WAIT_POLICY=PASSIVE and executes
/// this program again with the same arguments (a few milliseconds), so that the OpenMP runtime starts
/// with it. Returns (and the program runs with OpenMP's own defaults) when that is not possible.
inline void default_to_passive_openmp(char** argv) {
    if (openmp_configured()) return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OMP_WAIT_POLICY");  // exec failed: carry on as before
}

}  // namespace relprop::tools
