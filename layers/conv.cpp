#include "layers/conv.h"
#include "io/onnx_node.h"
#include "layers/op_registry.h"
#include "layers/pad.h"

#include "relprop/error.hpp"

namespace relprop {

Conv::Conv(Tensor weight, std::optional<Tensor> bias, ConvGeometry geometry) : m_geometry(geometry) {
    const Shape& w = weight.shape();
    if (w.size() != 4) throw Error("Conv weight must be 4-D [O, C/groups, KH, KW], got " + shape_str(w));
    if (geometry.groups < 1 || w[0] % geometry.groups != 0)
        throw Error("Conv groups=" + std::to_string(geometry.groups) + " does not divide the " + std::to_string(w[0]) +
                    " output channels");
    for (int i = 0; i < 2; ++i) {
        if (geometry.stride[i] < 1 || geometry.dilation[i] < 1 || geometry.pad_begin[i] < 0 || geometry.pad_end[i] < 0)
            throw Error("Conv: strides and dilations must be >= 1 and pads >= 0");
        if (w[2 + i] < 1) throw Error("Conv weight has an empty kernel " + shape_str(w));
    }
    if (bias && bias->shape() != Shape{w[0]})
        throw Error("Conv bias must have shape [" + std::to_string(w[0]) + "], got " + shape_str(bias->shape()));
    m_params["weight"] = std::move(weight);
    if (bias) m_params["bias"] = std::move(*bias);
}

Shape Conv::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    const Shape& w = m_params.at("weight").shape();
    if (x.size() != 4) throw Error("Conv expects a 4-D input [N, C, H, W], got " + shape_str(x));
    if (x[1] != w[1] * m_geometry.groups)
        throw Error("Conv expects " + std::to_string(w[1] * m_geometry.groups) + " input channels (weight " +
                    shape_str(w) + ", groups " + std::to_string(m_geometry.groups) + "), got " + std::to_string(x[1]));
    Shape out{x[0], w[0], 0, 0};
    for (int i = 0; i < 2; ++i) {
        const ConvGeometry& g = m_geometry;
        int64_t span = x[2 + i] + g.pad_begin[i] + g.pad_end[i] - g.dilation[i] * (w[2 + i] - 1) - 1;
        if (span < 0) throw Error("Conv kernel " + shape_str(w) + " is larger than the padded input " + shape_str(x));
        out[2 + i] = span / g.stride[i] + 1;
    }
    return out;
}

Tensor Conv::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const {
    Tensor y = backend.empty(infer_shape({inputs.at(0).shape()}));
    auto bias = params.find("bias");
    backend.conv2d_forward(inputs[0], params.at("weight"), bias == params.end() ? nullptr : &bias->second, m_geometry,
                           y);
    return y;
}

std::vector<Tensor> Conv::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes,
                                         const Params& params, const Tensor& grad_output) const {
    Tensor gx = backend.empty(input_shapes.at(0));
    backend.conv2d_backward_data(grad_output, params.at("weight"), m_geometry, gx);
    return {gx};
}

std::string Conv::describe() const {
    const Shape& w = m_params.at("weight").shape();
    const ConvGeometry& g = m_geometry;
    std::string s = std::to_string(w[1] * g.groups) + "->" + std::to_string(w[0]) + " k=" + std::to_string(w[2]) + "x" +
                    std::to_string(w[3]) + " s=" + std::to_string(g.stride[0]) + "," + std::to_string(g.stride[1]) +
                    " p=" + std::to_string(g.pad_begin[0]) + "," + std::to_string(g.pad_begin[1]) + "," +
                    std::to_string(g.pad_end[0]) + "," + std::to_string(g.pad_end[1]);
    if (g.dilation[0] != 1 || g.dilation[1] != 1)
        s += " d=" + std::to_string(g.dilation[0]) + "," + std::to_string(g.dilation[1]);
    if (g.groups != 1) s += " g=" + std::to_string(g.groups);
    if (!m_params.count("bias")) s += " no-bias";
    return s;
}


namespace {

void import_conv(OnnxNode& n) {
    Tensor w = n.parameter(1, "weight");
    if (w.rank() != 4)
        throw Error("only 2-D convolution is supported (weight [O, C/group, KH, KW]); the weight has shape " +
                    shape_str(w.shape()));
    std::optional<Tensor> b;
    if (n.has_input(2)) b = n.parameter(2, "bias");
    std::string x = n.runtime_input(0);
    const std::vector<int64_t> kernel = n.attr_ints("kernel_shape", {w.dim(2), w.dim(3)});
    if (kernel != std::vector<int64_t>{w.dim(2), w.dim(3)})
        throw Error("kernel_shape does not match the weight " + shape_str(w.shape()));
    ConvGeometry g;
    g.stride = pair_of(n.attr_ints("strides", {1, 1}), "strides");
    g.dilation = pair_of(n.attr_ints("dilations", {1, 1}), "dilations");
    g.groups = n.attr_int("group", 1);
    resolve_pads(n, n.shape(x), {w.dim(2), w.dim(3)}, g.stride, g.dilation, g.pad_begin, g.pad_end);
    if (const auto* pad = dynamic_cast<const Pad*>(n.single_use_producer(x)); pad && pad->axis() == 2) {  // zero padding, then conv
        for (int i = 0; i < 2; ++i) {
            g.pad_begin[i] += pad->pad_begin()[i];
            g.pad_end[i] += pad->pad_end()[i];
        }
        n.note("Pad '" + n.producer_name(x) + "' folded into Conv '" + n.name() + "'");
        const std::string padded = x;
        x = n.producer_inputs(padded).at(0);
        n.remove_producer(padded);
    }
    n.emit(std::make_shared<Conv>(w, b, g), {x});
}

}  // namespace

RELPROP_REGISTER_OP(Conv) {
    return OpInfo{
        .type = OpType::Conv,
        .name = "Conv",
        .category = OpCategory::Linear,
        .kernels = Kernel::Conv | Kernel::Elementwise,
        .onnx = {{"Conv"}},
        .import = import_conv,
    };
}

}  // namespace relprop
