#include "io/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <new>
#include <set>
#include <sys/stat.h>

#include "relprop/error.hpp"
#include "engine/finite.h"
#include "io/onnx_constants.h"
#include "io/onnx_external_data.h"
#include "io/onnx_layer_names.h"
#include "io/onnx_node.h"
#include "layers/op_registry.h"

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

std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
    return s;
}

class Importer {
public:
    Importer(onnx::ModelProto& model, std::string source, const ImportOptions& options, std::string directory)
        : m_model(model), m_source(std::move(source)), m_options(options), m_external(std::move(directory)) {
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

        for (NodeProto& n : *m_model.mutable_graph()->mutable_node())
            if (n.op_type() == "Constant")
                for (auto& a : *n.mutable_attribute())
                    if (a.has_t()) try {
                            m_external.inline_into(*a.mutable_t(), raw_element_bytes(a.t().data_type()), m_limits.max_elements);
                        } catch (const Error& e) {
                            throw Error(m_source + ": Constant node '" + n.name() + "': " + e.what());
                        }
        read_initializers(g);
        read_input(g);
        for (const NodeProto& n : g.node())
            for (const std::string& in : n.input()) ++m_uses[in];
        for (const auto& out : g.output()) ++m_uses[out.name()];

        std::set<std::string> names;
        int torch_named = 0;
        for (int k = 0; k < g.node_size(); ++k) {
            const NodeProto& n = g.node(k);
            const std::string suffix = std::to_string(k);
            std::string name = n.name();
            if (name.empty()) name = n.op_type() + '_' + suffix;
            if (const std::string keras = tf2onnx_layer_name(n); !keras.empty()) {
                m_notes.push_back("node '" + name + "' named '" + keras + "' after its weight (a layer tf2onnx fused)");
                name = keras;
            } else if (const std::string module = torch_module_name(n); !module.empty()) {
                name = module;
                ++torch_named;
            }
            if (names.count(name)) name.append(1, '_').append(suffix);
            names.insert(name);
            try {
                map_node(n, name);
            } catch (const Error& e) {
                throw Error(m_source + ": node '" + name + "' (" + n.op_type() + "): " + e.what());
            }
        }

        if (torch_named > 0)
            m_notes.push_back(std::to_string(torch_named) + " nodes named '<module>/<OpType>' after their PyTorch module "
                              "(the dynamo exporter's name_scopes metadata; a Conv or Gemm after its weight)");
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
                m_external.inline_into(t, raw_element_bytes(t.data_type()), m_limits.max_elements);
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

    // The emitted node producing `value` if `value` has no other use.
    Emitted* single_use_producer(const std::string& value) {
        auto it = m_producer.find(value);
        if (it == m_producer.end() || it->second == SIZE_MAX || m_uses[value] != 1) return nullptr;
        return &m_nodes[it->second];
    }
    Emitted& producer_of(const std::string& value) {
        Emitted* e = single_use_producer(value);
        if (!e) throw Error("internal: '" + value + "' has no single-use producer to fold into");
        return *e;
    }

    // One ONNX node as the op units' import functions see it.
    class NodeView final : public OnnxNode {
    public:
        NodeView(Importer& im, const NodeProto& n, const std::string& name)
            : m_im(im), m_n(n), m_at(n, im.m_options.allow_nonfinite), m_name(name) {}

        const std::string& op_type() const override { return m_n.op_type(); }
        const std::string& name() const override { return m_name; }
        int64_t opset() const override { return m_im.m_opset; }
        bool has_attribute(const std::string& a) const override {
            for (const auto& x : m_n.attribute())
                if (x.name() == a) return true;
            return false;
        }
        int64_t attr_int(const std::string& a, int64_t fallback) const override { return m_at.i(a, fallback); }
        float attr_float(const std::string& a, float fallback) const override { return m_at.f(a, fallback); }
        std::string attr_string(const std::string& a, const std::string& fallback) const override {
            return m_at.s(a, fallback);
        }
        std::vector<int64_t> attr_ints(const std::string& a, std::vector<int64_t> fallback) const override {
            return m_at.ints(a, std::move(fallback));
        }
        int input_count() const override { return m_n.input_size(); }
        bool has_input(int k) const override { return m_im.has_input(m_n, k); }
        bool is_constant(int k) const override { return has_input(k) && m_im.is_constant(m_n.input(k)); }
        const std::string& runtime_input(int k) const override { return m_im.runtime_input(m_n, k); }
        const Shape& shape(const std::string& value) const override { return m_im.m_shape1.at(value); }
        bool symbolic_batch() const override { return m_im.m_input_shape.at(0) == -1; }
        Tensor parameter(int k, const char* what) const override { return m_im.parameter(m_n, k, what); }
        void require_finite_folded(const Tensor& t, const std::string& what) const override {
            m_im.require_finite_folded(t, what);
        }
        Shape constant_shape(int k, const char* what) const override { return m_im.constant(m_n, k, what).shape; }
        std::vector<int64_t> constant_ints(int k, const char* what) const override {
            return m_im.constant(m_n, k, what).ints(std::string(op_type()) + " " + what);
        }
        int output_count() const override { return m_n.output_size(); }
        bool output_used(int k) const override {
            return k < m_n.output_size() && !m_n.output(k).empty() && m_im.m_uses.count(m_n.output(k));
        }
        void only_first_output() const override { m_im.only_first_output(m_n); }
        void emit(std::shared_ptr<const Op> op, std::vector<std::string> inputs, int output_index) override {
            if (output_index >= m_n.output_size() || m_n.output(output_index).empty())
                throw Error("output " + std::to_string(output_index) + " is missing");
            const std::string name = output_index == 0 ? m_name : m_name + "_" + std::to_string(output_index);
            m_im.emit(name, std::move(op), std::move(inputs), m_n.output(output_index));
        }
        void note(std::string text) override { m_im.m_notes.push_back(std::move(text)); }
        const Op* single_use_producer(const std::string& value) const override {
            Emitted* e = m_im.single_use_producer(value);
            return e ? e->op.get() : nullptr;
        }
        std::string producer_name(const std::string& value) const override { return m_im.producer_of(value).name; }
        std::vector<std::string> producer_inputs(const std::string& value) const override {
            return m_im.producer_of(value).inputs;
        }
        void remove_producer(const std::string& value) override { m_im.producer_of(value).removed = true; }
        void replace_producer(const std::string& value, std::shared_ptr<const Op> op) override {
            Emitted& layer = m_im.producer_of(value);
            const std::string& output = m_n.output(0);
            m_im.m_producer.erase(layer.output);
            layer.op = std::move(op);
            layer.output = output;
            m_im.m_producer[output] = static_cast<size_t>(&layer - m_im.m_nodes.data());
            std::vector<Shape> in1, in2;
            for (const std::string& v : layer.inputs) {
                in1.push_back(m_im.m_shape1.at(v));
                in2.push_back(m_im.m_shape2.at(v));
            }
            m_im.m_shape1[output] = layer.op->infer_shape(in1);
            m_im.m_shape2[output] = layer.op->infer_shape(in2);
        }

    private:
        Importer& m_im;
        const NodeProto& m_n;
        Attributes m_at;
        std::string m_name;
    };

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
        if (const OpInfo* info = find_onnx_op(op, m_opset)) {
            NodeView view(*this, n, name);
            return info->import(view);
        }
        std::vector<std::string> supported = supported_onnx_ops();
        if (can_fold)
            throw Error(op + " is supported only on constants (it is evaluated at import time), not on the model's "
                             "data; supported ops: " + join(supported));
        for (const OpInfo& info : op_registry())
            for (const OnnxBinding& b : info.onnx)
                if (b.op_type == op)
                    throw Error(op + " is supported from opset " + std::to_string(b.since) +
                                (b.until < (1 << 30) ? " to " + std::to_string(b.until) : "") + "; this model has opset " +
                                std::to_string(m_opset));
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

    onnx::ModelProto& m_model;
    std::string m_source;
    ImportOptions m_options;
    ConstantLimits m_limits;
    ExternalData m_external;
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
    std::vector<std::string> ops = registered_onnx_ops();
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
                             "hold; save larger models with external data (onnx.save(model, path, "
                             "save_as_external_data=True)), which relprop reads");
}

// Every import ends here, whether parsed from memory (load_onnx_buffer, parse_onnx) or from a file.
OnnxModel import_model(const std::string& source, const ImportOptions& options, const std::string& directory,
                       const std::function<bool(onnx::ModelProto&)>& parse) {
    try {
        onnx::ModelProto model;
        if (!parse(model))
            throw Error(source + ": not a valid ONNX model (the protobuf data does not parse: truncated or not ONNX)");
        if (!model.has_graph()) throw Error(source + ": not an ONNX model (it has no graph)");
        return Importer(model, source, options, directory).run();
    } catch (const std::bad_alloc&) {
        throw Error(source + ": out of memory while importing the model");
    }
}

OnnxModel import_buffer(const void* data, size_t size, const std::string& source, const ImportOptions& options) {
    check_size(size, source);
    return import_model(source, options, options.external_data_dir,
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
    std::string directory = options.external_data_dir;
    if (directory.empty()) {
        directory = std::filesystem::path(path).parent_path().string();
        if (directory.empty()) directory = ".";
    }
    return import_model(path, options, directory, [&](onnx::ModelProto& m) { return m.ParseFromIstream(&in); });
}

}  // namespace relprop
