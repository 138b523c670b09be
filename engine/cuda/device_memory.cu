#include "engine/cuda/device_memory.h"

#include <algorithm>

#include "engine/cuda/cuda_check.h"
#include "relprop/error.hpp"

namespace relprop::cuda_detail {

namespace {

// Small blocks round up to 512 bytes, large ones to 2 MiB, so that shapes that differ a little
// share blocks and the number of distinct sizes stays small.
size_t rounded(size_t bytes) {
    constexpr size_t kSmall = 512, kLarge = size_t{2} << 20;
    const size_t unit = bytes < kLarge ? kSmall : kLarge;
    return (std::max<size_t>(bytes, 1) + unit - 1) / unit * unit;
}

// Makes `device` current for the scope (deleters and destructors may run on any thread).
class DeviceScope {
public:
    explicit DeviceScope(int device) {
        if (cudaGetDevice(&m_previous) != cudaSuccess) m_previous = -1;
        if (m_previous != device) cudaSetDevice(device);
    }
    ~DeviceScope() {
        if (m_previous >= 0) cudaSetDevice(m_previous);
    }

private:
    int m_previous = -1;
};

}  // namespace

DevicePool::~DevicePool() { trim(); }

Tensor DevicePool::allocate(const Shape& shape) {
    const int64_t numel = shape_numel(shape);
    // At least one element, so that even an empty tensor is defined().
    const size_t bytes = rounded(static_cast<size_t>(std::max<int64_t>(numel, 1)) * sizeof(float));
    float* data = static_cast<float*>(take(bytes));
    std::shared_ptr<DevicePool> self = shared_from_this();
    return Tensor::adopt(shape, data, Device::CUDA, [self, bytes](float* p) { self->give(p, bytes); });
}

void* DevicePool::take(size_t bytes) {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto it = m_free.find(bytes);
        if (it != m_free.end()) {
            void* p = it->second;
            m_free.erase(it);
            m_cached -= bytes;
            m_in_use += bytes;
            return p;
        }
    }
    DeviceScope scope(m_device);
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();  // not sticky; clear it and retry with the cached blocks given back
        trim();
        status = cudaMalloc(&p, bytes);
    }
    if (status != cudaSuccess) {
        cudaGetLastError();
        throw Error("cudaMalloc of " + std::to_string(bytes) + " bytes failed (" + cuda_detail::describe(status) +
                    "); " + std::to_string(in_use_bytes() >> 20) + " MiB in use by relprop tensors");
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    m_in_use += bytes;
    return p;
}

void DevicePool::give(void* p, size_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_free.emplace(bytes, p);
    m_cached += bytes;
    m_in_use -= bytes;
}

void DevicePool::trim() {
    std::multimap<size_t, void*> blocks;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        blocks.swap(m_free);
        m_cached = 0;
    }
    if (blocks.empty()) return;
    DeviceScope scope(m_device);
    // Blocks go back to the pool when their tensor dies, possibly while kernels queued on the backend's
    // stream still read them; wait for the device explicitly rather than rely on cudaFree doing so.
    cudaDeviceSynchronize();
    for (const auto& [bytes, p] : blocks) cudaFree(p);
}

size_t DevicePool::cached_bytes() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_cached;
}

size_t DevicePool::in_use_bytes() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_in_use;
}

Workspace::~Workspace() {
    if (!m_data) return;
    DeviceScope scope(m_device);
    cudaFree(m_data);
}

void* Workspace::get(size_t bytes, cudaStream_t stream) {
    if (bytes == 0) return m_data;
    if (bytes <= m_bytes) return m_data;
    const size_t grown = rounded(std::max(bytes, m_bytes + m_bytes / 2));
    if (m_data) {
        RELPROP_CUDA_CHECK(cudaStreamSynchronize(stream));
        RELPROP_CUDA_CHECK(cudaFree(m_data));
        m_data = nullptr;
        m_bytes = 0;
    }
    // Out of memory: give the pool's cached blocks back to the driver, then try the exact size (the
    // 1.5x growth is only a guess at later needs).
    size_t size = grown;
    cudaError_t status = cudaMalloc(&m_data, size);
    if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        m_pool.trim();
        status = cudaMalloc(&m_data, size);
        if (status == cudaErrorMemoryAllocation && rounded(bytes) < size) {
            cudaGetLastError();
            size = rounded(bytes);
            status = cudaMalloc(&m_data, size);
        }
    }
    if (status != cudaSuccess) {
        cudaGetLastError();
        m_data = nullptr;
        throw Error("cudaMalloc of a " + std::to_string(size >> 20) + " MiB cuDNN workspace failed (" +
                    describe(status) + "); " + std::to_string(m_pool.in_use_bytes() >> 20) +
                    " MiB in use by relprop tensors");
    }
    m_bytes = size;
    return m_data;
}

}  // namespace relprop::cuda_detail
