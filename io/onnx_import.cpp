#include "io/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <new>
#include <set>
#include <sys/stat.h>

#include "engine/error.h"
#include "engine/finite.h"
#include "io/onnx_constants.h"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/batchnorm.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/identity.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/pad.h"
#include "layers/relu.h"
#include "layers/reshape.h"

namespace relprop {

namespace {

using onnx::AttributeProto;
using onnx::NodeProto;

const char* const kBrokenWeights =
    "the model's weights are broken (allow them with ImportOptions::allow_nonfinite or --allow-nonfinite)";

// Typed access to a node's attributes, with the ONNX defaults given by the caller. A float attribute
// that is NaN/Inf (Gemm's alpha/beta, BatchNormalization's epsilon: they scale the weights) is refused
// like a non-finite weight, unless allowed.
class Attributes {
public:
    Attributes(const NodeProto& node, bool allow_nonfinite) : m_node(node), m_allow_nonfinite(allow_nonfinite) {}

    const AttributeProto* find(const std::string& name, AttributeProto::AttributeType type) const {
        for (const auto& a : m_node.attribute()) {
            if (a.name() != name) continue;
            if (a.type() != type && a.type() != AttributeProto::UNDEFINED)
                throw Error("attribute '" + name + "' has type " + AttributeProto::AttributeType_Name(a.type()) +
                            ", expected " + AttributeProto::AttributeType_Name(type));
            return &a;
        }
        return nullptr;
    }
    int64_t i(const std::string& name, int64_t fallback) const {
        const auto* a = find(name, AttributeProto::INT);
        return a ? in_range(name, a->i()) : fallback;
    }
    float f(const std::string& name, float fallback) const {
        const auto* a = find(name, AttributeProto::FLOAT);
        if (a && !std::isfinite(a->f()) && !m_allow_nonfinite)
            throw Error("attribute '" + name + "' is " + std::to_string(a->f()) + "; " + kBrokenWeights);
        return a ? a->f() : fallback;
    }
    std::string s(const std::string& name, const std::string& fallback) const {
        const auto* a = find(name, AttributeProto::STRING);
        return a ? a->s() : fallback;
    }
    std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> fallback) const {
        const auto* a = find(name, AttributeProto::INTS);
        if (!a) return fallback;
        std::vector<int64_t> v;
        for (int64_t x : a->ints()) v.push_back(in_range(name, x));
        return v;
    }

private:
    // Sizes, strides, pads and axes beyond ±2³¹ are never meaningful; refusing them keeps the shape
    // arithmetic far from overflow.
    static int64_t in_range(const std::string& name, int64_t v) {
        if (v > (int64_t{1} << 31) || v < -(int64_t{1} << 31))
            throw Error("attribute '" + name + "' has an out-of-range value " + std::to_string(v));
        return v;
    }

