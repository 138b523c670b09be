// HostPool: the CPU backend's memory for large tensors, reused instead of returned to the system.
// glibc serves a block of more than a few MiB with its own mmap and unmaps it when it is freed, so the next
// tensor of that size faults its pages in again, each one zeroed by the kernel. An explanation frees and
// makes hundreds of such tensors (mobilenet_v2 at batch 8: a third of its CPU time went to page faults,
// zeroing and unmapping). The pool keeps freed blocks by size and hands them out again. The cache and the
// tensors in use together stay within kCacheFactor (host_pool.cpp) times the most memory its tensors were ever
// using at once: a miss that would exceed that frees cached blocks first.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

#include "relprop/tensor.hpp"

namespace relprop {

class HostPool : public std::enable_shared_from_this<HostPool> {
public:
    HostPool() = default;
    ~HostPool();
    HostPool(const HostPool&) = delete;
    HostPool& operator=(const HostPool&) = delete;

    /// An uninitialized CPU tensor; its memory returns to this pool when the last copy is gone
    /// (tensors below kMinPooledBytes use the ordinary heap).
    Tensor allocate(const Shape& shape);
    /// `bytes` of uninitialized memory as a tensor of that many bytes' floats (oneDNN's reorder buffers).
    Tensor allocate_bytes(size_t bytes);

    size_t cached_bytes() const;
    size_t in_use_bytes() const;

    static constexpr size_t kMinPooledBytes = size_t{1} << 18;  // 256 KiB

private:
    float* take(size_t bytes);
    void give(float* p, size_t bytes) noexcept;

    mutable std::mutex m_mutex;
    std::multimap<size_t, float*> m_free;
    size_t m_cached = 0, m_in_use = 0, m_high_water = 0;
};

}  // namespace relprop
