// Device memory of one CUDA backend (CUDA-only header):
// - DevicePool: cudaMalloc'd blocks reused by (rounded) size. cudaFree synchronizes the whole device,
//   so freeing every intermediate tensor would serialize host and GPU; the pool keeps freed blocks
//   and hands them out again. All of a backend's work runs on its one stream, so a block freed on the
//   host while queued kernels still read it can be reused at once: later work on the stream runs
//   after those kernels. (A tensor must therefore be used only on the backend that made it.)
// - Workspace: the one cuDNN scratch buffer, grown when an algorithm needs more.
// - ResidentParams: device copies of host parameter tensors (an op's weights live on the host in the
//   graph), uploaded once per tensor and kept while the host tensor lives.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <mutex>

#include "engine/derived_cache.h"
#include "relprop/tensor.hpp"

namespace relprop::cuda_detail {

class DevicePool : public std::enable_shared_from_this<DevicePool> {
public:
    explicit DevicePool(int device) : m_device(device) {}
    ~DevicePool();
    DevicePool(const DevicePool&) = delete;
    DevicePool& operator=(const DevicePool&) = delete;

    // An uninitialized device tensor; its memory returns to this pool when the last copy is gone.
    Tensor allocate(const Shape& shape);
    // Frees every cached (unused) block, after waiting for the device (queued work may still read
    // blocks that were handed back while it was queued).
    void trim();
    // Bytes held in cached blocks and in blocks in use.
    size_t cached_bytes() const;
    size_t in_use_bytes() const;

private:
    void* take(size_t bytes);
    void give(void* p, size_t bytes) noexcept;

    int m_device;
    mutable std::mutex m_mutex;
    std::multimap<size_t, void*> m_free;
    size_t m_cached = 0, m_in_use = 0;
};

class Workspace {
public:
    // Out of device memory, growing gives `pool`'s cached blocks back to the driver and tries again.
    Workspace(int device, DevicePool& pool) : m_device(device), m_pool(pool) {}
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    // At least `bytes` of scratch memory (null for 0). Growing waits for `stream` before freeing the
    // old buffer, which queued work may still use.
    void* get(size_t bytes, cudaStream_t stream);
    size_t size() const { return m_bytes; }

private:
    int m_device;
    DevicePool& m_pool;
    void* m_data = nullptr;
    size_t m_bytes = 0;
};

class ResidentParams {
public:
    // `t` itself if it is a CUDA tensor; else its device copy (made by `upload` the first time and
    // kept while the host tensor's storage lives; wrapped host memory is uploaded every time).
    template <class Upload>
    Tensor get(const Tensor& t, Upload upload) {
        if (t.device() == Device::CUDA) return t;
        return m_copies.get(
            t, [&](const Tensor& copy) { return copy.shape() == t.shape(); }, [&] { return upload(t); });
    }
    void clear() { m_copies.clear(); }

private:
    DerivedCache<Tensor> m_copies;
};

}  // namespace relprop::cuda_detail
