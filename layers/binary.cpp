#include "layers/binary.h"

#include <functional>
#include <sstream>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/op_registry.h"

namespace relprop {

Shape left_padded(const Shape& s, size_t rank) {
    Shape out(rank > s.size() ? rank - s.size() : 0, 1);
    out.insert(out.end(), s.begin(), s.end());
    return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const size_t rank = std::max(a.size(), b.size());
    const Shape pa = left_padded(a, rank), pb = left_padded(b, rank);
    Shape out(rank);
    for (size_t d = 0; d < rank; ++d) {
        if (pa[d] != pb[d] && pa[d] != 1 && pb[d] != 1)
            throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
        out[d] = pa[d] == 1 ? pb[d] : pa[d];
    }
    if (rank > static_cast<size_t>(kMaxRank))
        throw Error(std::string(op) + ": rank " + std::to_string(rank) + " is more than " + std::to_string(kMaxRank));
    return out;
}

Tensor broadcast_binary(Backend& backend, BinaryKind kind, const Tensor& a, const Tensor& b) {
    const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), binary_name(kind));
    Tensor out = backend.empty(out_shape);
    backend.binary(kind, a.reshaped(left_padded(a.shape(), out_shape.size())),
                   b.reshaped(left_padded(b.shape(), out_shape.size())), out);
    return out;
}

Tensor reduce_to_shape(Backend& backend, const Tensor& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    Tensor out = backend.empty(left_padded(shape, g.rank()));
    backend.reduce_sum(g, out);
    return out.reshaped(shape);
}

Binary::Binary(OpType type, BinaryKind kind, std::optional<Tensor> constant, int constant_index)
    : m_type(type), m_kind(kind), m_constant_index(constant_index) {
    if (constant) {
        if (constant_index != 0 && constant_index != 1) throw Error("Binary: the constant's index must be 0 or 1");
        m_params["constant"] = std::move(*constant);
    }
}

std::pair<Tensor, Tensor> Binary::operands(const std::vector<Tensor>& inputs) const {
    if (!m_params.count("constant")) return {inputs.at(0), inputs.at(1)};
    const Tensor& c = m_params.at("constant");
    return m_constant_index == 0 ? std::pair{c, inputs.at(0)} : std::pair{inputs.at(0), c};
}

Shape Binary::infer_shape(const std::vector<Shape>& inputs) const {
    if (!m_params.count("constant")) return broadcast_shapes(inputs.at(0), inputs.at(1), op_name(m_type));
    const Shape& c = m_params.at("constant").shape();
    const Shape& x = inputs.at(0);
    const Shape out = m_constant_index == 0 ? broadcast_shapes(c, x, op_name(m_type)) : broadcast_shapes(x, c, op_name(m_type));
    if (out != x)
        throw Error(std::string(op_name(m_type)) + ": the constant " + shape_str(c) + " would broadcast the model value " +
                    shape_str(x) + " to " + shape_str(out) + " (only the constant may be broadcast)");
    return out;
}

Tensor Binary::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    const auto [a, b] = operands(inputs);
    return broadcast_binary(backend, m_kind, a, b);
}

std::vector<Tensor> Binary::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                     const Tensor& gy) const {
    const auto [a, b] = operands(inputs);
    Tensor ga, gb;  // with the output's shape
    switch (m_kind) {
        case BinaryKind::Add: ga = gb = gy; break;
        case BinaryKind::Sub: {
            ga = gy;
            gb = backend.empty(gy.shape());
            backend.scale(gy, -1.0f, gb);
            break;
        }
        case BinaryKind::Mul:
            ga = broadcast_binary(backend, BinaryKind::Mul, gy, b);
            gb = broadcast_binary(backend, BinaryKind::Mul, gy, a);
            break;
        case BinaryKind::Div: {
            ga = broadcast_binary(backend, BinaryKind::Div, gy, b);  // gy / b
            gb = broadcast_binary(backend, BinaryKind::Mul, ga, output);  // gy·a/b²
            backend.scale(gb, -1.0f, gb);
            break;
        }
    }
    std::vector<Tensor> out;
    if (constant_index() != 0) out.push_back(reduce_to_shape(backend, ga, a.shape()));
    if (constant_index() != 1) out.push_back(reduce_to_shape(backend, gb, b.shape()));
    return out;
}

std::string Binary::describe() const {
    if (!m_params.count("constant")) return "";
    std::ostringstream out;
    const Tensor& c = m_params.at("constant");
    out << (m_constant_index == 0 ? "constant " : "by constant ") << shape_str(c.shape());
    if (c.numel() == 1 && c.device() == Device::CPU) out << " = " << c[0];
    return out.str();
}

RefArray reference_broadcast(const RefArray& a, const RefArray& b, const std::function<double(double, double)>& f) {
    const Shape out = broadcast_shapes(a.shape, b.shape, "reference");
    const Shape sa = left_padded(a.shape, out.size()), sb = left_padded(b.shape, out.size());
    RefArray y{out, std::vector<double>(shape_numel(out))};
    std::vector<int64_t> idx(out.size(), 0);
    for (size_t i = 0; i < y.v.size(); ++i) {
        int64_t ia = 0, ib = 0;
        for (size_t d = 0; d < out.size(); ++d) {
            ia = ia * sa[d] + (sa[d] == 1 ? 0 : idx[d]);
            ib = ib * sb[d] + (sb[d] == 1 ? 0 : idx[d]);
        }
        y.v[i] = f(a.v[ia], b.v[ib]);
        for (int d = static_cast<int>(out.size()) - 1; d >= 0 && ++idx[d] == out[d]; --d) idx[d] = 0;
    }
    return y;
}

