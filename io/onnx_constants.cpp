#include "io/onnx_constants.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "relprop/error.hpp"

namespace relprop {

namespace {

using onnx::TensorProto;

std::string tensor_label(const TensorProto& p) {
    return "tensor '" + p.name() + "'";
}

float half_to_float(uint16_t h) {
    const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalize
            int e = -1;
            uint32_t m = mant;
            do {
                ++e;
                m <<= 1;
            } while ((m & 0x400u) == 0);
            bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}


std::vector<int64_t> strides_of(const Shape& shape) {
    std::vector<int64_t> s(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
    return s;
}

// Limits of the fold in progress (set by fold_constant_node).
thread_local int64_t t_fold_limit = int64_t{1} << 24;

Constant make_like(const Constant& like, Shape shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0 || (d > 0 && n > t_fold_limit / d))
            throw Error("a constant of shape " + shape_str(shape) + " would exceed the limit of " +
                        std::to_string(t_fold_limit) + " elements for constants computed at import time" +
                        limit_hint("max_folded_elements"));
        n *= d;
    }
    Constant c;
    c.integer = like.integer;
    c.shape = std::move(shape);
    if (c.integer)
        c.i.assign(n, 0);
    else
        c.f = Tensor(c.shape);
    return c;
}

void copy_element(const Constant& src, int64_t j, Constant& dst, int64_t k) {
    if (src.integer)
        dst.i[k] = src.i[j];
    else
        dst.f[k] = src.f[j];
}

Constant ints_constant(std::vector<int64_t> values, Shape shape) {
    Constant c;
    c.integer = true;
    c.shape = std::move(shape);
    c.i = std::move(values);
    return c;
}

const Constant& input(const onnx::NodeProto& node, const std::vector<const Constant*>& in, size_t k) {
    if (k >= in.size() || !in[k])
        throw Error("input " + std::to_string(k) + " of " + node.op_type() + " is missing");
    return *in[k];
}

bool has_input(const std::vector<const Constant*>& in, size_t k) { return k < in.size() && in[k]; }

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
    for (const auto& a : node.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
    const auto* a = attribute(node, name);
    return a ? a->i() : fallback;
}

std::vector<int64_t> ints_attribute(const onnx::NodeProto& node, const std::string& name) {
    const auto* a = attribute(node, name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}

int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& op) {
    if (axis < -rank || axis >= rank)
        throw Error(op + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

void refuse_batch(const Constant& c, const std::string& op) {
    if (c.integer && std::find(c.i.begin(), c.i.end(), kBatchDim) != c.i.end())
        throw Error(op + " on a value that depends on the (symbolic) batch size cannot be folded");
}

// Element-wise arithmetic with numpy broadcasting.
Constant arithmetic(const std::string& op, const Constant& a, const Constant& b) {
    refuse_batch(a, op);
    refuse_batch(b, op);
    const size_t rank = std::max(a.shape.size(), b.shape.size());
    Shape out(rank);
    auto dim = [&](const Shape& s, size_t d) { return d + s.size() < rank ? 1 : s[d + s.size() - rank]; };
    for (size_t d = 0; d < rank; ++d) {
        const int64_t x = dim(a.shape, d), y = dim(b.shape, d);
        if (x != y && x != 1 && y != 1)
            throw Error(op + ": shapes " + shape_str(a.shape) + " and " + shape_str(b.shape) + " do not broadcast");
        out[d] = x == 1 ? y : x;
    }
    Constant r = make_like(a.integer && b.integer ? a : (a.integer ? b : a), out);
    const auto sa = strides_of(a.shape), sb = strides_of(b.shape), so = strides_of(out);
    const int64_t n = shape_numel(out);
    for (int64_t k = 0; k < n; ++k) {
        int64_t ia = 0, ib = 0;
        for (size_t d = 0; d < rank; ++d) {
            const int64_t idx = (k / so[d]) % out[d];
            if (d + a.shape.size() >= rank && a.shape[d + a.shape.size() - rank] != 1)
                ia += idx * sa[d + a.shape.size() - rank];
            if (d + b.shape.size() >= rank && b.shape[d + b.shape.size() - rank] != 1)
                ib += idx * sb[d + b.shape.size() - rank];
        }
        if (r.integer) {
            const int64_t x = a.i[ia], y = b.i[ib];
            if (op == "Div" && (y == 0 || (x == INT64_MIN && y == -1)))
                throw Error("Div: integer division by zero (or overflow) in a constant");
            int64_t v = 0;
            const bool overflow = op == "Add"   ? __builtin_add_overflow(x, y, &v)
                                  : op == "Sub" ? __builtin_sub_overflow(x, y, &v)
                                  : op == "Mul" ? __builtin_mul_overflow(x, y, &v)
                                                : (v = x / y, false);
            if (overflow) throw Error(op + ": integer overflow in a constant");
            r.i[k] = v;
        } else {
            const double x = a.integer ? static_cast<double>(a.i[ia]) : a.f[ia];
            const double y = b.integer ? static_cast<double>(b.i[ib]) : b.f[ib];
            r.f[k] = static_cast<float>(op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y);
        }
    }
    return r;
}

Constant transpose(const Constant& x, std::vector<int64_t> perm) {
    const size_t rank = x.shape.size();
    if (perm.empty())
        for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<int64_t>(d));
    if (perm.size() != rank) throw Error("Transpose: perm does not match the rank");
    std::vector<bool> taken(rank, false);
    for (int64_t& p : perm) {
        p = normalize_axis(p, static_cast<int64_t>(rank), "Transpose");
        if (taken[p]) throw Error("Transpose perm " + shape_str(perm) + " is not a permutation");  // reads past the end
        taken[p] = true;
    }
    Shape out(rank);
    for (size_t d = 0; d < rank; ++d) out[d] = x.shape[perm[d]];
    Constant r = make_like(x, out);
    const auto sx = strides_of(x.shape), so = strides_of(out);
    for (int64_t k = 0; k < r.numel(); ++k) {
        int64_t j = 0;
        for (size_t d = 0; d < rank; ++d) j += ((k / so[d]) % out[d]) * sx[perm[d]];
        copy_element(x, j, r, k);
    }
    return r;
}

Constant slice(const Constant& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
               std::vector<int64_t> axes, std::vector<int64_t> steps) {
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    if (axes.empty())
        for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        throw Error("Slice: starts, ends, axes and steps differ in length");
    std::vector<int64_t> begin(rank, 0), step(rank, 1);
    Shape out = x.shape;
    for (size_t k = 0; k < starts.size(); ++k) {
        const int64_t a = normalize_axis(axes[k], rank, "Slice"), dim = x.shape[a];
        if (steps[k] == 0) throw Error("Slice: a step is 0");
        // Steps beyond ±(dim+1) select the same elements; clamping them keeps the arithmetic in range.
        const int64_t s = std::clamp<int64_t>(steps[k], -(dim + 1), dim + 1);
        // ONNX: negative indices count from the end; for s > 0 starts and ends clamp to [0, dim], for
        // s < 0 starts clamp to [0, dim-1] and ends to [-1, dim-1].
        auto wrap = [&](int64_t v) { return v < 0 ? v + dim : v; };
        const int64_t b = s > 0 ? std::clamp<int64_t>(wrap(starts[k]), 0, dim)
                                : std::clamp<int64_t>(wrap(starts[k]), 0, dim - 1);
        const int64_t e = s > 0 ? std::clamp<int64_t>(wrap(ends[k]), 0, dim)
                                : std::clamp<int64_t>(wrap(ends[k]), -1, dim - 1);
        const int64_t count = s > 0 ? (e > b ? (e - b - 1) / s + 1 : 0) : (b > e ? (b - e - 1) / -s + 1 : 0);
        begin[a] = b;
        step[a] = s;
        out[a] = count;
    }
    Constant r = make_like(x, out);
    const auto sx = strides_of(x.shape), so = strides_of(out);
    for (int64_t k = 0; k < r.numel(); ++k) {
        int64_t j = 0;
        for (int64_t d = 0; d < rank; ++d) j += (begin[d] + ((k / so[d]) % out[d]) * step[d]) * sx[d];
        copy_element(x, j, r, k);
    }
    return r;
}

}  // namespace

std::vector<int64_t> Constant::ints(const std::string& what) const {
    if (integer) return i;
    std::vector<int64_t> out;
    for (int64_t k = 0; k < f.numel(); ++k) {
        if (f[k] != std::floor(f[k]) || !std::isfinite(f[k]))
            throw Error(what + " must hold whole numbers, found " + std::to_string(f[k]));
        out.push_back(static_cast<int64_t>(f[k]));
    }
    return out;
}

Tensor Constant::floats() const {
    if (!integer) return f;
    Tensor t(shape.empty() ? Shape{} : shape);
    for (size_t k = 0; k < i.size(); ++k) {
        if (i[k] == kBatchDim) throw Error("a value derived from the symbolic batch size is used as data");
        t[static_cast<int64_t>(k)] = static_cast<float>(i[k]);
    }
    return t;
}

int64_t raw_element_bytes(int data_type) {
    switch (data_type) {
        case TensorProto::FLOAT:
        case TensorProto::INT32: return 4;
        case TensorProto::DOUBLE:
        case TensorProto::INT64: return 8;
        case TensorProto::FLOAT16:
        case TensorProto::INT16:
        case TensorProto::UINT16: return 2;
        case TensorProto::INT8:
        case TensorProto::UINT8:
        case TensorProto::BOOL: return 1;
        default: return 0;
    }
}

Constant constant_from_proto(const TensorProto& p, const ConstantLimits& limits, std::vector<std::string>& notes) {
    const std::string label = tensor_label(p);
    if (p.data_location() == TensorProto::EXTERNAL)  // the importer reads it first (io/onnx_external_data.h)
        throw Error(label + " keeps its data in an external file, which is not read here");
    Constant c;
    c.shape.assign(p.dims().begin(), p.dims().end());
    const int64_t n = checked_numel(c.shape, limits, label);
    const bool raw = p.has_raw_data();
    const std::string& bytes = p.raw_data();
    // The data's size is checked against the declared shape before anything of that shape is allocated:
    // a small file declaring a huge tensor is refused as truncated, never allocated.
    const int t = p.data_type();
    const size_t size = static_cast<size_t>(raw_element_bytes(t));  // bytes per element in raw_data
    if (size == 0)
        throw Error(label + " has data type " + std::to_string(t) + " (" +
                    TensorProto::DataType_Name(static_cast<TensorProto::DataType>(t)) +
                    "); relprop reads float32/float16/float64 and integer tensors");
    int64_t have = 0;
    const char* field = "raw_data";
    switch (t) {
        case TensorProto::FLOAT: have = p.float_data_size(); field = "float_data"; break;
        case TensorProto::DOUBLE: have = p.double_data_size(); field = "double_data"; break;
        case TensorProto::INT64: have = p.int64_data_size(); field = "int64_data"; break;
        default: have = p.int32_data_size(); field = "int32_data"; break;  // 8-, 16- and 32-bit types
    }
    if (raw) {
        have = static_cast<int64_t>(bytes.size() / size);
        field = "raw_data";
    }
    if (have != n)
        throw Error(label + " of shape " + shape_str(c.shape) + " needs " + std::to_string(n) + " values, its " +
                    field + " has " + std::to_string(have) + " (truncated or corrupt file?)");
    if (raw && bytes.size() % size) throw Error(label + ": raw_data size is not a multiple of the element size");
    auto raw_values = [&](auto convert) {
        for (int64_t k = 0; k < n; ++k) convert(k, bytes.data() + k * size);
    };
    switch (p.data_type()) {
        case TensorProto::FLOAT:
            c.f = Tensor(c.shape);
            if (raw) {
                raw_values([&](int64_t k, const char* b) { std::memcpy(&c.f[k], b, 4); });
            } else {
                std::copy(p.float_data().begin(), p.float_data().end(), c.f.data());
            }
            break;
        case TensorProto::DOUBLE:
        case TensorProto::FLOAT16: {
            const bool half = p.data_type() == TensorProto::FLOAT16;
            notes.push_back(label + " converted from " + (half ? "float16" : "float64") + " to float32");
            c.f = Tensor(c.shape);
            if (raw && half) {
                raw_values([&](int64_t k, const char* b) {
                    uint16_t h;
                    std::memcpy(&h, b, 2);
                    c.f[k] = half_to_float(h);
                });
            } else if (raw) {
                raw_values([&](int64_t k, const char* b) {
                    double d;
                    std::memcpy(&d, b, 8);
                    c.f[k] = static_cast<float>(d);
                });
            } else if (half) {
                for (int64_t k = 0; k < n; ++k) c.f[k] = half_to_float(static_cast<uint16_t>(p.int32_data(k)));
            } else {
                for (int64_t k = 0; k < n; ++k) c.f[k] = static_cast<float>(p.double_data(k));
            }
            break;
        }
        case TensorProto::INT64:
            c.integer = true;
            c.i.resize(n);
            if (raw) {
                raw_values([&](int64_t k, const char* b) { std::memcpy(&c.i[k], b, 8); });
            } else {
                std::copy(p.int64_data().begin(), p.int64_data().end(), c.i.begin());
            }
            break;
        case TensorProto::INT32:
        case TensorProto::INT16:
        case TensorProto::INT8:
        case TensorProto::UINT16:
        case TensorProto::UINT8:
        case TensorProto::BOOL: {
            c.integer = true;
            c.i.resize(n);
            if (raw) {
                raw_values([&](int64_t k, const char* b) {
                    switch (t) {
                        case TensorProto::INT32: { int32_t v; std::memcpy(&v, b, 4); c.i[k] = v; break; }
                        case TensorProto::INT16: { int16_t v; std::memcpy(&v, b, 2); c.i[k] = v; break; }
                        case TensorProto::UINT16: { uint16_t v; std::memcpy(&v, b, 2); c.i[k] = v; break; }
                        case TensorProto::INT8: c.i[k] = static_cast<int8_t>(*b); break;
                        default: c.i[k] = static_cast<uint8_t>(*b);
                    }
                });
            } else {
                std::copy(p.int32_data().begin(), p.int32_data().end(), c.i.begin());
            }
            break;
        }
        default: break;  // refused above
    }
    return c;
}

const std::vector<std::string>& foldable_ops() {
    static const std::vector<std::string> ops = {"Constant", "Identity",  "Shape",     "Gather", "Unsqueeze",
                                                 "Squeeze",  "Concat",    "Slice",     "Cast",   "Reshape",
                                                 "Transpose", "ConstantOfShape", "Add", "Sub",  "Mul",
                                                 "Div",      "Dropout"};
    return ops;
}

std::vector<Constant> fold_constant_node(const onnx::NodeProto& node, const std::vector<const Constant*>& in,
                                         const ConstantLimits& limits, std::vector<std::string>& notes) {
    t_fold_limit = limits.max_folded_elements;
    const std::string& op = node.op_type();
    if (op == "Constant") {
        for (const auto& a : node.attribute()) {
            if (a.name() == "value") return {constant_from_proto(a.t(), limits, notes)};
            if (a.name() == "value_float") {
                Constant c;
                c.f = Tensor(Shape{}, {a.f()});
                return {c};
            }
            if (a.name() == "value_floats") {
                Constant c;
                c.shape = {a.floats_size()};
                c.f = Tensor(c.shape, std::vector<float>(a.floats().begin(), a.floats().end()));
                return {c};
            }
            if (a.name() == "value_int") return {ints_constant({a.i()}, {})};
            if (a.name() == "value_ints")
                return {ints_constant({a.ints().begin(), a.ints().end()}, {a.ints_size()})};
        }
        throw Error("Constant node has no value (value_string and sparse values are not supported)");
    }
    if (op == "Identity" || op == "Dropout") return {input(node, in, 0)};
    if (op == "Shape") {
        const Constant& x = input(node, in, 0);
        const int64_t rank = static_cast<int64_t>(x.shape.size());
        int64_t start = int_attribute(node, "start", 0), end = int_attribute(node, "end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = std::clamp<int64_t>(start, 0, rank);
        end = std::clamp<int64_t>(end, start, rank);
        std::vector<int64_t> dims(x.shape.begin() + start, x.shape.begin() + end);
        return {ints_constant(dims, {static_cast<int64_t>(dims.size())})};
    }
    if (op == "Gather") {
        const Constant& x = input(node, in, 0);
        const std::vector<int64_t> idx = input(node, in, 1).ints("Gather indices");
        const int64_t rank = static_cast<int64_t>(x.shape.size());
        if (rank == 0) throw Error("Gather on a scalar");
        const int64_t axis = normalize_axis(int_attribute(node, "axis", 0), rank, "Gather");
        const Shape& is = input(node, in, 1).shape;
        Shape out(x.shape.begin(), x.shape.begin() + axis);
        out.insert(out.end(), is.begin(), is.end());
        out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
        Constant r = make_like(x, out);
        int64_t outer = 1, inner = 1;
        for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
        for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[d];
        const int64_t dim = x.shape[axis], count = static_cast<int64_t>(idx.size());
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t k = 0; k < count; ++k) {
                int64_t j = idx[k] < 0 ? idx[k] + dim : idx[k];
                if (j < 0 || j >= dim) throw Error("Gather: index " + std::to_string(idx[k]) + " out of range");
                for (int64_t q = 0; q < inner; ++q) copy_element(x, (o * dim + j) * inner + q, r, (o * count + k) * inner + q);
            }
        return {r};
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
        Constant r = input(node, in, 0);
        std::vector<int64_t> axes = has_input(in, 1) ? in[1]->ints(op + " axes") : ints_attribute(node, "axes");
        if (op == "Unsqueeze") {
            const int64_t rank = static_cast<int64_t>(r.shape.size() + axes.size());
            for (int64_t& a : axes) a = normalize_axis(a, rank, op);
            std::sort(axes.begin(), axes.end());
            for (int64_t a : axes) r.shape.insert(r.shape.begin() + a, 1);
        } else {
            const int64_t rank = static_cast<int64_t>(r.shape.size());
            Shape out;
            for (int64_t d = 0; d < rank; ++d) {
                const bool listed = std::any_of(axes.begin(), axes.end(),
                                                [&](int64_t a) { return normalize_axis(a, rank, op) == d; });
                if ((axes.empty() && r.shape[d] == 1) || listed) {
                    if (r.shape[d] != 1) throw Error("Squeeze: dimension " + std::to_string(d) + " is not 1");
                    continue;
                }
                out.push_back(r.shape[d]);
            }
            r.shape = out;
        }
        if (!r.integer) r.f = r.f.reshaped(r.shape);
        return {r};
    }
    if (op == "Concat") {
        std::vector<const Constant*> parts;
        for (size_t k = 0; k < in.size(); ++k) parts.push_back(&input(node, in, k));
        if (parts.empty()) throw Error("Concat has no inputs");
        const Constant& first = *parts[0];
        const int64_t rank = static_cast<int64_t>(first.shape.size());
        const int64_t axis = normalize_axis(int_attribute(node, "axis", 0), rank, "Concat");
        Shape out = first.shape;
        out[axis] = 0;
        bool integer = true;
        for (const Constant* p : parts) {
            if (static_cast<int64_t>(p->shape.size()) != rank) throw Error("Concat: ranks differ");
            out[axis] += p->shape[axis];
            integer = integer && p->integer;
        }
        Constant r = make_like(first, out);
        if (r.integer != integer) throw Error("Concat of integer and floating-point constants");
        int64_t outer = 1, inner = 1;
        for (int64_t d = 0; d < axis; ++d) outer *= out[d];
        for (int64_t d = axis + 1; d < rank; ++d) inner *= out[d];
        int64_t offset = 0;
        for (const Constant* p : parts) {
            const int64_t block = p->shape[axis] * inner;
            for (int64_t o = 0; o < outer; ++o)
                for (int64_t q = 0; q < block; ++q) copy_element(*p, o * block + q, r, o * out[axis] * inner + offset + q);
            offset += block;
        }
        return {r};
    }
    if (op == "Slice") {
        const Constant& x = input(node, in, 0);
        if (has_input(in, 1))
            return {slice(x, input(node, in, 1).ints("Slice starts"), input(node, in, 2).ints("Slice ends"),
                          has_input(in, 3) ? in[3]->ints("Slice axes") : std::vector<int64_t>{},
                          has_input(in, 4) ? in[4]->ints("Slice steps") : std::vector<int64_t>{})};
        return {slice(x, ints_attribute(node, "starts"), ints_attribute(node, "ends"), ints_attribute(node, "axes"), {})};
    }
    if (op == "Cast") {
        const Constant& x = input(node, in, 0);
        const int64_t to = int_attribute(node, "to", 0);
        const bool to_float = to == TensorProto::FLOAT || to == TensorProto::DOUBLE || to == TensorProto::FLOAT16;
        Constant r;
        r.shape = x.shape;
        if (to_float) {
            r.f = x.floats().reshaped(x.shape);
        } else {
            r.integer = true;
            r.i = x.ints("Cast to an integer type");
        }
        return {r};
    }
    if (op == "Reshape") {
        Constant r = input(node, in, 0);
        std::vector<int64_t> target = input(node, in, 1).ints("Reshape shape");
        refuse_batch(input(node, in, 1), "Reshape of a constant");
        const bool allow_zero = int_attribute(node, "allowzero", 0) != 0;
        int64_t known = 1, infer = -1;
        for (size_t d = 0; d < target.size(); ++d) {
            if (target[d] == 0 && !allow_zero) {
                if (d >= r.shape.size())
                    throw Error("Reshape: the target " + shape_str(target) + " copies dimension " + std::to_string(d) +
                                " (0) that the input " + shape_str(r.shape) + " lacks");
                target[d] = r.shape[d];
            }
            if (target[d] == -1) {
                if (infer >= 0) throw Error("Reshape: more than one -1");
                infer = static_cast<int64_t>(d);
            } else if (target[d] < 0 || __builtin_mul_overflow(known, target[d], &known)) {
                throw Error("Reshape: cannot reshape " + shape_str(r.shape) + " to " + shape_str(target));
            }
        }
        if (infer >= 0) target[infer] = known ? r.numel() / known : 0;
        if (shape_numel(target) != r.numel())
            throw Error("Reshape: cannot reshape " + shape_str(r.shape) + " to " + shape_str(target));
        r.shape = target;
        if (!r.integer) r.f = r.f.reshaped(r.shape);
        return {r};
    }
    if (op == "Transpose") return {transpose(input(node, in, 0), ints_attribute(node, "perm"))};
    if (op == "ConstantOfShape") {
        std::vector<int64_t> dims = input(node, in, 0).ints("ConstantOfShape shape");
        refuse_batch(input(node, in, 0), "ConstantOfShape");
        Constant value = ints_constant({0}, {1});
        value.integer = false;
        value.f = Tensor({1}, {0.0f});
        if (const auto* a = attribute(node, "value")) value = constant_from_proto(a->t(), limits, notes);
        Constant r = make_like(value, dims);
        for (int64_t k = 0; k < r.numel(); ++k) copy_element(value, 0, r, k);
        return {r};
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")
        return {arithmetic(op, input(node, in, 0), input(node, in, 1))};
    throw Error(op + " cannot be evaluated at import time");
}

std::string limit_hint(const char* option) {
    return std::string(" (raise ImportOptions::") + option + " to import it)";
}

int64_t checked_numel(const Shape& shape, const ConstantLimits& limits, const std::string& label) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) throw Error(label + " has a negative dimension in " + shape_str(shape));
        if (d != 0 && n > limits.max_elements / d)
            throw Error(label + " has shape " + shape_str(shape) + ", more than the limit of " +
                        std::to_string(limits.max_elements) + " elements" + limit_hint("max_tensor_elements"));
        n *= d;
    }
    return n;
}

}  // namespace relprop
