#include "layers/avgpool.h"
#include "io/onnx_node.h"
#include "layers/op_registry.h"
#include "layers/pad.h"

#include "engine/backend.h"
#include "relprop/error.hpp"

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


namespace {

void import_avgpool(OnnxNode& n) {
    PoolAttributes p = import_pool_attributes(n, false);
    const bool include_pad = n.attr_int("count_include_pad", 0) != 0;
    const std::string& x = n.runtime_input(0);
    // Zero padding then AveragePool = AveragePool counting that padding, if the pool's own padding is
    // counted too (or absent) — PyTorch exports AvgPool2d(padding=p) this way.
    if (const auto* pad = dynamic_cast<const Pad*>(n.single_use_producer(x)); pad && pad->axis() == 2) {
        const bool own_pads = p.pad_begin != std::array<int64_t, 2>{0, 0} || p.pad_end != std::array<int64_t, 2>{0, 0};
        PoolAttributes folded = p;
        for (int i = 0; i < 2; ++i) {
            folded.pad_begin[i] += pad->pad_begin()[i];
            folded.pad_end[i] += pad->pad_end()[i];
        }
        if (!own_pads || include_pad) {
            const std::string source = n.producer_inputs(x).at(0);
            std::shared_ptr<AvgPool> op;
            try {
                op = std::make_shared<AvgPool>(folded, true);
                op->infer_shape({n.shape(source)});
            } catch (const Error&) {
                op = nullptr;  // not exact here (e.g. ceil_mode past the padding): keep the Pad node
            }
            if (op) {
                n.note("Pad '" + n.producer_name(x) + "' folded into AveragePool '" + n.name() + "'");
                n.remove_producer(x);
                return n.emit(op, {source});
            }
        }
    }
    n.emit(std::make_shared<AvgPool>(p, include_pad), {x});
}

void import_global_avgpool(OnnxNode& n) { n.emit(std::make_shared<GlobalAvgPool>(), {n.runtime_input(0)}); }

}  // namespace

RELPROP_REGISTER_OP(AvgPool) {
    return OpInfo{
        .type = OpType::AvgPool,
        .name = "AvgPool",
        .category = OpCategory::SumPooling,
        .kernels = Kernel::Pool,
        .onnx = {{"AveragePool"}},
        .import = import_avgpool,
    };
}

RELPROP_REGISTER_OP(GlobalAvgPool) {
    return OpInfo{
        .type = OpType::GlobalAvgPool,
        .name = "GlobalAvgPool",
        .category = OpCategory::SumPooling,
        .kernels = Kernel::Pool,
        .onnx = {{"GlobalAveragePool"}},
        .import = import_global_avgpool,
    };
}

}  // namespace relprop
