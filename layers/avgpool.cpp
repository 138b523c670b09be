#include "layers/avgpool.h"

#include "engine/backend.h"
#include "engine/error.h"

namespace relprop {

namespace {

PoolAttributes global_attributes(const Shape& x) {
    if (x.size() != 4) throw Error("GlobalAvgPool expects a 4-D input [N, C, H, W], got " + shape_str(x));
    PoolAttributes a;
    a.kernel = {x[2], x[3]};
    return a;
}

}  // namespace

AvgPool::AvgPool(PoolAttributes attributes, bool count_include_pad)
    : m_attributes(attributes), m_count_include_pad(count_include_pad) {
    m_attributes.validate("AvgPool");
    if (m_attributes.dilation != std::array<int64_t, 2>{1, 1}) throw Error("AvgPool: dilations are not supported");
}

Shape AvgPool::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape out = m_attributes.output_shape(inputs.at(0), "AvgPool");
    if (m_count_include_pad && m_attributes.geometry(inputs[0]).pad_end != m_attributes.pad_end)
        throw Error("AvgPool with count_include_pad=1 and ceil_mode=1 whose last window reaches past the padding "
                    "is not supported (its divisor is ambiguous); input " + shape_str(inputs[0]));
    return out;
}

Tensor AvgPool::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params&) const {
    const Tensor& x = inputs.at(0);
    Tensor y = backend.empty(infer_shape({x.shape()}));
    backend.pool2d_forward(m_count_include_pad ? PoolKind::AvgIncludePad : PoolKind::AvgExcludePad, x,
                           m_attributes.geometry(x.shape()), y);
    return y;
}

std::vector<Tensor> AvgPool::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params&,
                                            const Tensor& grad_output) const {
    Tensor gx = backend.empty(input_shapes.at(0));
    backend.pool2d_backward(m_count_include_pad ? PoolKind::AvgIncludePad : PoolKind::AvgExcludePad, gx, grad_output,
                            m_attributes.geometry(gx.shape()), gx);
    return {gx};
}

std::string AvgPool::describe() const {
    return m_attributes.describe() + (m_count_include_pad ? " count-pad" : "");
}

Shape GlobalAvgPool::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    global_attributes(x);
    return {x[0], x[1], 1, 1};
}

Tensor GlobalAvgPool::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params&) const {
    const Tensor& x = inputs.at(0);
    Tensor y = backend.empty(infer_shape({x.shape()}));
    backend.pool2d_forward(PoolKind::AvgExcludePad, x, global_attributes(x.shape()).geometry(x.shape()), y);
    return y;
}

std::vector<Tensor> GlobalAvgPool::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes,
                                                  const Params&, const Tensor& grad_output) const {
    Tensor gx = backend.empty(input_shapes.at(0));
    backend.pool2d_backward(PoolKind::AvgExcludePad, gx, grad_output,
                            global_attributes(gx.shape()).geometry(gx.shape()), gx);
    return {gx};
}

}  // namespace relprop
