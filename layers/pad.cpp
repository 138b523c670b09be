#include "layers/pad.h"

#include <algorithm>

#include "io/onnx_node.h"
#include "layers/op_registry.h"

#include "engine/backend.h"
#include "relprop/error.hpp"

namespace relprop {

Pad::Pad(std::array<int64_t, 2> pad_begin, std::array<int64_t, 2> pad_end, int axis)
    : m_begin(pad_begin), m_end(pad_end), m_axis(axis) {
    if (axis != 1 && axis != 2) throw Error("Pad: the padded axes must be 2, 3 (NCHW) or 1, 2 (NHWC)");
    for (int i = 0; i < 2; ++i) {
        if (m_begin[i] < 0 || m_end[i] < 0) throw Error("Pad: negative pads (cropping) are not supported");
        // Pads from a constant input are not bounded like attributes (a fuzzer finding: pads near 2^63
        // overflowed the shape arithmetic).
        if (m_begin[i] > kMaxPad || m_end[i] > kMaxPad)
            throw Error("Pad: pad " + std::to_string(std::max(m_begin[i], m_end[i])) + " is larger than " +
                        std::to_string(kMaxPad));
    }
}

Shape Pad::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    if (x.size() != 4)
        throw Error(std::string("Pad expects a 4-D input ") + (m_axis == 2 ? "[N, C, H, W]" : "[N, H, W, C]") +
                    ", got " + shape_str(x));
    Shape y = x;
    y[m_axis] += m_begin[0] + m_end[0];
    y[m_axis + 1] += m_begin[1] + m_end[1];
    return y;
}

namespace {

// The padded value as `planes` blocks of h rows of w·inner contiguous floats (inner: the axes after the padded
// two, C for NHWC, 1 for NCHW).
struct PadBlocks {
    int64_t planes, h, w, inner, yh, yw;
};

PadBlocks pad_blocks(const Shape& x, const Shape& y, int axis) {
    int64_t planes = 1, inner = 1;
    for (int d = 0; d < axis; ++d) planes *= x[d];
    for (size_t d = static_cast<size_t>(axis) + 2; d < x.size(); ++d) inner *= x[d];
    return {planes, x[axis], x[axis + 1], inner, y[axis], y[axis + 1]};
}

}  // namespace

Tensor Pad::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params&) const {
    const Tensor& x = inputs.at(0);
    Tensor y = backend.zeros(infer_shape({x.shape()}));
    const PadBlocks b = pad_blocks(x.shape(), y.shape(), m_axis);
    for (int64_t p = 0; p < b.planes; ++p)
        backend.copy_blocks(x, p * b.h * b.w * b.inner, b.w * b.inner, y,
                            ((p * b.yh + m_begin[0]) * b.yw + m_begin[1]) * b.inner, b.yw * b.inner, b.h, b.w * b.inner);
    return y;
}

std::vector<Tensor> Pad::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params&,
                                        const Tensor& grad_output) const {
    Tensor gx = backend.empty(input_shapes.at(0));
    const PadBlocks b = pad_blocks(gx.shape(), grad_output.shape(), m_axis);
    for (int64_t p = 0; p < b.planes; ++p)
        backend.copy_blocks(grad_output, ((p * b.yh + m_begin[0]) * b.yw + m_begin[1]) * b.inner, b.yw * b.inner, gx,
                            p * b.h * b.w * b.inner, b.w * b.inner, b.h, b.w * b.inner);
    return {gx};
}

std::string Pad::describe() const {
    return "p=" + std::to_string(m_begin[0]) + "," + std::to_string(m_begin[1]) + "," + std::to_string(m_end[0]) +
           "," + std::to_string(m_end[1]) + (m_axis == 1 ? " on axes 1, 2 (NHWC)" : "");
}


namespace {

void import_pad(OnnxNode& n) {
    const std::string mode = n.attr_string("mode", "constant");
    if (mode != "constant") throw Error("Pad mode '" + mode + "' is not supported (only constant zero padding)");
    std::vector<int64_t> pads;
    float value = 0.0f;
    if (n.opset() < 11) {
        pads = n.attr_ints("pads", {});
        value = n.attr_float("value", 0.0f);
    } else {
        pads = n.constant_ints(1, "pads");
        if (n.has_input(2)) value = n.parameter(2, "constant_value")[0];
    }
    if (value != 0.0f) throw Error("Pad with value " + std::to_string(value) + " is not supported (only zero)");
    const std::string& x = n.runtime_input(0);
    const int64_t rank = static_cast<int64_t>(n.shape(x).size());
    std::vector<int64_t> full(2 * rank, 0);
    if (n.has_input(3)) {  // opset 18 axes
        const std::vector<int64_t> axes = n.constant_ints(3, "axes");
        if (pads.size() != 2 * axes.size()) throw Error("Pad: pads and axes do not match");
        for (size_t k = 0; k < axes.size(); ++k) {
            const int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
            if (a < 0 || a >= rank) throw Error("Pad: axis out of range");
            full[a] = pads[k];
            full[a + rank] = pads[k + axes.size()];
        }
    } else {
        if (static_cast<int64_t>(pads.size()) != 2 * rank)
            throw Error("Pad: " + std::to_string(pads.size()) + " pads for an input of rank " + std::to_string(rank));
        full = pads;
    }
    // H and W of [N, C, H, W] (axes 2, 3), else of a channels-last [N, H, W, C] (axes 1, 2).
    const int axis = rank == 4 && !full[1] && !full[5] ? 2 : 1;
    if (rank != 4 || full[0] || full[4] || full[axis == 2 ? 1 : 3] || full[axis == 2 ? 5 : 7])
        throw Error("Pad is supported on two adjacent spatial axes (2, 3 or 1, 2) of a 4-D input only, got pads " +
                    shape_str(full));
    n.emit(std::make_shared<Pad>(std::array<int64_t, 2>{full[axis], full[axis + 1]},
                                 std::array<int64_t, 2>{full[axis + 4], full[axis + 5]}, axis),
           {x});
}

}  // namespace

RELPROP_REGISTER_OP(Pad) {
    return OpInfo{
        .type = OpType::Pad,
        .name = "Pad",
        .category = OpCategory::DataMovement,
        .kernels = Kernel::Elementwise,
        .onnx = {{"Pad"}},
        .import = import_pad,
    };
}

}  // namespace relprop
