#include "openmp_fork.h"

#include <omp.h>
#include <pthread.h>

#include <filesystem>
#include <system_error>

#include "relprop/error.hpp"

namespace relprop::python {

namespace {

thread_local bool t_owns_openmp_threads = false;  // this thread started OpenMP threads (libgomp keeps them)
bool g_forked_from_owner = false;                  // this process was forked from such a thread

/// The process's thread count (Linux: /proc/self/task), or -1 when it can't be read.
long thread_count() {
    std::error_code ec;
    long n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec)) ++n;
    return ec ? -1 : n;
}

}  // namespace

void install_fork_guard() {
    // The child handler runs in the child's only thread, the one that called fork(): its thread_local is that
    // thread's in the parent.
    pthread_atfork(nullptr, nullptr, [] { g_forked_from_owner = g_forked_from_owner || t_owns_openmp_threads; });
}

OpenMpCall::OpenMpCall() {
    if (g_forked_from_owner)
        throw Error("this process was forked (os.fork, or multiprocessing's 'fork' start method) from a thread that "
                    "had run relprop's OpenMP threads, and GNU OpenMP would wait for those threads forever here: use "
                    "multiprocessing.get_context('forkserver') or ('spawn'), fork before the first explanation, or "
                    "start the parent with OMP_NUM_THREADS=1");
    m_watch = !t_owns_openmp_threads && omp_get_max_threads() > 1;
    if (m_watch) m_threads_before = thread_count();
}

OpenMpCall::~OpenMpCall() {
    // New threads while this thread called the engine: its OpenMP pool (or, rarely, another thread's at the same
    // moment: a false note only refuses a forked child that might have worked). Unreadable: assume a pool.
    if (m_watch && (m_threads_before < 0 || thread_count() > m_threads_before)) t_owns_openmp_threads = true;
}

}  // namespace relprop::python
