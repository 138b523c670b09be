// Strided index maps (engine/elementwise.h's StridedMap) made on the host: row-major strides, a gather map,
// a broadcast operand's map, the two maps of a reduction, and the bounds check the backends run before a
// gather or scatter. Shared by the CPU and CUDA backends and by the data-movement ops.
#pragma once

#include <string>
#include <vector>

#include "engine/elementwise.h"
#include "relprop/error.hpp"
#include "relprop/tensor.hpp"

namespace relprop {

inline std::vector<int64_t> row_major_strides(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (int d = static_cast<int>(s.size()) - 2; d >= 0; --d) st[d] = st[d + 1] * s[d + 1];
    return st;
}

inline StridedMap strided_map(const Shape& dims, const std::vector<int64_t>& strides, int64_t offset = 0) {
    if (dims.size() > static_cast<size_t>(kMaxRank) || strides.size() != dims.size())
        throw Error("strided map: rank " + std::to_string(dims.size()) + " (at most " + std::to_string(kMaxRank) + ")");
    StridedMap m;
    m.rank = static_cast<int>(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
        m.dims[d] = dims[d];
        m.strides[d] = strides[d];
    }
    m.offset = offset;
    return m;
}


// The map of a broadcast operand of shape `s` (same rank as `out`; axes of size 1 repeat).
inline StridedMap broadcast_map(const Shape& s, const Shape& out, const char* kernel) {
    if (s.size() != out.size() || s.size() > static_cast<size_t>(kMaxRank))
        throw Error(std::string(kernel) + ": operand " + shape_str(s) + " and output " + shape_str(out) + " differ in rank");
    StridedMap m;
    m.rank = static_cast<int>(s.size());
    int64_t stride = 1;
    for (int d = m.rank - 1; d >= 0; --d) {
        if (s[d] != out[d] && s[d] != 1)
            throw Error(std::string(kernel) + ": operand " + shape_str(s) + " does not broadcast to " + shape_str(out));
        m.dims[d] = out[d];
        m.strides[d] = s[d] == 1 ? 0 : stride;
        stride *= s[d];
    }
    return m;
}

// Where two operand maps of one output (broadcast_map) are plain over the output's last elements: the
// longest run of trailing output elements over which each operand advances by a fixed step, 1 (contiguous)
// or 0 (one value repeated); runs start at multiples of `length`. A kernel then computes the operands'
// offsets once per run instead of once per element.
struct InnerRun {
    int64_t length = 1;
    int64_t step[2] = {1, 1};
};

inline InnerRun inner_run(const StridedMap& a, const StridedMap& b) {
    InnerRun run;
    const StridedMap* maps[2] = {&a, &b};
    int mode[2] = {-1, -1};  // -1: not known yet (only axes of size 1 so far); else the step
    for (int d = a.rank - 1; d >= 0; --d) {
        if (a.dims[d] == 1) continue;
        bool fits = true;
        for (int k = 0; k < 2; ++k) {
            const int64_t s = maps[k]->strides[d];
            const int m = s == 0 ? 0 : (s == run.length ? 1 : 2);
            if (m == 2 || (mode[k] >= 0 && mode[k] != m)) fits = false;
            else mode[k] = m;
        }
        if (!fits) break;
        run.length *= a.dims[d];
    }
    for (int k = 0; k < 2; ++k) run.step[k] = mode[k] == 0 ? 0 : 1;
    return run;
}

// Whether `map` reads `count` consecutive elements from its offset (at(i) == offset + i for all i).
inline bool contiguous(const StridedMap& map) {
    int64_t expected = 1;
    for (int d = map.rank - 1; d >= 0; --d) {
        if (map.dims[d] == 1) continue;
        if (map.strides[d] != expected) return false;
        expected *= map.dims[d];
    }
    return true;
}

// `map` addresses only elements of `strided` for every element of `dense` (checked at the corners).
inline void check_map(const Tensor& strided, const StridedMap& map, const Tensor& dense, const char* kernel) {
    int64_t n = 1, lo = map.offset, hi = map.offset;
    for (int d = 0; d < map.rank; ++d) {
        n *= map.dims[d];
        const int64_t span = (map.dims[d] - 1) * map.strides[d];
        (span < 0 ? lo : hi) += span;
    }
    if (n != dense.numel() || (n > 0 && (lo < 0 || hi >= strided.numel())))
        throw Error(std::string(kernel) + ": the index map does not fit the tensors " + shape_str(strided.shape()) +
                    " and " + shape_str(dense.shape()));
}

// For a reduction of x (shape xs) to out (shape os: same rank, reduced axes 1): `base` maps an out index to
// its first x offset, `sub` a reduced index to the offset from there; returns the reduced count.
inline int64_t reduce_maps(const Shape& xs, const Shape& os, StridedMap& base, StridedMap& sub) {
    if (xs.size() != os.size() || xs.size() > static_cast<size_t>(kMaxRank))
        throw Error("reduce_sum: shapes " + shape_str(xs) + " and " + shape_str(os) + " differ in rank");
    base = StridedMap{};
    sub = StridedMap{};
    base.rank = sub.rank = static_cast<int>(xs.size());
    int64_t stride = 1, count = 1;
    for (int d = static_cast<int>(xs.size()) - 1; d >= 0; --d) {
        if (os[d] != xs[d] && os[d] != 1)
            throw Error("reduce_sum: " + shape_str(os) + " is not " + shape_str(xs) + " with some axes reduced to 1");
        const bool reduced = os[d] == 1 && xs[d] != 1;
        base.dims[d] = os[d];
        base.strides[d] = reduced ? 0 : stride;
        sub.dims[d] = reduced ? xs[d] : 1;
        sub.strides[d] = reduced ? stride : 0;
        count *= sub.dims[d];
        stride *= xs[d];
    }
    return count;
}

}  // namespace relprop
