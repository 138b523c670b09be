#include "layers/reshape.h"

#include <algorithm>
#include "io/onnx_constants.h"
#include "io/onnx_node.h"
#include "layers/op_registry.h"

#include "relprop/error.hpp"

namespace relprop {

Tensor ShapeOp::forward(Backend&, const std::vector<Tensor>& inputs) const {
    return inputs.at(0).reshaped(infer_shape({inputs[0].shape()}));
}

std::vector<Tensor> ShapeOp::backward(Backend&, const std::vector<Tensor>& inputs, const Tensor&,
                                      const Tensor& grad_output) const {
    return {grad_output.reshaped(inputs.at(0).shape())};
}

Reshape::Reshape(Shape target, bool allow_zero) : m_target(std::move(target)), m_allow_zero(allow_zero) {
    int inferred = 0;
    for (int64_t d : m_target) {
        if (d < -1) throw Error("Reshape target " + shape_str(m_target) + " has a dimension < -1");
        inferred += d == -1;
    }
    if (inferred > 1) throw Error("Reshape target " + shape_str(m_target) + " has more than one -1");
}

Shape Reshape::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    const int64_t total = shape_numel(x);
    Shape out = m_target;
    int64_t known = 1, infer_at = -1;
    for (size_t d = 0; d < out.size(); ++d) {
        if (out[d] == 0 && !m_allow_zero) {
            if (d >= x.size())
                throw Error("Reshape target " + shape_str(m_target) + " copies dimension " + std::to_string(d) +
                            " (0) that input " + shape_str(x) + " lacks");
            out[d] = x[d];
        }
        if (out[d] == -1)
            infer_at = static_cast<int64_t>(d);
        else if (__builtin_mul_overflow(known, out[d], &known))  // sizes from a hostile file
            throw Error("cannot reshape " + shape_str(x) + " to " + shape_str(m_target) + ": the size overflows");
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0)
            throw Error("cannot reshape " + shape_str(x) + " to " + shape_str(m_target));
        out[infer_at] = total / known;
    }
    if (shape_numel(out) != total) throw Error("cannot reshape " + shape_str(x) + " to " + shape_str(m_target));
    return out;
}

Shape Flatten::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    const int64_t rank = static_cast<int64_t>(x.size());
    if (m_axis < -rank || m_axis > rank)
        throw Error("Flatten axis " + std::to_string(m_axis) + " is out of range for input " + shape_str(x));
    const int64_t axis = m_axis < 0 ? m_axis + rank : m_axis;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : inner) *= x[d];
    return {outer, inner};
}


namespace {

// Squeeze / Unsqueeze: a Reshape to the static shape (the batch dimension copied).
void import_squeeze(OnnxNode& n, const std::string& x) {
    const bool squeeze = n.op_type() == "Squeeze";
    const Shape& xs = n.shape(x);
    std::vector<int64_t> axes = n.opset() < 13 ? n.attr_ints("axes", {}) : (n.has_input(1) ? n.constant_ints(1, "axes") : std::vector<int64_t>{});
    Shape out;
    if (squeeze) {
        if (axes.empty())
            for (size_t d = 1; d < xs.size(); ++d)
                if (xs[d] == 1) axes.push_back(static_cast<int64_t>(d));
        axes = normalize_axes(axes, static_cast<int64_t>(xs.size()), "Squeeze axes");
        for (size_t d = 0; d < xs.size(); ++d) {
            const bool drop = std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) != axes.end();
            if (drop && d == 0) throw Error("Squeeze of the batch axis (0) is not supported");
            if (drop && xs[d] != 1) throw Error("Squeeze of axis " + std::to_string(d) + " of size " + std::to_string(xs[d]));
            if (!drop) out.push_back(xs[d]);
        }
    } else {
        const int64_t rank = static_cast<int64_t>(xs.size() + axes.size());
        axes = normalize_axes(axes, rank, "Unsqueeze axes");
        size_t next = 0;
        for (int64_t d = 0; d < rank; ++d) {
            const bool insert = std::find(axes.begin(), axes.end(), d) != axes.end();
            if (insert && d == 0) throw Error("Unsqueeze before the batch axis (0) is not supported");
            out.push_back(insert ? 1 : xs.at(next++));
        }
    }
    out.at(0) = 0;  // the batch, whatever its size
    n.emit(std::make_shared<Reshape>(out), {x});
}

void import_reshape(OnnxNode& n) {
    const std::string& x = n.runtime_input(0);
    if (n.op_type() == "Flatten") return n.emit(std::make_shared<Flatten>(n.attr_int("axis", 1)), {x});
    if (n.op_type() == "Squeeze" || n.op_type() == "Unsqueeze") return import_squeeze(n, x);
    std::vector<int64_t> target = n.constant_ints(1, "shape");
    for (size_t d = 0; d < target.size(); ++d) {
        if (target[d] != kBatchDim) continue;
        if (d != 0 || !n.symbolic_batch() || n.shape(x).empty() || n.shape(x)[0] != 1)
            throw Error("a Reshape target that uses the batch size is only supported as its first dimension");
        target[d] = 0;  // copy the input's batch dimension
    }
    n.emit(std::make_shared<Reshape>(target, n.attr_int("allowzero", 0) != 0), {x});
}

OpInfo shape_op(OpType type, const char* name, std::vector<OnnxBinding> onnx) {
    OpInfo info;
    info.type = type;
    info.name = name;
    info.category = OpCategory::DataMovement;
    info.kernels = 0;  // a view: no kernel
    info.onnx = std::move(onnx);
    info.import = import_reshape;
    return info;
}

}  // namespace

RELPROP_REGISTER_OP(Reshape) { return shape_op(OpType::Reshape, "Reshape", {{"Reshape"}, {"Squeeze"}, {"Unsqueeze"}}); }
RELPROP_REGISTER_OP(Flatten) { return shape_op(OpType::Flatten, "Flatten", {{"Flatten"}}); }

}  // namespace relprop
