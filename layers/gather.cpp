// Gather with a constant index: y = x[..., index, ...] along one axis (never the batch axis) of a model value
// (ONNX Gather with a constant `indices` input; torch exports `x[:, k]` and `x[:, [i, j]]` this way). The index
// is a scalar (the axis disappears) or 1-D (the axis gets its length); negative entries count from the end;
// entries may repeat. VJP: the gradient scatter-added back (repeated entries accumulate). Runs on copy_blocks
// (one strided block copy per index entry), so every backend has it.
#include <algorithm>
#include <map>
#include <sstream>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/op_registry.h"
#include "layers/reshape.h"

namespace relprop {

namespace {

class Gather final : public Op {
public:
    /// axis ≥ 1 (normalized by the importer); scalar: the index is a scalar (then `index` has one entry).
    Gather(int64_t axis, std::vector<int64_t> index, bool scalar)
        : m_axis(axis), m_index(std::move(index)), m_scalar(scalar) {
        if (m_axis < 1) throw Error("Gather along the batch axis (0) is not supported");
        if (m_index.empty()) throw Error("Gather with an empty index gives an empty tensor");
        if (m_scalar && m_index.size() != 1) throw Error("Gather: a scalar index has one entry");
    }

    OpType type() const override { return OpType::Gather; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override {
        const Shape& x = inputs.at(0);
        if (m_axis >= static_cast<int64_t>(x.size()))
            throw Error("Gather axis " + std::to_string(m_axis) + " is out of range for input " + shape_str(x));
        resolved(x[m_axis]);
        Shape y(x.begin(), x.begin() + m_axis);
        if (!m_scalar) y.push_back(static_cast<int64_t>(m_index.size()));
        y.insert(y.end(), x.begin() + m_axis + 1, x.end());
        return y;
    }
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override {
        const Tensor& x = inputs.at(0);
        const Layout l = layout(x.shape());
        Tensor y = backend.empty(infer_shape({x.shape()}));
        for (int64_t j = 0; j < l.m; ++j)
            backend.copy_blocks(x, l.index[j] * l.inner, l.n * l.inner, y, j * l.inner, l.m * l.inner, l.outer, l.inner);
        return y;
    }
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                 const Tensor& gy) const override {
        const Shape& xs = inputs.at(0).shape();
        const Layout l = layout(xs);
        // Round r copies the r-th occurrence of each index entry; rounds after the first are added.
        std::map<int64_t, int> seen;
        std::vector<int> round(l.m);
        int rounds = 0;
        for (int64_t j = 0; j < l.m; ++j) rounds = std::max(rounds, (round[j] = seen[l.index[j]]++) + 1);
        Tensor gx = backend.zeros(xs);
        for (int r = 0; r < rounds; ++r) {
            Tensor part = r == 0 ? gx : backend.zeros(xs);
            for (int64_t j = 0; j < l.m; ++j)
                if (round[j] == r)
                    backend.copy_blocks(gy, j * l.inner, l.m * l.inner, part, l.index[j] * l.inner, l.n * l.inner,
                                        l.outer, l.inner);
            if (r > 0) backend.add(gx, part, gx);
        }
        return {gx};
    }
    std::string describe() const override {
        std::ostringstream out;
        out << "axis=" << m_axis << " index=" << (m_scalar ? std::to_string(m_index[0]) : shape_str(m_index));
        return out.str();
    }

    /// The index with negative entries resolved against an axis of size n (an Error if out of range).
    std::vector<int64_t> resolved(int64_t n) const {
        std::vector<int64_t> out;
        for (int64_t i : m_index) {
            if (i < -n || i >= n)
                throw Error("Gather index " + std::to_string(i) + " is out of range for axis " + std::to_string(m_axis) +
                            " of size " + std::to_string(n));
            out.push_back(i < 0 ? i + n : i);
        }
        return out;
    }
    int64_t axis() const { return m_axis; }

private:
    // x as [outer, n, inner] around the axis, y as [outer, m, inner].
    struct Layout {
        int64_t outer = 1, n = 1, inner = 1, m = 0;
        std::vector<int64_t> index;
    };
    Layout layout(const Shape& x) const {
        infer_shape({x});
        Layout l;
        for (int64_t d = 0; d < static_cast<int64_t>(x.size()); ++d) (d < m_axis ? l.outer : d > m_axis ? l.inner : l.n) *= x[d];
        l.index = resolved(l.n);
        l.m = static_cast<int64_t>(l.index.size());
        return l;
    }

