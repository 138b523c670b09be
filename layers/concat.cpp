#include "layers/concat.h"
#include "io/onnx_node.h"
#include "layers/op_registry.h"

#include "engine/backend.h"
#include "relprop/error.hpp"

namespace relprop {

namespace {

// Elements before the axis (outer) and per unit of the axis (inner).
std::pair<int64_t, int64_t> outer_inner(const Shape& s, size_t axis) {
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= s[d];
    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
    return {outer, inner};
}

}  // namespace

size_t Concat::resolved_axis(size_t rank) const {
    const int64_t r = static_cast<int64_t>(rank);
    if (m_axis < -r || m_axis >= r)
        throw Error("Concat axis " + std::to_string(m_axis) + " is out of range for rank " + std::to_string(rank));
    return static_cast<size_t>(m_axis < 0 ? m_axis + r : m_axis);
}

Shape Concat::infer_shape(const std::vector<Shape>& inputs) const {
    Shape out = inputs.at(0);
    const size_t axis = resolved_axis(out.size());
    for (size_t i = 1; i < inputs.size(); ++i) {
        const Shape& s = inputs[i];
        bool ok = s.size() == out.size();
        for (size_t d = 0; ok && d < s.size(); ++d) ok = d == axis || s[d] == out[d];
        if (!ok)
            throw Error("Concat along axis " + std::to_string(axis) + " needs equal shapes elsewhere, got " +
                        shape_str(inputs[0]) + " and " + shape_str(s));
        out[axis] += s[axis];
    }
    return out;
}

Tensor Concat::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    std::vector<Shape> shapes;
    for (const Tensor& t : inputs) shapes.push_back(t.shape());
    Tensor y = backend.empty(infer_shape(shapes));
    const size_t axis = resolved_axis(y.rank());
    const auto [outer, inner] = outer_inner(y.shape(), axis);
    int64_t offset = 0;
    for (const Tensor& x : inputs) {
        const int64_t block = x.dim(axis) * inner;
        backend.copy_blocks(x, 0, block, y, offset, y.dim(axis) * inner, outer, block);
        offset += block;
    }
    return y;
}

std::vector<Tensor> Concat::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                     const Tensor& grad_output) const {
    const size_t axis = resolved_axis(grad_output.rank());
    const auto [outer, inner] = outer_inner(grad_output.shape(), axis);
    std::vector<Tensor> grads;
    int64_t offset = 0;
    for (const Tensor& x : inputs) {
        const int64_t block = x.dim(axis) * inner;
        Tensor gx = backend.empty(x.shape());
        backend.copy_blocks(grad_output, offset, grad_output.dim(axis) * inner, gx, 0, block, outer, block);
        grads.push_back(gx);
        offset += block;
    }
    return grads;
}


namespace {

void import_concat(OnnxNode& n) {
    std::vector<std::string> inputs;
    for (int k = 0; k < n.input_count(); ++k) inputs.push_back(n.runtime_input(k));
    if (!n.has_attribute("axis")) throw Error("Concat needs the attribute 'axis'");
    n.emit(std::make_shared<Concat>(n.attr_int("axis", 1)), inputs);
}

}  // namespace

RELPROP_REGISTER_OP(Concat) {
    return OpInfo{
        .type = OpType::Concat,
        .name = "Concat",
        .category = OpCategory::DataMovement,
        .kernels = Kernel::Elementwise,
        .onnx = {{"Concat"}},
        .import = import_concat,
    };
}

}  // namespace relprop
