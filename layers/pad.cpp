#include "layers/pad.h"

#include "engine/backend.h"
#include "engine/error.h"

namespace relprop {

Pad::Pad(std::array<int64_t, 2> pad_begin, std::array<int64_t, 2> pad_end) : m_begin(pad_begin), m_end(pad_end) {
    for (int i = 0; i < 2; ++i)
        if (m_begin[i] < 0 || m_end[i] < 0) throw Error("Pad: negative pads (cropping) are not supported");
}

Shape Pad::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    if (x.size() != 4) throw Error("Pad expects a 4-D input [N, C, H, W], got " + shape_str(x));
    return {x[0], x[1], x[2] + m_begin[0] + m_end[0], x[3] + m_begin[1] + m_end[1]};
}

Tensor Pad::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params&) const {
    const Tensor& x = inputs.at(0);
    Tensor y = backend.zeros(infer_shape({x.shape()}));
    const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), yh = y.dim(2), yw = y.dim(3);
    for (int64_t p = 0; p < planes; ++p)
        backend.copy_blocks(x, p * h * w, w, y, (p * yh + m_begin[0]) * yw + m_begin[1], yw, h, w);
    return y;
}

std::vector<Tensor> Pad::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params&,
                                        const Tensor& grad_output) const {
    Tensor gx = backend.empty(input_shapes.at(0));
    const int64_t planes = gx.dim(0) * gx.dim(1), h = gx.dim(2), w = gx.dim(3), yh = grad_output.dim(2),
                  yw = grad_output.dim(3);
    for (int64_t p = 0; p < planes; ++p)
        backend.copy_blocks(grad_output, (p * yh + m_begin[0]) * yw + m_begin[1], yw, gx, p * h * w, w, h, w);
    return {gx};
}

std::string Pad::describe() const {
    return "p=" + std::to_string(m_begin[0]) + "," + std::to_string(m_begin[1]) + "," + std::to_string(m_end[0]) +
           "," + std::to_string(m_end[1]);
}

}  // namespace relprop
