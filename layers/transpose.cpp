#include "layers/transpose.h"

#include <algorithm>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/op_registry.h"
#include "engine/strided.h"

namespace relprop {

Transpose::Transpose(std::vector<int64_t> perm) : m_perm(std::move(perm)) {
    std::vector<int64_t> sorted = m_perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t d = 0; d < sorted.size(); ++d)
        if (sorted[d] != static_cast<int64_t>(d)) throw Error("Transpose perm " + shape_str(m_perm) + " is not a permutation");
    if (m_perm.empty() || m_perm[0] != 0)
        throw Error("Transpose perm " + shape_str(m_perm) + " moves the batch axis (0); relprop needs it first");
}

Shape Transpose::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    if (x.size() != m_perm.size())
        throw Error("Transpose perm " + shape_str(m_perm) + " does not fit an input of shape " + shape_str(x));
    Shape y(x.size());
    for (size_t d = 0; d < x.size(); ++d) y[d] = x[m_perm[d]];
    return y;
}

Tensor permute(Backend& backend, const Tensor& x, const std::vector<int64_t>& perm) {
    const std::vector<int64_t> xs = row_major_strides(x.shape());
    Shape dims(perm.size());
    std::vector<int64_t> strides(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) {
        dims[d] = x.shape()[perm[d]];
        strides[d] = xs[perm[d]];
    }
    Tensor y = backend.empty(dims);
    backend.gather(x, strided_map(dims, strides), y);
    return y;
}

Tensor Transpose::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    infer_shape({inputs.at(0).shape()});
    return permute(backend, inputs[0], m_perm);
}

std::vector<Tensor> Transpose::backward(Backend& backend, const std::vector<Tensor>&, const Tensor&,
                                        const Tensor& grad_output) const {
    std::vector<int64_t> inverse(m_perm.size());
    for (size_t d = 0; d < m_perm.size(); ++d) inverse[m_perm[d]] = static_cast<int64_t>(d);
    return {permute(backend, grad_output, inverse)};
}

namespace {

void import_transpose(OnnxNode& n) {
    const std::string& x = n.runtime_input(0);
    const int64_t rank = static_cast<int64_t>(n.shape(x).size());
    std::vector<int64_t> reversed;
    for (int64_t d = rank - 1; d >= 0; --d) reversed.push_back(d);
    n.emit(std::make_shared<Transpose>(normalize_axes(n.attr_ints("perm", reversed), rank, "Transpose perm")), {x});
}

RefArray transpose_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const auto& perm = dynamic_cast<const Transpose&>(op).perm();
    const RefArray& x = inputs.at(0);
    const Shape ys = op.infer_shape({x.shape});
    RefArray y{ys, std::vector<double>(x.v.size())};
    std::vector<int64_t> idx(ys.size(), 0), src(ys.size());
    for (size_t i = 0; i < y.v.size(); ++i) {
        for (size_t d = 0; d < ys.size(); ++d) src[perm[d]] = idx[d];
        int64_t o = 0;
        for (size_t d = 0; d < ys.size(); ++d) o = o * x.shape[d] + src[d];
        y.v[i] = x.v[o];
        for (int d = static_cast<int>(ys.size()) - 1; d >= 0 && ++idx[d] == ys[d]; --d) idx[d] = 0;
    }
    return y;
}

}  // namespace

RELPROP_REGISTER_OP(Transpose) {
    OpInfo info;
    info.type = OpType::Transpose;
    info.name = "Transpose";
    info.category = OpCategory::DataMovement;
    info.kernels = Kernel::Gather;
    info.onnx = {{"Transpose"}};
    info.import = import_transpose;
    info.reference = transpose_reference;
    info.samples = []() -> std::vector<OpSample> {
        return {{"Transpose NCHW→NHWC", std::make_shared<Transpose>(std::vector<int64_t>{0, 2, 3, 1}), {{2, 3, 4, 5}}},
                {"Transpose NHWC→NCHW", std::make_shared<Transpose>(std::vector<int64_t>{0, 3, 1, 2}), {{2, 4, 5, 3}}},
                {"Transpose channel shuffle [0,2,1,3,4]", std::make_shared<Transpose>(std::vector<int64_t>{0, 2, 1, 3, 4}),
                 {{2, 2, 3, 4, 5}}}};
    };
    return info;
}

}  // namespace relprop
