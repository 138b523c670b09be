// The op harness: every registered op's samples (layers/op_registry.h), run on the CPU backend and checked
// against the op's naive double-precision reference — forward to 1e-5·(1 + max|ref|), the VJP against central
// finite differences of the reference (h = 1e-6, 1e-4·(1 + max|fd|)), and for linear-type ops the adjoint
// identity <A x, g> = <x, Aᵀ g>. A new op is covered by declaring samples; tests/cuda runs the same samples
// on the GPU against the CPU. Also: every op has an entry, and ops with ONNX bindings are covered here or by
// the older per-op suites (test_ops_vs_reference, test_ops_gradcheck).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <string>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "engine/executor.h"
#include "engine/graph.h"
#include "layers/activation.h"
#include "layers/op_registry.h"
#include "layers/transpose.h"
#include "tests/reference/naive.h"
#include "tests/reference/op_setup.h"

using namespace relprop;
using namespace relprop::ref;

namespace {

constexpr double kStep = 1e-6;

// The ops whose forward/VJP have their own suites (test_ops_vs_reference.cpp, test_ops_gradcheck.cpp).
const std::set<OpType> kCoveredElsewhere = {OpType::Conv,    OpType::Linear,  OpType::BatchNorm,    OpType::MaxPool,
                                            OpType::AvgPool, OpType::GlobalAvgPool, OpType::Add,    OpType::Concat,
                                            OpType::Flatten, OpType::Reshape, OpType::Pad,          OpType::Identity,
                                            OpType::ChannelRelu};

struct SampleErrors {
    double forward = 0.0, backward = 0.0, adjoint = 0.0;
};

SampleErrors run_sample(const OpSample& s, std::mt19937& rng) {
    SampleErrors e;
    std::vector<Dense> xs;
    std::vector<Tensor> ts;
    for (const Shape& shape : s.inputs) {
        xs.push_back(random_dense(shape, rng, s.lo, s.hi));
        ts.push_back(xs.back().to_tensor());
    }
    const Dense ref = naive_forward(*s.op, xs);
    const Tensor y = s.op->forward(cpu(), ts);
    REQUIRE(y.shape() == ref.shape);
    REQUIRE(s.op->infer_shape(s.inputs) == ref.shape);
    e.forward = max_abs_diff(Dense::from(y), ref) / (1.0 + max_abs(ref));

    const Dense g = random_dense(ref.shape, rng);
    const std::vector<Tensor> grads = s.op->backward(cpu(), ts, y, g.to_tensor());
    REQUIRE(grads.size() == xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
        REQUIRE(grads[i].shape() == xs[i].shape);
        Dense fd(xs[i].shape);
        std::vector<Dense> moved = xs;
        for (int64_t j = 0; j < xs[i].numel(); ++j) {
            moved[i][j] = xs[i][j] + kStep;
            const double fp = dot(g, naive_forward(*s.op, moved));
            moved[i][j] = xs[i][j] - kStep;
            const double fm = dot(g, naive_forward(*s.op, moved));
            moved[i][j] = xs[i][j];
            fd[j] = (fp - fm) / (2.0 * kStep);
        }
        e.backward = std::max(e.backward, max_abs_diff(Dense::from(grads[i]), fd) / (1.0 + max_abs(fd)));
    }
    if (const LinearOp* lin = s.op->as_linear(); lin && !s.op->params().count("bias")) {
        const std::vector<Tensor> t = lin->transpose_with(cpu(), s.inputs, s.op->params(), g.to_tensor());
        double lhs = dot(Dense::from(y), g), rhs = 0.0;
        for (size_t i = 0; i < xs.size(); ++i) rhs += dot(Dense::from(ts[i]), Dense::from(t[i]));
        e.adjoint = std::abs(lhs - rhs) / (1.0 + std::abs(lhs));
    }
    return e;
}

}  // namespace

