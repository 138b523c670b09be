// A process forked from a thread that ran OpenMP threads (multiprocessing's default "fork" start method on Linux,
// after an explanation in the parent) would hang: GNU OpenMP (libgomp) keeps a pool of threads per thread that
// started a parallel region, and the child inherits the pool's state without its threads, so its first parallel
// region waits for them forever. The binding notes which threads own such a pool and, in a child forked from one,
// refuses to call the engine with an Error that names the ways out.
#pragma once

namespace relprop::python {

/// Registers the fork handler; called once when the module is imported.
void install_fork_guard();

/// Around one call into the engine (loading a model, preparing an Attributor, explaining), on the thread that
/// makes it: throws relprop::Error in a child forked from a thread owning OpenMP threads, and notes, when it ends,
/// whether this thread started OpenMP threads meanwhile.
class OpenMpCall {
public:
    OpenMpCall();
    ~OpenMpCall();
    OpenMpCall(const OpenMpCall&) = delete;
    OpenMpCall& operator=(const OpenMpCall&) = delete;

private:
    bool m_watch = false;        ///< whether this call may start this thread's OpenMP threads
    long m_threads_before = -1;  ///< the process's thread count when the call began; -1: unreadable
};

}  // namespace relprop::python
