#include "engine/cpu/host_pool.h"

#include <algorithm>
#include <new>
#include <vector>

#include <sys/mman.h>

#include "relprop/error.hpp"

namespace relprop {

namespace {

constexpr std::align_val_t kAlignment{64};  // small tensors: a cache line, as oneDNN's own buffers
constexpr size_t kUnit = size_t{1} << 16;   // pooled sizes round up to 64 KiB
// The cache and the tensors in use together stay within this multiple of the most the tensors ever used at
// once. 1.0 already halves the page faults; the shapes an explanation needs at one moment differ from those
// at another, so at 1.0 some dozens of blocks a run were still freed and made again (mobilenet_v2, batch 8),
// at 1.5 none.
constexpr double kCacheFactor = 1.5;

float* heap_block(size_t bytes) {
    return static_cast<float*>(::operator new(bytes, kAlignment, std::nothrow));
}

void free_heap_block(float* p) noexcept { ::operator delete(p, kAlignment); }

// Pooled blocks are mapped and unmapped directly, so that a block the pool frees goes back to the system at
// once (a heap block could stay in the allocator's free lists) and the pool's bound is the process's.
float* mapped_block(size_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<float*>(p);
}

void free_mapped_block(float* p, size_t bytes) noexcept { munmap(p, bytes); }

}  // namespace

HostPool::~HostPool() {
    for (const auto& [bytes, p] : m_free) free_mapped_block(p, bytes);
}

Tensor HostPool::allocate(const Shape& shape) {
    const int64_t n = std::max<int64_t>(shape_numel(shape), 1);  // at least one element: always defined()
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    auto out_of_memory = [&] {
        return Error("out of memory: a tensor of shape " + shape_str(shape) + " needs " +
                     std::to_string(n / (int64_t{1} << 18)) + " MiB");
    };
    if (static_cast<uint64_t>(n) > SIZE_MAX / sizeof(float) - kUnit) throw out_of_memory();
    if (bytes < kMinPooledBytes) {
        float* p = heap_block(bytes);
        if (!p) throw out_of_memory();
        return Tensor::adopt(shape, p, Device::CPU, free_heap_block);
    }
    const size_t rounded = (bytes + kUnit - 1) / kUnit * kUnit;
    float* p = take(rounded);
    if (!p) throw out_of_memory();
    std::shared_ptr<HostPool> self = shared_from_this();
    return Tensor::adopt(shape, p, Device::CPU, [self, rounded](float* q) { self->give(q, rounded); });
}

Tensor HostPool::allocate_bytes(size_t bytes) {
    return allocate({static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float))});
}

float* HostPool::take(size_t bytes) {
    std::vector<std::pair<float*, size_t>> evicted;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto it = m_free.find(bytes);
        if (it != m_free.end()) {
            float* p = it->second;
            m_free.erase(it);
            m_cached -= bytes;
            m_in_use += bytes;
            return p;
        }
        // A miss: free cached blocks, largest first, until the cache and the tensors in use together stay
        // within kCacheFactor times the most the tensors ever used at once (this request included).
        m_high_water = std::max(m_high_water, m_in_use + bytes);
        while (!m_free.empty() && static_cast<double>(m_in_use + bytes + m_cached) > kCacheFactor * m_high_water) {
            auto last = std::prev(m_free.end());
            m_cached -= last->first;
            evicted.emplace_back(last->second, last->first);
            m_free.erase(last);
        }
        m_in_use += bytes;
    }
    for (const auto& [q, size] : evicted) free_mapped_block(q, size);
    float* p = mapped_block(bytes);
    if (!p) {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_in_use -= bytes;
    }
    return p;
}

void HostPool::give(float* p, size_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_in_use -= bytes;
    try {
        m_free.emplace(bytes, p);
        m_cached += bytes;
    } catch (...) {  // no memory for the map's node: give the block back to the system
        free_mapped_block(p, bytes);
    }
}

size_t HostPool::cached_bytes() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_cached;
}

size_t HostPool::in_use_bytes() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_in_use;
}

}  // namespace relprop
