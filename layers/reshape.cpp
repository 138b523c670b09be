#include "layers/reshape.h"

#include "engine/error.h"

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

}  // namespace relprop
