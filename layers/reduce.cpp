#include "layers/reduce.h"

#include <algorithm>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/op_registry.h"
#include "engine/strided.h"

namespace relprop {

Reduce::Reduce(bool mean, std::vector<int64_t> axes, bool keepdims)
    : m_mean(mean), m_axes(std::move(axes)), m_keepdims(keepdims) {
    std::sort(m_axes.begin(), m_axes.end());
    for (int64_t a : m_axes)
        if (a < 1) throw Error(std::string(op_name(type())) + " over the batch axis (0) is not supported");
}

OpCategory Reduce::category() const {
    // The mean over H and W of an NCHW value (global average pooling as mnasnet's x.mean([2, 3]) exports);
    // any other axes (channels, or the last axis of a channels-last value) are a reduction.
    return m_axes == std::vector<int64_t>{2, 3} ? OpCategory::SumPooling : OpCategory::Reduction;
}

Shape Reduce::kept_shape(const Shape& x) const {
    Shape k = x;
    for (int64_t a : m_axes) {
        if (a >= static_cast<int64_t>(x.size()))
            throw Error(std::string(op_name(type())) + ": axis " + std::to_string(a) + " is out of range for input " +
                        shape_str(x));
        k[a] = 1;
    }
    if (m_axes.empty())
        for (size_t d = 1; d < k.size(); ++d) k[d] = 1;
    return k;
}

Shape Reduce::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape k = kept_shape(inputs.at(0));
    if (m_keepdims) return k;
    Shape out;
    for (size_t d = 0; d < k.size(); ++d) {
        const bool reduced = m_axes.empty() ? d > 0 : std::binary_search(m_axes.begin(), m_axes.end(), int64_t(d));
        if (!reduced) out.push_back(k[d]);
    }
    return out;
}

Tensor Reduce::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params&) const {
    const Tensor& x = inputs.at(0);
    const Shape k = kept_shape(x.shape());
    Tensor y = backend.empty(k);
    backend.reduce_sum(x, y);
    if (m_mean) backend.scale(y, 1.0f / static_cast<float>(x.numel() / std::max<int64_t>(1, y.numel())), y);
    return y.reshaped(infer_shape({x.shape()}));
}

std::vector<Tensor> Reduce::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params&,
                                           const Tensor& grad_output) const {
    const Shape& xs = input_shapes.at(0);
    const Shape k = kept_shape(xs);
    std::vector<int64_t> strides = row_major_strides(k);
    for (size_t d = 0; d < k.size(); ++d)
        if (k[d] == 1) strides[d] = 0;  // broadcast along the reduced axes
    Tensor gx = backend.empty(xs);
    backend.gather(grad_output, strided_map(xs, strides), gx);
    if (m_mean) backend.scale(gx, static_cast<float>(shape_numel(k)) / static_cast<float>(std::max<int64_t>(1, gx.numel())), gx);
    return {gx};
}

std::string Reduce::describe() const {
    std::string s = "axes=" + shape_str(m_axes);
    return m_keepdims ? s + " keepdims" : s;
}

namespace {

void import_reduce(OnnxNode& n, bool mean) {
    const std::string& x = n.runtime_input(0);
    const int64_t rank = static_cast<int64_t>(n.shape(x).size());
    // Axes: an attribute up to opset 17 (ReduceMean) / 12 (ReduceSum), an optional constant input afterwards.
    const int input_from = mean ? 18 : 13;
    std::vector<int64_t> axes;
    if (n.opset() < input_from) {
        axes = n.attr_ints("axes", {});
    } else if (n.has_input(1)) {
        axes = n.constant_ints(1, "axes");
    }
    if (axes.empty() && n.attr_int("noop_with_empty_axes", 0) != 0)
        throw Error("noop_with_empty_axes=1 with no axes (an identity) is not supported");
    axes = normalize_axes(axes, rank, n.op_type().c_str());
    if (axes.empty())
        for (int64_t d = 0; d < rank; ++d) axes.push_back(d);  // all axes: refused below for the batch axis
    n.emit(std::make_shared<Reduce>(mean, axes, n.attr_int("keepdims", 1) != 0), {x});
}

RefArray reduce_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const auto& r = dynamic_cast<const Reduce&>(op);
    const RefArray& x = inputs.at(0);
    Shape k = x.shape;
    for (int64_t a : r.axes()) k[a] = 1;
    RefArray y{k, std::vector<double>(shape_numel(k), 0.0)};
    std::vector<int64_t> idx(x.shape.size(), 0);
    for (size_t i = 0; i < x.v.size(); ++i) {
        int64_t o = 0;
        for (size_t d = 0; d < k.size(); ++d) o = o * k[d] + (k[d] == 1 ? 0 : idx[d]);
        y.v[o] += x.v[i];
        for (int d = static_cast<int>(idx.size()) - 1; d >= 0 && ++idx[d] == x.shape[d]; --d) idx[d] = 0;
    }
    if (r.mean())
        for (double& v : y.v) v *= static_cast<double>(y.v.size()) / static_cast<double>(x.v.size());
    y.shape = op.infer_shape({x.shape});
    return y;
}

OpInfo reduce_info(OpType type, const char* name, bool mean) {
    OpInfo info;
    info.type = type;
    info.name = name;
    info.category = OpCategory::Reduction;
    info.kernels = Kernel::Reduce | Kernel::Gather | Kernel::Elementwise;
    info.onnx = {{name}};
    info.import = mean ? +[](OnnxNode& n) { import_reduce(n, true); } : +[](OnnxNode& n) { import_reduce(n, false); };
    info.reference = reduce_reference;
    info.samples = mean ? +[]() -> std::vector<OpSample> {
        return {{"ReduceMean over space, keepdims", std::make_shared<Reduce>(true, std::vector<int64_t>{2, 3}, true), {{2, 3, 4, 5}}},
                {"ReduceMean over space", std::make_shared<Reduce>(true, std::vector<int64_t>{2, 3}, false), {{2, 3, 4, 5}}},
                {"ReduceMean over channels (LayerNorm)", std::make_shared<Reduce>(true, std::vector<int64_t>{1}, true), {{2, 3, 4, 5}}},
                {"ReduceMean over the last axis", std::make_shared<Reduce>(true, std::vector<int64_t>{3}, false), {{2, 4, 5, 3}}}};
    } : +[]() -> std::vector<OpSample> {
        return {{"ReduceSum over space", std::make_shared<Reduce>(false, std::vector<int64_t>{2, 3}, true), {{2, 3, 4, 5}}},
                {"ReduceSum over axes 1 and 3", std::make_shared<Reduce>(false, std::vector<int64_t>{1, 3}, false), {{2, 3, 4, 5}}}};
    };
    return info;
}

}  // namespace

RELPROP_REGISTER_OP(ReduceMean) { return reduce_info(OpType::ReduceMean, "ReduceMean", true); }
RELPROP_REGISTER_OP(ReduceSum) { return reduce_info(OpType::ReduceSum, "ReduceSum", false); }

}  // namespace relprop