TEST_CASE("op harness: every registered op's samples match its naive reference and finite differences") {
    std::mt19937 rng(2026);
    int samples = 0;
    for (const OpInfo& info : op_registry()) {
        if (!info.samples) continue;
        for (const OpSample& s : info.samples()) {
            CAPTURE(s.label);
            REQUIRE(s.op->type() == info.type);
            const SampleErrors e = run_sample(s, rng);
            std::printf("harness %-45s forward %.1e  vjp %.1e  adjoint %.1e\n", s.label.c_str(), e.forward, e.backward,
                        e.adjoint);
            CHECK(e.forward <= 1e-5);
            CHECK(e.backward <= 1e-4);
            CHECK(e.adjoint <= 1e-5);
            ++samples;
        }
    }
    std::fflush(stdout);
    CHECK(samples >= 40);
}

TEST_CASE("op harness: every op is registered under its own type, and every op has samples or its own suite") {
    const auto& reg = op_registry();
    REQUIRE(reg.size() == op_names().size());
    std::set<std::string> names;
    for (size_t i = 0; i < reg.size(); ++i) {
        CAPTURE(reg[i].name);
        CHECK(static_cast<size_t>(reg[i].type) == i);
        CHECK(names.insert(reg[i].name).second);
        if (!kCoveredElsewhere.count(reg[i].type)) {
            CHECK(static_cast<bool>(reg[i].samples));
            CHECK(static_cast<bool>(reg[i].reference));
        }
    }
}

TEST_CASE("op harness: a sample whose backward were wrong would fail (the harness can fail)") {
    // A deliberately wrong op: Sigmoid's forward with Tanh's derivative.
    class Wrong final : public Activation {
    public:
        Wrong() : Activation(OpType::Sigmoid, {UnaryKind::Sigmoid}) {}
        std::vector<Tensor> backward(Backend& b, const std::vector<Tensor>& in, const Tensor&,
                                     const Tensor& gy) const override {
            Tensor gx = b.empty(in.at(0).shape());
            b.unary_backward({UnaryKind::Tanh}, in[0], gy, gx);
            return {gx};
        }
    };
    std::mt19937 rng(1);
    const OpSample s{"wrong", std::make_shared<Activation>(OpType::Sigmoid, UnaryFn{UnaryKind::Sigmoid}), {{3, 4}}, -2, 2};
    const SampleErrors good = run_sample(s, rng);
    CHECK(good.backward <= 1e-4);
    const OpSample w{"wrong", std::make_shared<Wrong>(), {{3, 4}}, -2, 2};
    const SampleErrors bad = run_sample(w, rng);
    CHECK(bad.backward > 1e-2);
}

