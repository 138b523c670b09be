// Small ONNX models built in tests with the protobuf classes (ModelBuilder), and the checks the op tests run
// on them: the emitted op list, and every node's CPU forward against the naive double references followed by
// a finite, non-zero LRP explanation.
#pragma once

#include <onnx/onnx_pb.h>

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "engine/executor.h"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/reference/naive.h"

namespace relprop::test {

using namespace relprop::ref;


struct ModelBuilder {
    onnx::ModelProto m;
    std::mt19937 rng{7};

    ModelBuilder(int opset, const std::vector<int64_t>& input) {
        m.set_ir_version(8);
        auto* o = m.add_opset_import();
        o->set_domain("");
        o->set_version(opset);
        auto* in = m.mutable_graph()->add_input();
        in->set_name("x");
        auto* tt = in->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(onnx::TensorProto::FLOAT);
        for (int64_t d : input) {  // -1: a symbolic batch
            auto* dim = tt->mutable_shape()->add_dim();
            if (d < 0)
                dim->set_dim_param("N");
            else
                dim->set_dim_value(d);
        }
    }
    onnx::NodeProto& node(const std::string& type, std::vector<std::string> inputs, std::vector<std::string> outputs) {
        auto* n = m.mutable_graph()->add_node();
        n->set_op_type(type);
        n->set_name(outputs.at(0));
        for (auto& i : inputs) n->add_input(i);
        for (auto& o : outputs) n->add_output(o);
        return *n;
    }
    static void ints(onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
        auto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t x : v) a->add_ints(x);
    }
    static void i(onnx::NodeProto& n, const std::string& name, int64_t v) {
        auto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }
    static void f(onnx::NodeProto& n, const std::string& name, float v) {
        auto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(v);
    }
    void floats(const std::string& name, std::vector<int64_t> dims, std::vector<float> v = {}) {
        auto* t = m.mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        int64_t n = 1;
        for (int64_t d : dims) t->add_dims(d), n *= d;
        std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
        if (v.empty())
            for (int64_t k = 0; k < n; ++k) v.push_back(dist(rng));
        for (float x : v) t->add_float_data(x);
    }
    /// A 1-D int64 constant, or a scalar (rank 0; one value).
    void int64s(const std::string& name, std::vector<int64_t> v, bool scalar = false) {
        auto* t = m.mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::INT64);
        if (!scalar) t->add_dims(static_cast<int64_t>(v.size()));
        for (int64_t x : v) t->add_int64_data(x);
    }
    OnnxModel import(const std::string& output) {
        m.mutable_graph()->add_output()->set_name(output);
        return parse_onnx(m.SerializeAsString(), "new_ops.onnx");
    }
    /// The model with graph output `output`, written to `path`; returns the path.
    std::string save(const std::string& path, const std::string& output) {
        m.mutable_graph()->add_output()->set_name(output);
        std::ofstream(path, std::ios::binary) << m.SerializeAsString();
        return path;
    }
};

// The op names, joined by spaces (readable in a failed CHECK).
inline std::string op_list(const Graph& g) {
    std::string ops;
    for (const Node& n : g.nodes()) ops += (ops.empty() ? "" : " ") + std::string(op_name(n.op->type()));
    return ops;
}

// CPU forward vs the naive double forward of every node; then an LRP explanation is finite.
inline void check_forward_and_explain(const OnnxModel& model, const Shape& input) {
    auto graph = std::make_shared<const Graph>(model.graph);
    std::mt19937 rng(3);
    const Dense x = random_dense(input, rng);
    auto backend = make_backend("cpu");
    const Executor ex(*graph, *backend);
    const Activations acts = ex.forward({x.to_tensor()});
    const std::vector<Dense> ref = naive_graph_forward(*graph, {x});
    for (const Node& n : graph->nodes()) {
        CAPTURE(n.name);
        const Dense& r = ref[static_cast<size_t>(n.output)];
        CHECK(max_abs_diff(Dense::from(acts[n.output]), r) <= 1e-5 * (1.0 + max_abs(r)));
    }
    Plan plan(graph, assign_rules(*graph, "epsilon-plus-flat"), *backend);
    Explainer explainer(graph, *backend);
    const Explanation e = explainer.explain(explainer.forward(x.to_tensor()), plan);
    double total = 0.0;
    for (int64_t k = 0; k < e.relevance.numel(); ++k) {
        REQUIRE(std::isfinite(e.relevance[k]));
        total += std::abs(e.relevance[k]);
    }
    CHECK(total > 0.0);
}


}  // namespace relprop::test