    const NodeProto& m_node;
    bool m_allow_nonfinite;
};

std::array<int64_t, 2> pair(const std::vector<int64_t>& v, const char* what) {
    if (v.size() != 2)
        throw Error(std::string(what) + " must have 2 values (2-D spatial ops only), got " + std::to_string(v.size()));
    return {v[0], v[1]};
}

// Explicit pads from ONNX's pads / auto_pad for a 2-D window op on input [N, C, H, W].
void resolve_pads(const Attributes& at, const Shape& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> dilation, std::array<int64_t, 2>& begin, std::array<int64_t, 2>& end) {
    const std::string auto_pad = at.s("auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") {
        const std::vector<int64_t> pads = at.ints("pads", {0, 0, 0, 0});
        if (pads.size() != 4) throw Error("pads must have 4 values [top, left, bottom, right]");
        begin = {pads[0], pads[1]};
        end = {pads[2], pads[3]};
    } else if (auto_pad == "VALID") {
        begin = end = {0, 0};
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        if (x.size() != 4)
            throw Error("auto_pad " + auto_pad + " needs a 4-D input [N, C, H, W], got " + shape_str(x));
        for (int i = 0; i < 2; ++i)
            if (stride[i] < 1 || dilation[i] < 1 || kernel[i] < 1)
                throw Error("kernel " + std::to_string(kernel[i]) + ", stride " + std::to_string(stride[i]) +
                            " and dilation " + std::to_string(dilation[i]) + " must all be >= 1");
        for (int i = 0; i < 2; ++i) {
            const int64_t in = x.at(2 + i), out = (in + stride[i] - 1) / stride[i];
            const int64_t total = std::max<int64_t>(0, (out - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - in);
            const int64_t small = total / 2;
            begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
            end[i] = total - begin[i];
        }
    } else {
        throw Error("auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
}

const char* const kIrOps[] = {"Conv", "Gemm", "MatMul", "Add", "BatchNormalization", "MaxPool", "AveragePool",
                              "GlobalAveragePool", "Pad", "Concat", "Relu", "Flatten", "Reshape", "Identity", "Dropout"};

std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
    return s;
}

class Importer {
public:
    Importer(onnx::ModelProto& model, std::string source, const ImportOptions& options)
        : m_model(model), m_source(std::move(source)), m_options(options) {
        m_limits.max_elements = options.max_tensor_elements;
        m_limits.max_folded_elements = options.max_folded_elements;
    }

    OnnxModel run() {
        OnnxModel result;
        for (const auto& opset : m_model.opset_import())
            if (opset.domain().empty() || opset.domain() == "ai.onnx") result.opset = opset.version();
        if (result.opset == 0) throw Error(m_source + ": the model declares no default-domain opset");
        if (result.opset < 7 || result.opset > 21)
            throw Error(m_source + ": opset " + std::to_string(result.opset) + " is not supported (7 to 21)");
        m_opset = result.opset;
        result.producer = m_model.producer_name() + " " + m_model.producer_version();
        const onnx::GraphProto& g = m_model.graph();
        if (g.node_size() > m_options.max_nodes)
            throw Error(m_source + ": the graph has " + std::to_string(g.node_size()) + " nodes, more than the limit of " +
                        std::to_string(m_options.max_nodes) + limit_hint("max_nodes"));

        read_initializers(g);
        read_input(g);
        for (const NodeProto& n : g.node())
            for (const std::string& in : n.input()) ++m_uses[in];
        for (const auto& out : g.output()) ++m_uses[out.name()];

        std::set<std::string> names;
        for (int k = 0; k < g.node_size(); ++k) {
            const NodeProto& n = g.node(k);
            const std::string suffix = std::to_string(k);
            std::string name = n.name();
            if (name.empty()) name = n.op_type() + '_' + suffix;
            if (names.count(name)) name.append(1, '_').append(suffix);
            names.insert(name);
            try {
                map_node(n, name);
            } catch (const Error& e) {
                throw Error(m_source + ": node '" + name + "' (" + n.op_type() + "): " + e.what());
            }
        }

        if (g.output_size() == 0) throw Error(m_source + ": the graph has no output");
        const std::string& output = g.output(0).name();
        if (g.output_size() > 1)
            m_notes.push_back("the model has " + std::to_string(g.output_size()) + " outputs; explaining the first, '" +
                              output + "'");
        if (!m_producer.count(output))
            throw Error(m_source + ": the graph output '" + output + "' is " +
                        (m_constants.count(output) ? "a constant" : "not produced by any node"));

        GraphBuilder builder;
        builder.input(m_input, m_input_shape);
        for (const Emitted& e : m_nodes)
            if (!e.removed) builder.node(e.name, e.op, e.inputs, e.output);
        builder.output(output);
        result.graph = builder.build();
        result.notes = std::move(m_notes);
        return result;
    }

private:
    struct Emitted {
        std::string name;
        std::shared_ptr<const Op> op;
        std::vector<std::string> inputs;
        std::string output;
        bool removed = false;
    };

    void read_initializers(const onnx::GraphProto& g) {
        int64_t bytes = 0;
        for (const auto& t : g.initializer()) {
            const int64_t n = checked_numel(Shape(t.dims().begin(), t.dims().end()), m_limits,
                                            m_source + ": initializer '" + t.name() + "'");
            if (n > (INT64_MAX - bytes) / 4)
                throw Error(m_source + ": the initializers' sizes overflow" + limit_hint("max_parameter_bytes"));
            bytes += 4 * n;
            if (bytes > m_options.max_parameter_bytes)
                throw Error(m_source + ": the initializers hold at least " + std::to_string(bytes) +
                            " bytes (as float32), more than the limit of " + std::to_string(m_options.max_parameter_bytes) +
                            limit_hint("max_parameter_bytes"));
        }
        for (auto& t : *m_model.mutable_graph()->mutable_initializer()) {
            if (t.name().empty()) throw Error(m_source + ": an initializer has no name");
            try {
                m_constants[t.name()] = constant_from_proto(t, m_limits, m_notes);
            } catch (const Error& e) {
                throw Error(m_source + ": initializer " + e.what());
            }
            onnx::TensorProto().Swap(&t);  // free the file's copy of the data now: halves the peak memory
        }
    }

    void read_input(const onnx::GraphProto& g) {
        std::vector<const onnx::ValueInfoProto*> inputs;
        for (const auto& in : g.input())
            if (!m_constants.count(in.name())) inputs.push_back(&in);
        if (inputs.size() != 1) {
            std::vector<std::string> names;
            for (const auto* in : inputs) names.push_back("'" + in->name() + "'");
            throw Error(m_source + ": relprop needs a model with exactly one input, this one has " +
                        std::to_string(inputs.size()) + (names.empty() ? "" : " (" + join(names) + ")"));
        }
        const onnx::ValueInfoProto& in = *inputs[0];
        m_input = in.name();
        if (!in.type().has_tensor_type()) throw Error(m_source + ": input '" + m_input + "' is not a tensor");
        const auto& tt = in.type().tensor_type();
        if (tt.elem_type() != onnx::TensorProto::FLOAT)
            throw Error(m_source + ": input '" + m_input + "' has element type " +
                        onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(tt.elem_type())) +
                        "; relprop needs float32");
        if (!m_options.input_shape.empty()) {
            m_input_shape = m_options.input_shape;
        } else {
            if (!tt.has_shape()) throw Error(m_source + ": input '" + m_input + "' declares no shape; give the input shape");
            for (int d = 0; d < tt.shape().dim_size(); ++d) {
                const auto& dim = tt.shape().dim(d);
                if (dim.has_dim_value() && dim.dim_value() > 0) {
                    m_input_shape.push_back(dim.dim_value());
                } else if (d == 0) {
                    m_input_shape.push_back(-1);  // symbolic batch
                } else {
                    throw Error(m_source + ": input '" + m_input + "' has a symbolic dimension " + std::to_string(d) +
                                (dim.has_dim_param() ? " ('" + dim.dim_param() + "')" : "") +
                                "; relprop needs fixed sizes apart from the batch: give the input shape");
                }
            }
        }
        for (size_t d = 0; d < m_input_shape.size(); ++d)
            if (m_input_shape[d] <= 0 && !(d == 0 && m_input_shape[d] == -1))
                throw Error(m_source + ": input shape " + shape_str(m_input_shape) + " is invalid");
        if (m_input_shape.empty()) throw Error(m_source + ": input '" + m_input + "' is a scalar");
        Shape s1 = m_input_shape, s2 = m_input_shape;
        if (s1[0] == -1) {
            s1[0] = 1;
            s2[0] = 2;
        }
        shape_numel(s2);
        m_shape1[m_input] = s1;
        m_shape2[m_input] = s2;
        m_producer[m_input] = SIZE_MAX;
    }

    bool is_constant(const std::string& v) const { return m_constants.count(v) > 0; }
    bool is_runtime(const std::string& v) const { return m_producer.count(v) > 0; }

    void require_known(const NodeProto& n) const {
        for (const std::string& in : n.input())
            if (!in.empty() && !is_constant(in) && !is_runtime(in))
                throw Error("input '" + in + "' is not an initializer, a graph input or the output of an earlier node");
    }

    const Constant& constant(const NodeProto& n, int k, const char* what) const {
        if (k >= n.input_size() || n.input(k).empty()) throw Error(std::string("missing input: ") + what);
        auto it = m_constants.find(n.input(k));
        if (it == m_constants.end())
            throw Error(std::string(what) + " '" + n.input(k) + "' must be a constant (initializer or constant subgraph)");
        return it->second;
    }
    bool has_input(const NodeProto& n, int k) const { return k < n.input_size() && !n.input(k).empty(); }

    // A float parameter; non-finite values are refused (unless allowed), naming the tensor.
    Tensor parameter(const NodeProto& n, int k, const char* what) const {
        const Constant& c = constant(n, k, what);
        Tensor t = c.floats();
        if (!m_options.allow_nonfinite) require_finite(t, std::string(what) + " '" + n.input(k) + "'", kBrokenWeights);
        return t.reshaped(c.shape.empty() ? Shape{1} : c.shape);
    }

    // A parameter computed at import from finite tensors and attributes (Gemm's alpha·B and beta·C,
    // BatchNorm's scale/√(var + ε)) can still overflow to Inf: refused like a non-finite weight.
    void require_finite_folded(const Tensor& t, const std::string& what) const {
        if (!m_options.allow_nonfinite) require_finite(t, what, kBrokenWeights);
    }

    const std::string& runtime_input(const NodeProto& n, int k) const {
        if (k >= n.input_size() || n.input(k).empty()) throw Error("missing input " + std::to_string(k));
        if (!is_runtime(n.input(k)))
            throw Error("input '" + n.input(k) + "' is a constant; relprop needs it to come from the model's input");
        return n.input(k);
    }

    void only_first_output(const NodeProto& n) const {
        for (int k = 1; k < n.output_size(); ++k)
            if (!n.output(k).empty() && m_uses.count(n.output(k)))
                throw Error("output " + std::to_string(k) + " ('" + n.output(k) + "') is used, relprop supports only the first");
    }

    // Adds a node to the IR, inferring its shapes for batch 1 and 2.
    void emit(const std::string& name, std::shared_ptr<const Op> op, std::vector<std::string> inputs,
              const std::string& output) {
        std::vector<Shape> in1, in2;
        for (const std::string& v : inputs) {
            in1.push_back(m_shape1.at(v));
            in2.push_back(m_shape2.at(v));
        }
        m_shape1[output] = op->infer_shape(in1);
        m_shape2[output] = op->infer_shape(in2);
        if (shape_numel(m_shape1[output]) > m_options.max_value_elements)
            throw Error("output '" + output + "' would have shape " + shape_str(m_shape1[output]) + " per sample, more than " +
                        "the limit of " + std::to_string(m_options.max_value_elements) + " elements" +
                        limit_hint("max_value_elements"));
        if (m_producer.count(output) || m_constants.count(output))
            throw Error("value '" + output + "' is produced twice");
        m_producer[output] = m_nodes.size();
        m_nodes.push_back({name, std::move(op), std::move(inputs), output, false});
    }

    // The emitted node producing `value` if it is of type T and `value` has no other use.
    template <class T>
    Emitted* single_use_producer(const std::string& value) {
        auto it = m_producer.find(value);
        if (it == m_producer.end() || it->second == SIZE_MAX || m_uses[value] != 1) return nullptr;
        Emitted& e = m_nodes[it->second];
        return dynamic_cast<const T*>(e.op.get()) ? &e : nullptr;
    }

    void map_node(const NodeProto& n, const std::string& name) {
        if (!n.domain().empty() && n.domain() != "ai.onnx")
            throw Error("op from domain '" + n.domain() + "' is not supported");
        require_known(n);
        const std::string& op = n.op_type();
        bool all_constant = true;
        for (const std::string& in : n.input()) all_constant = all_constant && (in.empty() || is_constant(in));
        const auto& foldable = foldable_ops();
        const bool can_fold = std::find(foldable.begin(), foldable.end(), op) != foldable.end();
        if (can_fold && (all_constant || op == "Shape")) {
            if (op == "Shape" && !all_constant) return fold_shape(n);
            std::vector<const Constant*> in;
            for (const std::string& v : n.input()) in.push_back(v.empty() ? nullptr : &m_constants.at(v));
            std::vector<Constant> out = fold_constant_node(n, in, m_limits, m_notes);
            for (size_t k = 0; k < out.size() && k < static_cast<size_t>(n.output_size()); ++k)
                if (!n.output(k).empty()) m_constants[n.output(k)] = std::move(out[k]);
            return;
        }
        if (n.output_size() < 1 || n.output(0).empty()) throw Error("the node has no output");
        const std::string& out = n.output(0);
        Attributes at(n, m_options.allow_nonfinite);
        if (op == "Conv") return map_conv(n, name, at);
        if (op == "Gemm") {
            if (at.i("transA", 0) != 0) throw Error("Gemm with transA=1 is not supported");
            const Tensor b = parameter(n, 1, "B");
            std::optional<Tensor> c;
            if (has_input(n, 2)) c = parameter(n, 2, "C");
            const float alpha = at.f("alpha", 1.0f), beta = at.f("beta", 1.0f);
            auto linear = make_gemm(b.rank() == 2 ? b : b.reshaped({b.numel(), 1}), c, at.i("transB", 0) != 0, alpha, beta);
            require_finite_folded(linear->params().at("weight"), "alpha * B (alpha = " + std::to_string(alpha) + ")");
            if (linear->params().count("bias"))
                require_finite_folded(linear->params().at("bias"), "beta * C (beta = " + std::to_string(beta) + ")");
            return emit(name, linear, {runtime_input(n, 0)}, out);
        }
        if (op == "MatMul") {
            const Tensor b = parameter(n, 1, "B (the right-hand side)");
            if (b.rank() != 2) throw Error("MatMul needs a 2-D constant right-hand side, got " + shape_str(b.shape()));
            return emit(name, make_matmul(b), {runtime_input(n, 0)}, out);
        }
        if (op == "Add") return map_add(n, name);
        if (op == "BatchNormalization") {
            only_first_output(n);
            if (at.i("training_mode", 0) != 0) throw Error("BatchNormalization in training mode is not supported");
            auto bn = std::make_shared<BatchNorm>(parameter(n, 1, "scale"), parameter(n, 2, "B"), parameter(n, 3, "mean"),
                                                  parameter(n, 4, "var"), at.f("epsilon", 1e-5f));
            require_finite_folded(bn->affine_scale(), "scale / sqrt(var + epsilon)");
            require_finite_folded(bn->affine_shift(), "B - mean * scale / sqrt(var + epsilon)");
            return emit(name, bn, {runtime_input(n, 0)}, out);
        }
        if (op == "MaxPool") {
            only_first_output(n);
            if (at.i("storage_order", 0) != 0) throw Error("MaxPool storage_order=1 is not supported");
            PoolAttributes p = pool_attributes(n, at, true);
            return emit(name, std::make_shared<MaxPool>(p), {runtime_input(n, 0)}, out);
        }
        if (op == "AveragePool") return map_avgpool(n, name, at);
        if (op == "GlobalAveragePool") return emit(name, std::make_shared<GlobalAvgPool>(), {runtime_input(n, 0)}, out);
        if (op == "Pad") return map_pad(n, name, at);
        if (op == "Concat") {
            std::vector<std::string> inputs;
            for (int k = 0; k < n.input_size(); ++k) inputs.push_back(runtime_input(n, k));
            if (!at.find("axis", AttributeProto::INT)) throw Error("Concat needs the attribute 'axis'");
            return emit(name, std::make_shared<Concat>(at.i("axis", 1)), inputs, out);
        }
        if (op == "Relu") return emit(name, std::make_shared<Relu>(), {runtime_input(n, 0)}, out);
        if (op == "Flatten") return emit(name, std::make_shared<Flatten>(at.i("axis", 1)), {runtime_input(n, 0)}, out);
        if (op == "Reshape") {
            std::vector<int64_t> target = constant(n, 1, "shape").ints("Reshape shape");
            const Shape& x1 = m_shape1.at(runtime_input(n, 0));
            const Shape& x2 = m_shape2.at(runtime_input(n, 0));
            for (size_t d = 0; d < target.size(); ++d) {
                if (target[d] != kBatchDim) continue;
                if (d != 0 || m_input_shape[0] != -1 || x1.empty() || x1[0] != 1 || x2[0] != 2)
                    throw Error("a Reshape target that uses the batch size is only supported as its first dimension");
                target[d] = 0;  // copy the input's batch dimension
            }
            return emit(name, std::make_shared<Reshape>(target, at.i("allowzero", 0) != 0), {runtime_input(n, 0)}, out);
        }
        if (op == "Identity" || op == "Dropout") {
            only_first_output(n);
            return emit(name, std::make_shared<Identity>(), {runtime_input(n, 0)}, out);
        }
        std::vector<std::string> supported = supported_onnx_ops();
        if (can_fold)
            throw Error(op + " is supported only on constants (it is evaluated at import time), not on the model's "
                             "data; supported ops: " + join(supported));
        throw Error("unsupported op '" + op + "'; supported ops: " + join(supported));
    }

    // Shape of a value computed from the model's input: its static shape, with the batch size symbolic.
    void fold_shape(const NodeProto& n) {
        const Shape& s1 = m_shape1.at(runtime_input(n, 0));
        const Shape& s2 = m_shape2.at(runtime_input(n, 0));
        Constant c;
        c.integer = true;
        for (size_t d = 0; d < s1.size(); ++d) {
            if (s1[d] == s2[d])
                c.i.push_back(s1[d]);
            else if (s1[d] == 1 && s2[d] == 2)
                c.i.push_back(kBatchDim);
            else
                throw Error("the shape of '" + n.input(0) + "' depends on the batch size in a way relprop cannot fold");
        }
        Attributes at(n, m_options.allow_nonfinite);
        const int64_t rank = static_cast<int64_t>(c.i.size());
        int64_t start = at.i("start", 0), end = at.i("end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = std::clamp<int64_t>(start, 0, rank);
        end = std::clamp<int64_t>(end, start, rank);
        c.i = std::vector<int64_t>(c.i.begin() + start, c.i.begin() + end);
        c.shape = {static_cast<int64_t>(c.i.size())};
        m_constants[n.output(0)] = c;
    }

    void map_conv(const NodeProto& n, const std::string& name, const Attributes& at) {
        Tensor w = parameter(n, 1, "weight");
        if (w.rank() != 4)
            throw Error("only 2-D convolution is supported (weight [O, C/group, KH, KW]); weight '" + n.input(1) +
                        "' has shape " + shape_str(w.shape()));
        std::optional<Tensor> b;
        if (has_input(n, 2)) b = parameter(n, 2, "bias");
        std::string x = runtime_input(n, 0);
        const std::vector<int64_t> kernel = at.ints("kernel_shape", {w.dim(2), w.dim(3)});
        if (kernel != std::vector<int64_t>{w.dim(2), w.dim(3)})
            throw Error("kernel_shape does not match the weight " + shape_str(w.shape()));
        ConvGeometry g;
        g.stride = pair(at.ints("strides", {1, 1}), "strides");
        g.dilation = pair(at.ints("dilations", {1, 1}), "dilations");
        g.groups = at.i("group", 1);
        resolve_pads(at, m_shape1.at(x), {w.dim(2), w.dim(3)}, g.stride, g.dilation, g.pad_begin, g.pad_end);
        if (Emitted* pad = single_use_producer<Pad>(x)) {  // zero padding then conv = conv with more padding
            const auto& p = dynamic_cast<const Pad&>(*pad->op);
            for (int i = 0; i < 2; ++i) {
                g.pad_begin[i] += p.pad_begin()[i];
                g.pad_end[i] += p.pad_end()[i];
            }
            pad->removed = true;
            m_notes.push_back("Pad '" + pad->name + "' folded into Conv '" + name + "'");
            x = pad->inputs[0];
        }
        emit(name, std::make_shared<Conv>(w, b, g), {x}, n.output(0));
    }

    PoolAttributes pool_attributes(const NodeProto& n, const Attributes& at, bool dilations) const {
        PoolAttributes p;
        if (!at.find("kernel_shape", AttributeProto::INTS)) throw Error("kernel_shape is required");
        p.kernel = pair(at.ints("kernel_shape", {}), "kernel_shape");
        p.stride = pair(at.ints("strides", {1, 1}), "strides");
        p.dilation = pair(at.ints("dilations", {1, 1}), "dilations");
        if (!dilations && p.dilation != std::array<int64_t, 2>{1, 1})
            throw Error("AveragePool with dilations is not supported");
        p.ceil_mode = at.i("ceil_mode", 0) != 0;
        resolve_pads(at, m_shape1.at(runtime_input(n, 0)), p.kernel, p.stride, p.dilation, p.pad_begin, p.pad_end);
        return p;
    }

    void map_avgpool(const NodeProto& n, const std::string& name, const Attributes& at) {
        PoolAttributes p = pool_attributes(n, at, false);
        bool include_pad = at.i("count_include_pad", 0) != 0;
        std::string x = runtime_input(n, 0);
        // Zero padding then AveragePool = AveragePool counting that padding, if the pool's own padding is
        // counted too (or absent) — PyTorch exports AvgPool2d(padding=p) this way.
        if (Emitted* pad = single_use_producer<Pad>(x)) {
            const bool own_pads = p.pad_begin != std::array<int64_t, 2>{0, 0} || p.pad_end != std::array<int64_t, 2>{0, 0};
            const auto& pp = dynamic_cast<const Pad&>(*pad->op);
            PoolAttributes folded = p;
            for (int i = 0; i < 2; ++i) {
                folded.pad_begin[i] += pp.pad_begin()[i];
                folded.pad_end[i] += pp.pad_end()[i];
            }
            if (!own_pads || include_pad) {
                try {
                    auto op = std::make_shared<AvgPool>(folded, true);
                    op->infer_shape({m_shape1.at(pad->inputs[0])});
                    pad->removed = true;
                    m_notes.push_back("Pad '" + pad->name + "' folded into AveragePool '" + name + "'");
                    return emit(name, op, {pad->inputs[0]}, n.output(0));
                } catch (const Error&) {
                    // not exact here (e.g. ceil_mode past the padding): keep the Pad node
                }
            }
        }
        emit(name, std::make_shared<AvgPool>(p, include_pad), {x}, n.output(0));
    }

    void map_pad(const NodeProto& n, const std::string& name, const Attributes& at) {
        const std::string mode = at.s("mode", "constant");
        if (mode != "constant") throw Error("Pad mode '" + mode + "' is not supported (only constant zero padding)");
        std::vector<int64_t> pads;
        float value = 0.0f;
        if (m_opset < 11) {
            pads = at.ints("pads", {});
            value = at.f("value", 0.0f);
        } else {
            pads = constant(n, 1, "pads").ints("Pad pads");
            if (has_input(n, 2)) value = parameter(n, 2, "constant_value")[0];
        }
        if (value != 0.0f) throw Error("Pad with value " + std::to_string(value) + " is not supported (only zero)");
        const std::string& x = runtime_input(n, 0);
        const int64_t rank = static_cast<int64_t>(m_shape1.at(x).size());
        std::vector<int64_t> full(2 * rank, 0);
        if (has_input(n, 3)) {  // opset 18 axes
            const std::vector<int64_t> axes = constant(n, 3, "axes").ints("Pad axes");
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
        if (rank != 4 || full[0] || full[1] || full[4] || full[5])
            throw Error("Pad is supported on the spatial axes of a 4-D input only, got pads " + shape_str(full));
        emit(name, std::make_shared<Pad>(std::array<int64_t, 2>{full[2], full[3]},
                                         std::array<int64_t, 2>{full[6], full[7]}),
             {x}, n.output(0));
    }

    void map_add(const NodeProto& n, const std::string& name) {
        if (n.input_size() != 2) throw Error("Add needs two inputs");
        const bool c0 = is_constant(n.input(0)), c1 = is_constant(n.input(1));
        if (!c0 && !c1) return emit(name, std::make_shared<Add>(), {n.input(0), n.input(1)}, n.output(0));
        // A constant added to a Gemm/MatMul/Conv output with no other use is that layer's bias.
        const std::string& x = n.input(c0 ? 1 : 0);
        const Tensor bias = parameter(n, c0 ? 0 : 1, "addend");
        if (Emitted* lin = single_use_producer<Linear>(x)) {
            const Tensor& w = lin->op->params().at("weight");
            const int64_t m = w.dim(0);
            if (bias.numel() == m || bias.numel() == 1) {
                Tensor b = lin->op->params().count("bias") ? lin->op->params().at("bias").clone() : Tensor({m});
                for (int64_t i = 0; i < m; ++i) b[i] += bias[bias.numel() == 1 ? 0 : i];
                return fold_bias(*lin, std::make_shared<Linear>(w, b), n.output(0), name);
            }
        }
        if (Emitted* conv = single_use_producer<Conv>(x)) {
            const auto& c = dynamic_cast<const Conv&>(*conv->op);
            const Tensor& w = c.params().at("weight");
            const int64_t o = w.dim(0);
            const Shape& s = bias.shape();
            const bool per_channel = bias.numel() == 1 ||
                                     (bias.numel() == o && (s == Shape{o, 1, 1} || s == Shape{1, o, 1, 1}));
            if (per_channel) {
                Tensor b = c.params().count("bias") ? c.params().at("bias").clone() : Tensor({o});
                for (int64_t i = 0; i < o; ++i) b[i] += bias[bias.numel() == 1 ? 0 : i];
                return fold_bias(*conv, std::make_shared<Conv>(w, b, c.geometry()), n.output(0), name);
            }
        }
        throw Error("Add of a constant is supported only as the bias of a preceding Gemm, MatMul or Conv whose output "
                    "has no other use");
    }

    void fold_bias(Emitted& layer, std::shared_ptr<const Op> op, const std::string& output, const std::string& add) {
        m_notes.push_back("Add '" + add + "' folded into the bias of '" + layer.name + "'");
        m_producer.erase(layer.output);
        layer.op = std::move(op);
        layer.output = output;
        m_producer[output] = static_cast<size_t>(&layer - m_nodes.data());
        const std::vector<Shape> in1{m_shape1.at(layer.inputs[0])}, in2{m_shape2.at(layer.inputs[0])};
        m_shape1[output] = layer.op->infer_shape(in1);
        m_shape2[output] = layer.op->infer_shape(in2);
    }

    onnx::ModelProto& m_model;
    std::string m_source;
    ImportOptions m_options;
    ConstantLimits m_limits;
    int64_t m_opset = 0;
    std::map<std::string, Constant> m_constants;
    std::map<std::string, Shape> m_shape1, m_shape2;  // runtime values, for batch 1 and 2
    std::map<std::string, size_t> m_producer;         // runtime value → emitted node (SIZE_MAX: graph input)
    std::map<std::string, int> m_uses;
    std::vector<Emitted> m_nodes;
    std::vector<std::string> m_notes;
    std::string m_input;
    Shape m_input_shape;
};

}  // namespace

std::vector<std::string> supported_onnx_ops() {
    std::vector<std::string> ops(std::begin(kIrOps), std::end(kIrOps));
    for (const std::string& f : foldable_ops())
        if (std::find(ops.begin(), ops.end(), f) == ops.end()) ops.push_back(f + " (constants)");
    return ops;
}

namespace {

// The 2 GiB protobuf limit (and an empty file) checked before parsing.
void check_size(uint64_t size, const std::string& source) {
    if (size == 0) throw Error(source + ": the file is empty");
    if (size > static_cast<uint64_t>(INT_MAX))
        throw Error(source + ": " + std::to_string(size) + " bytes, more than the 2 GiB a protobuf (ONNX) file can "
                             "hold (relprop does not read ONNX external data)");
}

// Every import ends here, whether parsed from memory (load_onnx_buffer, parse_onnx) or from a file.
OnnxModel import_model(const std::string& source, const ImportOptions& options,
                       const std::function<bool(onnx::ModelProto&)>& parse) {
    try {
        onnx::ModelProto model;
        if (!parse(model))
            throw Error(source + ": not a valid ONNX model (the protobuf data does not parse: truncated or not ONNX)");
        if (!model.has_graph()) throw Error(source + ": not an ONNX model (it has no graph)");
        return Importer(model, source, options).run();
    } catch (const std::bad_alloc&) {
        throw Error(source + ": out of memory while importing the model");
    }
}

OnnxModel import_buffer(const void* data, size_t size, const std::string& source, const ImportOptions& options) {
    check_size(size, source);
    return import_model(source, options,
                        [&](onnx::ModelProto& m) { return m.ParseFromArray(data, static_cast<int>(size)); });
}

}  // namespace

OnnxModel parse_onnx(const std::string& bytes, const std::string& source, const ImportOptions& options) {
    return import_buffer(bytes.data(), bytes.size(), source, options);
}

OnnxModel load_onnx_buffer(const void* data, size_t size, const ImportOptions& options) {
    return import_buffer(data, size, "ONNX buffer", options);
}

OnnxModel load_onnx(const std::string& path, const ImportOptions& options) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw Error(path + ": no such file");
    if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, not an ONNX file");
    check_size(static_cast<uint64_t>(st.st_size), path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot be opened for reading");
    // Parsed from the stream: the file's bytes are never held in memory twice.
    return import_model(path, options, [&](onnx::ModelProto& m) { return m.ParseFromIstream(&in); });
}

}  // namespace relprop