namespace {

// The CPU backend without the gather family (a backend that has not implemented it yet).
class NoGatherBackend final : public Backend {
public:
    Device device() const override { return m_cpu->device(); }
    std::string name() const override { return "cpu without gather"; }
    unsigned kernels() const override { return Kernel::All & ~Kernel::Gather; }
    Tensor empty(const Shape& s) override { return m_cpu->empty(s); }
    Tensor upload(const Tensor& t) override { return m_cpu->upload(t); }
    Tensor download(const Tensor& t) override { return m_cpu->download(t); }
    void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, const ConvGeometry& g, Tensor& y) override {
        m_cpu->conv2d_forward(x, w, b, g, y);
    }
    void conv2d_backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) override {
        m_cpu->conv2d_backward_data(gy, w, g, gx);
    }
    void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) override { m_cpu->linear_forward(x, w, b, y); }
    void linear_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx) override { m_cpu->linear_backward_data(gy, w, gx); }
    void pool2d_forward(PoolKind k, const Tensor& x, const PoolGeometry& g, Tensor& y) override { m_cpu->pool2d_forward(k, x, g, y); }
    void pool2d_backward(PoolKind k, const Tensor& x, const Tensor& gy, const PoolGeometry& g, Tensor& gx) override {
        m_cpu->pool2d_backward(k, x, gy, g, gx);
    }
    void fill(Tensor& t, float v) override { m_cpu->fill(t, v); }
    void copy(const Tensor& s, Tensor& d) override { m_cpu->copy(s, d); }
    void add(const Tensor& a, const Tensor& b, Tensor& o) override { m_cpu->add(a, b, o); }
    void mul(const Tensor& a, const Tensor& b, Tensor& o) override { m_cpu->mul(a, b, o); }
    void unary(const UnaryFn& f, const Tensor& x, Tensor& y) override { m_cpu->unary(f, x, y); }
    void unary_backward(const UnaryFn& f, const Tensor& x, const Tensor& gy, Tensor& gx) override {
        m_cpu->unary_backward(f, x, gy, gx);
    }
    void binary(BinaryKind k, const Tensor& a, const Tensor& b, Tensor& o) override { m_cpu->binary(k, a, b, o); }
    void reduce_sum(const Tensor& x, Tensor& o) override { m_cpu->reduce_sum(x, o); }
    void gather(const Tensor&, const StridedMap&, Tensor&) override { FAIL("gather called"); }
    void scatter(const Tensor&, const StridedMap&, Tensor&) override { FAIL("scatter called"); }
    void channel_affine(const Tensor& x, const Tensor& s, const Tensor* t, Tensor& y) override { m_cpu->channel_affine(x, s, t, y); }
    void clamp(const Tensor& x, float lo, float hi, Tensor& y) override { m_cpu->clamp(x, lo, hi, y); }
    void scale(const Tensor& x, float a, Tensor& y) override { m_cpu->scale(x, a, y); }
    void stabilize(const Tensor& z, float e, Tensor& y) override { m_cpu->stabilize(z, e, y); }
    void stabilized_divide(const Tensor& n, const Tensor& d, float e, Tensor& o) override { m_cpu->stabilized_divide(n, d, e, o); }
    void multiply_accumulate(const Tensor& a, const Tensor* b, float c, Tensor& acc) override {
        m_cpu->multiply_accumulate(a, b, c, acc);
    }
    std::pair<float, float> min_max(const Tensor& t) override { return m_cpu->min_max(t); }
    void sign_mask(const Tensor& z, int s, const Tensor& x, Tensor& y) override { m_cpu->sign_mask(z, s, x, y); }
    void copy_blocks(const Tensor& s, int64_t so, int64_t ss, Tensor& d, int64_t doff, int64_t ds, int64_t c, int64_t b) override {
        m_cpu->copy_blocks(s, so, ss, d, doff, ds, c, b);
    }

private:
    std::unique_ptr<Backend> m_cpu = make_backend("cpu");
};

}  // namespace

TEST_CASE("Backend::supports compares the op's kernel families with the backend's; the executor refuses the rest") {
    NoGatherBackend partial;
    CHECK(partial.supports(OpType::Sigmoid));
    CHECK(partial.supports(OpType::Mul));
    CHECK_FALSE(partial.supports(OpType::Transpose));
    CHECK_FALSE(partial.supports(OpType::Slice));
    CHECK(cpu().supports(OpType::Transpose));
    for (const OpInfo& info : op_registry()) CHECK(cpu().supports(info.type));
    const Graph g = GraphBuilder()
                        .input("x", {1, 2, 3})
                        .node("act", std::make_shared<Activation>(OpType::Tanh, UnaryFn{UnaryKind::Tanh}), {"x"}, "a")
                        .node("perm", std::make_shared<Transpose>(std::vector<int64_t>{0, 2, 1}), {"a"}, "y")
                        .output("y")
                        .build();
    CHECK_THROWS_WITH_AS(Executor(g, partial), doctest::Contains("node 'perm' (Transpose) is not supported by the cpu without gather backend"),
                         Error);
    CHECK_NOTHROW(Executor(g, cpu()));
}