RefArray reference_constant(const Tensor& c) {
    RefArray k{c.shape(), std::vector<double>(c.numel())};
    for (int64_t i = 0; i < c.numel(); ++i) k.v[i] = c[i];
    return k;
}

namespace {

BinaryKind kind_of(const std::string& onnx) {
    if (onnx == "Add") return BinaryKind::Add;
    if (onnx == "Sub") return BinaryKind::Sub;
    if (onnx == "Mul") return BinaryKind::Mul;
    if (onnx == "Div") return BinaryKind::Div;
    throw Error("not a binary op: " + onnx);
}

// A double-precision broadcasting loop, independent of the backends' strided maps.
RefArray binary_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const auto& bin = dynamic_cast<const Binary&>(op);
    RefArray a, b;
    if (bin.constant_index() < 0) {
        a = inputs.at(0);
        b = inputs.at(1);
    } else {
        const RefArray k = reference_constant(op.params().at("constant"));
        a = bin.constant_index() == 0 ? k : inputs.at(0);
        b = bin.constant_index() == 0 ? inputs.at(0) : k;
    }
    return reference_broadcast(a, b, [&](double x, double z) {
        switch (bin.kind()) {
            case BinaryKind::Add: return x + z;
            case BinaryKind::Sub: return x - z;
            case BinaryKind::Mul: return x * z;
            case BinaryKind::Div: return x / z;
        }
        return x;
    });
}

Tensor sample_constant(const Shape& shape, float base) {
    Tensor c(shape);
    for (int64_t i = 0; i < c.numel(); ++i) c[i] = base + 0.125f * static_cast<float>(i % 7);
    return c;
}

std::vector<OpSample> binary_samples(OpType type, BinaryKind kind, double lo, double hi) {
    const std::string n = op_name(type);
    std::vector<OpSample> s;
    if (type != OpType::AddConstant) {
        s.push_back({n + " equal shapes", std::make_shared<Binary>(type, kind), {{2, 3, 4, 5}, {2, 3, 4, 5}}, lo, hi});
        s.push_back({n + " gate [2,3,4,5]∘[2,3,1,1]", std::make_shared<Binary>(type, kind), {{2, 3, 4, 5}, {2, 3, 1, 1}}, lo, hi});
        s.push_back({n + " both broadcast [2,1,4]∘[3,1]", std::make_shared<Binary>(type, kind), {{2, 1, 4}, {3, 1}}, lo, hi});
    }
    s.push_back({n + " by a per-channel constant", std::make_shared<Binary>(type, kind, sample_constant({3, 1, 1}, 0.5f), 1),
                 {{2, 3, 4, 5}}, lo, hi});
    s.push_back({n + " constant first, scalar", std::make_shared<Binary>(type, kind, sample_constant({}, 0.75f), 0),
                 {{2, 6}}, lo, hi});
    return s;
}

OpInfo binary_info(OpType type, const char* name, const char* onnx) {
    OpInfo info;
    info.type = type;
    info.name = name;
    info.category = OpCategory::ElementwiseBinary;
    info.kernels = Kernel::Binary | Kernel::Reduce | Kernel::Elementwise;
    if (onnx[0]) info.onnx = {{onnx}};
    info.reference = binary_reference;
    return info;
}

}  // namespace

// Mul, Sub, Div of model values and constants (and AddConstant from the Add unit).
void import_binary(OnnxNode& n, OpType type) {
    if (n.input_count() != 2) throw Error(n.op_type() + " needs two inputs");
    const BinaryKind kind = kind_of(n.op_type());
    const bool c0 = n.is_constant(0), c1 = n.is_constant(1);
    if (!c0 && !c1) return n.emit(std::make_shared<Binary>(type, kind), {n.runtime_input(0), n.runtime_input(1)});
    if (c0 && c1) throw Error("both inputs are constants");
    const int k = c0 ? 0 : 1;
    Tensor c = n.parameter(k, k == 0 ? "first operand" : "second operand");
    c = c.reshaped(n.constant_shape(k, "operand"));
    n.emit(std::make_shared<Binary>(type, kind, c, k), {n.runtime_input(1 - k)});
}

RELPROP_REGISTER_OP(Mul) {
    OpInfo info = binary_info(OpType::Mul, "Mul", "Mul");
    info.import = [](OnnxNode& n) { import_binary(n, OpType::Mul); };
    info.samples = [] { return binary_samples(OpType::Mul, BinaryKind::Mul, -1.0, 1.0); };
    return info;
}

RELPROP_REGISTER_OP(Sub) {
    OpInfo info = binary_info(OpType::Sub, "Sub", "Sub");
    info.import = [](OnnxNode& n) { import_binary(n, OpType::Sub); };
    info.samples = [] { return binary_samples(OpType::Sub, BinaryKind::Sub, -1.0, 1.0); };
    return info;
}

RELPROP_REGISTER_OP(Div) {
    OpInfo info = binary_info(OpType::Div, "Div", "Div");
    info.import = [](OnnxNode& n) { import_binary(n, OpType::Div); };
    info.samples = [] { return binary_samples(OpType::Div, BinaryKind::Div, 0.5, 1.5); };
    return info;
}

RELPROP_REGISTER_OP(AddConstant) {
    OpInfo info = binary_info(OpType::AddConstant, "AddConstant", "");
    info.samples = [] { return binary_samples(OpType::AddConstant, BinaryKind::Add, -1.0, 1.0); };
    return info;  // made by the Add unit (layers/add.cpp) for a constant addend that is not a bias
}

}  // namespace relprop
