// Set-up shared by the op tests: the CPU backend, random tensors, and geometry builders.
#pragma once

#include <array>
#include <memory>
#include <random>

#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "layers/pool_geometry.h"
#include "tests/reference/naive.h"

namespace relprop::ref {

inline Backend& cpu() {
    static std::unique_ptr<Backend> backend = make_cpu_backend();
    return *backend;
}

inline Tensor random_tensor(const Shape& shape, std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
    return random_dense(shape, rng, lo, hi).to_tensor();
}

inline ConvGeometry geom(std::array<int64_t, 2> stride, std::array<int64_t, 2> pb, std::array<int64_t, 2> pe,
                         std::array<int64_t, 2> dil = {1, 1}, int64_t groups = 1) {
    ConvGeometry g;
    g.stride = stride;
    g.pad_begin = pb;
    g.pad_end = pe;
    g.dilation = dil;
    g.groups = groups;
    return g;
}

inline PoolAttributes pool(std::array<int64_t, 2> k, std::array<int64_t, 2> s, std::array<int64_t, 2> pb,
                           std::array<int64_t, 2> pe, bool ceil = false, std::array<int64_t, 2> dil = {1, 1}) {
    PoolAttributes a;
    a.kernel = k;
    a.stride = s;
    a.pad_begin = pb;
    a.pad_end = pe;
    a.dilation = dil;
    a.ceil_mode = ceil;
    return a;
}

}  // namespace relprop::ref