    int64_t m_axis;
    std::vector<int64_t> m_index;
    bool m_scalar;
};

void import_gather(OnnxNode& n) {
    const std::string& x = n.runtime_input(0);
    if (!n.is_constant(1))
        throw Error("Gather with an index computed by the model is not supported (the indices must be a constant)");
    const Shape is = n.constant_shape(1, "indices");
    const int64_t rank = static_cast<int64_t>(n.shape(x).size());
    const int64_t axis = normalize_axes({n.attr_int("axis", 0)}, rank, "Gather axis")[0];
    // PyTorch's dynamo exporter writes a view it has no ONNX op for (aten.as_strided, e.g. after ConvNeXt's
    // AdaptiveAvgPool2d, in a model exported with a fixed batch) as a Reshape to 1-D and a Gather of every
    // element in order: that is a Reshape to the index's shape.
    if (rank == 1 && axis == 0 && !is.empty()) {
        const std::vector<int64_t> index = n.constant_ints(1, "indices");
        bool in_order = static_cast<int64_t>(index.size()) == n.shape(x)[0];
        for (size_t k = 0; in_order && k < index.size(); ++k) in_order = index[k] == static_cast<int64_t>(k);
        if (in_order) return n.emit(std::make_shared<Reshape>(is), {x});
    }
    if (is.size() > 1)
        throw Error("Gather with a rank-" + std::to_string(is.size()) + " index " + shape_str(is) +
                    " is not supported (a scalar or 1-D index is)");
    n.emit(std::make_shared<Gather>(axis, n.constant_ints(1, "indices"), is.empty()), {x});
}

RefArray gather_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const auto& g = dynamic_cast<const Gather&>(op);
    const RefArray& x = inputs.at(0);
    const int64_t axis = g.axis();
    int64_t outer = 1, n = x.shape.at(axis), inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
    const std::vector<int64_t> index = g.resolved(n);
    const int64_t m = static_cast<int64_t>(index.size());
    RefArray y{op.infer_shape({x.shape}), std::vector<double>(outer * m * inner)};
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < m; ++j)
            for (int64_t i = 0; i < inner; ++i) y.v[(o * m + j) * inner + i] = x.v[(o * n + index[j]) * inner + i];
    return y;
}

}  // namespace

RELPROP_REGISTER_OP(Gather) {
    OpInfo info;
    info.type = OpType::Gather;
    info.name = "Gather";
    info.category = OpCategory::DataMovement;
    info.kernels = Kernel::Elementwise;
    info.onnx = {{"Gather"}};
    info.import = import_gather;
    info.reference = gather_reference;
    info.samples = []() -> std::vector<OpSample> {
        auto g = [](int64_t axis, std::vector<int64_t> index, bool scalar) {
            return std::make_shared<Gather>(axis, std::move(index), scalar);
        };
        return {{"Gather channels [2,0,-1] of [2,4,3]", g(1, {2, 0, -1}, false), {{2, 4, 3}}},
                {"Gather scalar index 1 on axis 2 of [2,3,4,5]", g(2, {1}, true), {{2, 3, 4, 5}}},
                {"Gather scalar index -1 on the last axis", g(3, {-1}, true), {{2, 3, 4, 5}}},
                {"Gather repeated [1,1,3,1] on axis 3 (scatter-add)", g(3, {1, 1, 3, 1}, false), {{2, 3, 4, 5}}}};
    };
    return info;
}

}  // namespace relprop
