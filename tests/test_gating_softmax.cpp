// PRelu, Gather with a constant index, MatMul over the last axis of N-D values, Softmax, and the opt-in rules
// for products (mul-signal, mul-uniform, pass for scaling by a constant): ONNX import, hand calculations, a
// model ending in a Softmax explained at its logits or at its probabilities (API and command line), and
// `relprop check` on a squeeze-excitation block naming the Mul node that creates relevance under the gradient
// and conserving it under the two opt-in rules.
#include <doctest/doctest.h>

#include <relprop/relprop.hpp>

#include <cmath>
#include <sstream>

#include "layers/binary.h"
#include "layers/linear.h"
#include "rules/composite.h"
#include "rules/rules.h"
#include "tests/cli_run.h"
#include "tests/fixtures.h"
#include "tests/onnx_builder.h"

using namespace relprop;
using namespace relprop::test;

namespace {

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
    }
}

// The relevance `rule` sends to each input of `op` (inputs x, relevance r at the output).
std::vector<std::vector<float>> propagate(const Rule& rule, const Op& op, const std::vector<Tensor>& x, const Tensor& r) {
    auto backend = make_backend("cpu");
    auto prop = rule.prepare(op, *backend);
    std::vector<std::vector<float>> out;
    for (const Tensor& t : prop->propagate(*backend, x, op.forward(*backend, x), r)) out.push_back(t.to_vector());
    return out;
}

double sum(const std::vector<float>& v) {
    double s = 0.0;
    for (float x : v) s += x;
    return s;
}

// The closing "ratio R" of `relprop check`: input relevance / output relevance.
double total_ratio(const std::string& output) {
    const size_t at = output.rfind("ratio ");
    REQUIRE(at != std::string::npos);
    return std::stod(output.substr(at + 6));
}

// The line of `relprop check`'s table for node `name`.
std::string table_line(const std::string& output, const std::string& name) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (line.find("  " + name + " ") != std::string::npos) return line;
    FAIL("no line for node " << name << " in:\n" << output);
    return "";
}

}  // namespace

TEST_CASE("PRelu: per-channel slope as torch exports it, forward by hand, Pass in the composites") {
    ModelBuilder b(13, {-1, 3, 1, 2});
    b.floats("slope", {3, 1, 1}, {0.25f, 0.5f, 2.0f});
    b.node("PRelu", {"x", "slope"}, {"p"});
    b.node("Flatten", {"p"}, {"flat"});
    b.floats("fc", {6, 2});
    b.node("MatMul", {"flat", "fc"}, {"y"});
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "PRelu Flatten Linear");
    CHECK(assign_rules(model.graph, "epsilon-plus").rules[0]->describe() == "Pass()");
    auto backend = make_backend("cpu");
    const Op& prelu = *model.graph.nodes()[0].op;
    // x = (-2, 4 | -2, -1 | 3, -0.5): negative entries times their channel's slope 0.25, 0.5, 2.
    const Tensor x({1, 3, 1, 2}, {-2, 4, -2, -1, 3, -0.5f});
    check_close(prelu.forward(*backend, {x}).to_vector(), {-0.5, 4, -1, -0.5, 3, -1});
    // VJP: gy where x > 0, slope·gy elsewhere.
    const Tensor gy({1, 3, 1, 2}, {1, 1, 1, 1, 1, 1});
    check_close(prelu.backward(*backend, {x}, Tensor(), gy).at(0).to_vector(), {0.25, 1, 0.5, 0.5, 1, 2});
    check_forward_and_explain(model, {2, 3, 1, 2});
    // A slope that does not broadcast to the input names the node and the expected shape.
    ModelBuilder bad(13, {1, 3, 2, 2});
    bad.floats("slope", {5});
    bad.node("PRelu", {"x", "slope"}, {"y"});
    CHECK_THROWS_WITH_AS(bad.import("y"), doctest::Contains("node 'y' (PRelu): PRelu: the slope [5] does not broadcast"),
                         Error);
}

TEST_CASE("Gather: a constant 1-D index with negative and repeated entries, a scalar index; the VJP scatter-adds") {
    ModelBuilder b(13, {-1, 4, 3});
    b.int64s("pick", {2, 0, -1, 2});
    auto& g = b.node("Gather", {"x", "pick"}, {"rows"});
    ModelBuilder::i(g, "axis", 1);
    b.int64s("one", {1}, true);
    auto& g2 = b.node("Gather", {"rows", "one"}, {"col"});
    ModelBuilder::i(g2, "axis", -1);
    b.floats("fc", {4, 2});
    b.node("MatMul", {"col", "fc"}, {"y"});
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "Gather Gather Linear");
    CHECK(model.graph.values()[model.graph.nodes()[0].output].shape == Shape{1, 4, 3});
    CHECK(model.graph.values()[model.graph.nodes()[1].output].shape == Shape{1, 4});
    auto backend = make_backend("cpu");
    // x[n, r, c] = 10·r + c: rows 2, 0, 3, 2, then column 1.
    Tensor x({1, 4, 3});
    for (int64_t r = 0; r < 4; ++r)
        for (int64_t c = 0; c < 3; ++c) x[r * 3 + c] = static_cast<float>(10 * r + c);
    const Op& rows = *model.graph.nodes()[0].op;
    const Op& col = *model.graph.nodes()[1].op;
    const Tensor picked = rows.forward(*backend, {x});
    check_close(col.forward(*backend, {picked}).to_vector(), {21, 1, 31, 21});
    // The gradient of (1, 2, 3, 4)·y: row 2 was picked twice (1 + 4 = 5), row 0 once (2), row 3 once (3).
    const Tensor gy({1, 4}, {1, 2, 3, 4});
    const Tensor g_rows = col.backward(*backend, {picked}, Tensor(), gy).at(0);
    check_close(rows.backward(*backend, {x}, picked, g_rows).at(0).to_vector(), {0, 2, 0, 0, 0, 0, 0, 5, 0, 0, 3, 0});
    check_forward_and_explain(model, {2, 4, 3});
    ModelBuilder bad(13, {1, 4, 3});
    bad.int64s("far", {4});
    auto& gb = bad.node("Gather", {"x", "far"}, {"y"});
    ModelBuilder::i(gb, "axis", 1);
    CHECK_THROWS_WITH_AS(bad.import("y"), doctest::Contains("Gather index 4 is out of range for axis 1 of size 4"), Error);
}

TEST_CASE("MatMul over the last axis of a channels-last value: one Linear, its bias folded, Epsilon per row by hand") {
    // ConvNeXt's pointwise conv: NCHW → NHWC, MatMul [C, M] + bias, back to NCHW.
    ModelBuilder b(13, {-1, 2, 2, 3});
    auto& t = b.node("Transpose", {"x"}, {"nhwc"});
    ModelBuilder::ints(t, "perm", {0, 2, 3, 1});
    b.floats("w", {2, 5});
    b.node("MatMul", {"nhwc", "w"}, {"mm"});
    b.floats("bias", {5});
    b.node("Add", {"mm", "bias"}, {"pw"});
    auto& back = b.node("Transpose", {"pw"}, {"nchw"});
    ModelBuilder::ints(back, "perm", {0, 3, 1, 2});
    b.node("GlobalAveragePool", {"nchw"}, {"gap"});
    b.node("Flatten", {"gap"}, {"flat"});
    b.floats("fc", {5, 3});
    b.node("MatMul", {"flat", "fc"}, {"y"});
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "Transpose Linear Transpose GlobalAvgPool Flatten Linear");
    CHECK(model.graph.nodes()[1].op->params().count("bias") == 1);
    CHECK(model.graph.values()[model.graph.nodes()[1].output].shape == Shape{1, 2, 3, 5});
    CHECK(assign_rules(model.graph, "epsilon-plus").rules[1]->describe().rfind("Epsilon", 0) == 0);
    check_forward_and_explain(model, {2, 2, 2, 3});

    // Epsilon on W = (1, 2), no bias, rows x = (1, 1) and (3, 1): z = 3 and 5; R = 1 per row gives
    // R_x = x·w/z = (1/3, 2/3) and (3/5, 2/5), as two separate dense layers would.
    const Linear lin(Tensor({1, 2}, {1, 2}), std::nullopt);
    const Tensor x({1, 2, 2}, {1, 1, 3, 1});
    const auto r = propagate(*make_epsilon(0.0f), lin, {x}, Tensor({1, 2, 1}, {1, 1}));
    check_close(r.at(0), {1.0 / 3, 2.0 / 3, 0.6, 0.4});
}

TEST_CASE("Softmax import: opset 13 over one axis, opset 11 over the flattened trailing axes") {
    for (int opset : {11, 13}) {
        CAPTURE(opset);
        ModelBuilder b(opset, {-1, 2, 3});
        auto& s = b.node("Softmax", {"x"}, {"y"});
        ModelBuilder::i(s, "axis", 1);
        const OnnxModel model = b.import("y");
        CHECK(op_list(model.graph) == "Softmax");
        auto backend = make_backend("cpu");
        // x = (0, ln 2, ln 3 | ln 4, 0, 0)
        const Tensor x({1, 2, 3}, {0, std::log(2.0f), std::log(3.0f), std::log(4.0f), 0, 0});
        const std::vector<float> y = model.graph.nodes()[0].op->forward(*backend, {x}).to_vector();
        if (opset == 13)  // over axis 1 per column: (1, 4), (2, 1), (3, 1)
            check_close(y, {0.2, 2.0 / 3, 0.75, 0.8, 1.0 / 3, 0.25});
        else  // over all 6 values: 1, 2, 3, 4, 1, 1 of 12
            check_close(y, {1.0 / 12, 2.0 / 12, 3.0 / 12, 4.0 / 12, 1.0 / 12, 1.0 / 12});
    }
    // Logits far apart: shifted per row, no overflow or 0/0.
    const Tensor big({2, 2}, {1000, 999, -1000, -1001});
    ModelBuilder b(13, {-1, 2});
    b.node("Softmax", {"x"}, {"y"});
    auto backend = make_backend("cpu");
    const OnnxModel model = b.import("y");
    const double p = 1.0 / (1.0 + std::exp(-1.0));
    check_close(model.graph.nodes()[0].op->forward(*backend, {big}).to_vector(), {p, 1 - p, p, 1 - p});
}

namespace {

// x [1, 2] → Linear W = ((1, 0), (0, 1), (1, 1)), no bias → Softmax: for x = (1, 2) the logits are (1, 2, 3).
Model softmax_classifier() {
    GraphBuilder g;
    g.input("x", {1, 2});
    g.node("fc", std::make_shared<Linear>(Tensor({3, 2}, {1, 0, 0, 1, 1, 1}), std::nullopt), {"x"}, "logits");
    ModelBuilder b(13, {1, 3});
    b.node("Softmax", {"x"}, {"p"});
    g.node("prob", b.import("p").graph.nodes()[0].op, {"logits"}, "p");
    g.output("p");
    LoadOptions lo;
    lo.canonize = "none";
    return Model::from_graph(g.build(), lo);
}

}  // namespace

TEST_CASE("a model ending in Softmax is explained at its logits by default, at its probabilities when asked") {
    const Model model = softmax_classifier();
    const Tensor x({1, 2}, {1, 2});
    AttributorOptions o;
    o.composite = "epsilon-plus";
    const Attributor at_logits(model, o);
    CHECK(at_logits.explained().output_kind == "logits");
    CHECK(at_logits.explained().value == "logits");
    CHECK(at_logits.explained().graph->nodes().size() == 1);
    const Result a = at_logits(x);
    CHECK(a.explained_output == "logits");
    check_close(a.logits.to_vector(), {1, 2, 3});
    REQUIRE(a.targets == std::vector<int64_t>{2});
    // Epsilon on the target logit z2 = x0 + x1 = 3 with R = 1: R_x = (1/3, 2/3).
    check_close(a.relevance.to_vector(), {1.0 / 3, 2.0 / 3});

    o.explain_output = ExplainOutput::Probabilities;
    const Attributor at_probs(model, o);
    CHECK(at_probs.explained().output_kind == "probabilities");
    CHECK(at_probs.rules()->rules.at(1) == nullptr);  // the Softmax: the gradient
    const Result b = at_probs(x);
    CHECK(b.explained_output == "probabilities");
    const double e1 = std::exp(-2.0), e2 = std::exp(-1.0), s = 1 + e1 + e2;
    const double p0 = e1 / s, p1 = e2 / s, p2 = 1 / s;  // 0.0900, 0.2447, 0.6652
    check_close(b.logits.to_vector(), {p0, p1, p2});
    REQUIRE(b.targets == std::vector<int64_t>{2});
    // The Softmax's gradient at the target: R_z = p2·(e2 − p) = (−p2·p0, −p2·p1, p2·(1 − p2)); then Epsilon:
    // R_x0 = x0·R_z0/z0 + x0·R_z2/z2, R_x1 = x1·R_z1/z1 + x1·R_z2/z2.
    const double r0 = -p2 * p0, r1 = -p2 * p1, r2 = p2 * (1 - p2);
    check_close(b.relevance.to_vector(), {r0 / 1 + r2 / 3, 2 * r1 / 2 + 2 * r2 / 3}, 1e-4);
}

TEST_CASE("a Softmax that is not at the output is kept with the gradient rule") {
    GraphBuilder g;
    g.input("x", {1, 2});
    ModelBuilder sb(13, {1, 2});
    sb.node("Softmax", {"x"}, {"p"});
    g.node("prob", sb.import("p").graph.nodes()[0].op, {"x"}, "p");
    g.node("fc", std::make_shared<Linear>(Tensor({1, 2}, {2, 1}), std::nullopt), {"p"}, "y");
    g.output("y");
    LoadOptions lo;
    lo.canonize = "none";
    AttributorOptions o;
    o.composite = "epsilon-plus";
    const Attributor explain(Model::from_graph(g.build(), lo), o);
    CHECK(explain.explained().output_kind == "output");
    CHECK(explain.rules()->rules.at(0) == nullptr);
    const Result r = explain(Tensor({1, 2}, {1, 2}));
    CHECK(r.explained_output == "output");
    // p = softmax(1, 2); y = 2·p0 + p1. Epsilon: R_p = (2·p0/y, p1/y); the Softmax's VJP: R_x = p ⊙ (R_p − <R_p, p>).
    const double p0 = 1 / (1 + std::exp(1.0)), p1 = 1 - p0, y = 2 * p0 + p1;
    const double q0 = 2 * p0 / y, q1 = p1 / y, dot = q0 * p0 + q1 * p1;
    check_close(r.logits.to_vector(), {y});
    check_close(r.relevance.to_vector(), {p0 * (q0 - dot), p1 * (q1 - dot)}, 1e-4);
}

TEST_CASE("mul-signal, mul-uniform and pass on products, by hand; the gradient for comparison") {
    // s [1, 2, 1, 2] = (1, 2 | 3, 4), gate g [1, 2, 1, 1] = (0.5 | 0.25), R = y = s·g = (0.5, 1 | 0.75, 1), ΣR = 3.25.
    const Binary mul(OpType::Mul, BinaryKind::Mul);
    const Tensor s({1, 2, 1, 2}, {1, 2, 3, 4}), g({1, 2, 1, 1}, {0.5f, 0.25f});
    const Tensor r({1, 2, 1, 2}, {0.5f, 1, 0.75f, 1});
    auto sig = propagate(*make_mul_signal(), mul, {s, g}, r);
    check_close(sig.at(0), {0.5, 1, 0.75, 1});
    check_close(sig.at(1), {0, 0});
    // The signal is the larger operand wherever it is: gate first.
    sig = propagate(*make_mul_signal(), mul, {g, s}, r);
    check_close(sig.at(0), {0, 0});
    check_close(sig.at(1), {0.5, 1, 0.75, 1});
    // Equal shapes: the first input.
    sig = propagate(*make_mul_signal(), mul, {s, s}, r);
    check_close(sig.at(0), {0.5, 1, 0.75, 1});
    check_close(sig.at(1), {0, 0, 0, 0});
    // Uniform: half to each, the gate's half summed over its broadcast axis: (0.25 + 0.5 | 0.375 + 0.5).
    const auto uni = propagate(*make_mul_uniform(), mul, {s, g}, r);
    check_close(uni.at(0), {0.25, 0.5, 0.375, 0.5});
    check_close(uni.at(1), {0.75, 0.875});
    CHECK(sum(uni[0]) + sum(uni[1]) == doctest::Approx(3.25));
    // The gradient: R_s = R·g = (0.25, 0.5 | 0.1875, 0.25), R_g = Σ R·s = (2.5 | 6.25): 9.9375 out of 3.25.
    const auto grad = propagate(*make_gradient(), mul, {s, g}, r);
    check_close(grad.at(0), {0.25, 0.5, 0.1875, 0.25});
    check_close(grad.at(1), {2.5, 6.25});
    // Scaling by a constant (a layer scale): pass, mul-signal and mul-uniform all leave R where it is.
    const Binary scale(OpType::Mul, BinaryKind::Mul, Tensor({2, 1, 1}, {0.5f, 3}), 1);
    const Binary divide(OpType::Div, BinaryKind::Div, Tensor({}, {4}), 1);
    for (const auto& rule : {make_pass(), make_mul_signal(), make_mul_uniform()})
        check_close(propagate(*rule, scale, {s}, r).at(0), {0.5, 1, 0.75, 1});
    check_close(propagate(*make_pass(), divide, {s}, r).at(0), {0.5, 1, 0.75, 1});
    // Where they do not apply, an Error says so.
    auto backend = make_backend("cpu");
    CHECK_THROWS_WITH_AS(make_mul_signal()->prepare(divide, *backend),
                         doctest::Contains("applies only to Mul nodes, not to Div (for a division by a constant use pass)"),
                         Error);
    CHECK_THROWS_WITH_AS(make_pass()->prepare(mul, *backend), doctest::Contains("single-input ops"), Error);
    CHECK(parse_override("Mul=mul-signal").rule->describe() == "MulSignal()");
    CHECK(parse_override("#3=mul_uniform").rule->describe() == "MulUniform()");
}

namespace {

// A squeeze-excitation block as torchvision's: features → global mean → 1×1 conv → Sigmoid gate → features·gate,
// then a classifier. No biases, so every other node conserves relevance under epsilon-plus.
std::string se_model(const std::string& path) {
    ModelBuilder b(13, {1, 2, 3, 3});
    b.floats("w1", {2, 2, 1, 1}, {0.9f, 0.2f, 0.3f, 0.8f});
    b.node("Conv", {"x", "w1"}, {"feat"});
    b.node("Relu", {"feat"}, {"act"});
    b.node("GlobalAveragePool", {"act"}, {"squeeze"});
    b.floats("w2", {2, 2, 1, 1}, {0.5f, -0.4f, 0.3f, 0.6f});
    b.node("Conv", {"squeeze", "w2"}, {"excite"});
    b.node("Sigmoid", {"excite"}, {"gate"});
    b.node("Mul", {"act", "gate"}, {"scaled"});
    b.node("GlobalAveragePool", {"scaled"}, {"pooled"});
    b.node("Flatten", {"pooled"}, {"flat"});
    b.floats("fc", {3, 2}, {1.0f, 0.5f, 0.25f, 1.0f, 0.5f, 0.5f});
    auto& gemm = b.node("Gemm", {"flat", "fc"}, {"y"});
    ModelBuilder::i(gemm, "transB", 1);
    return b.save(path, "y");
}

}  // namespace

TEST_CASE("relprop check shows which node loses or creates relevance: gradient, mul-signal, mul-uniform on the SE Mul") {
    const std::string model = se_model((temp_dir() / "se.onnx").string());
    const std::string x = (temp_dir() / "se.npy").string();
    Tensor input({1, 2, 3, 3});
    for (int64_t i = 0; i < input.numel(); ++i) input[i] = 0.1f + 0.05f * static_cast<float>(i % 7);
    write_npy(x, input);
    const std::string base = "check " + model + " " + x + " --composite epsilon-plus --canonize none";

    // The gradient on the product: R_s = R·g with a Sigmoid gate g < 1, R_g = Σ R·s into the gate branch; here
    // the sum is 0.81 of R (the output is the only other node that would differ, and it conserves).
    CliResult r = relprop_cli(base);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    MESSAGE(r.output);
    CHECK(table_line(r.output, "scaled").find("loses") != std::string::npos);
    CHECK(r.output.find("nodes that lose or create relevance: #5 'scaled' (Mul) loses") != std::string::npos);
    CHECK(table_line(r.output, "pooled").find(" ok") != std::string::npos);
    CHECK(table_line(r.output, "gate").find(" ok") != std::string::npos);
    CHECK(total_ratio(r.output) < 0.9);

    for (const std::string rule : {"mul-signal", "mul-uniform"}) {
        CAPTURE(rule);
        r = relprop_cli(base + " --rule Mul=" + rule);
        REQUIRE_MESSAGE(r.code == 0, r.output);
        MESSAGE(r.output);
        CHECK(table_line(r.output, "scaled").find(" ok") != std::string::npos);
        CHECK(r.output.find("every node conserves relevance") != std::string::npos);
        CHECK(total_ratio(r.output) == doctest::Approx(1.0).epsilon(1e-4));  // ZPlus's stabilizer aside
    }
    // mul-signal: the gate branch gets nothing.
    r = relprop_cli(base + " --rule Mul=mul-signal");
    CHECK(table_line(r.output, "gate").find("  0  ") != std::string::npos);
}

TEST_CASE("command line: a model ending in Softmax says what it explains (text and --json)") {
    ModelBuilder b(13, {1, 2});
    b.floats("w", {2, 3}, {1, 0, 1, 0, 1, 1});
    b.node("MatMul", {"x", "w"}, {"logits"});
    b.node("Softmax", {"logits"}, {"prob"});
    const std::string model = b.save((temp_dir() / "softmax.onnx").string(), "prob");
    const std::string x = (temp_dir() / "softmax_x.npy").string();
    write_npy(x, Tensor({1, 2}, {1, 2}));
    CliResult r = relprop_cli("explain " + model + " " + x + " --composite epsilon-plus");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("explaining the logits: the input of the final Softmax 'prob' (--explain-output probabilities "
                        "keeps the Softmax)") != std::string::npos);
    CHECK(r.output.find("predicted class 2 (logit 3)") != std::string::npos);
    CHECK(r.output.find("relevance sum 1") != std::string::npos);
    r = relprop_cli("explain " + model + " " + x + " --composite epsilon-plus --explain-output probabilities --json");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("\"explained_output\": \"probabilities\"") != std::string::npos);
    CHECK(r.output.find("\"explained_value\": \"prob\"") != std::string::npos);
    r = relprop_cli("explain " + model + " " + x + " --json");
    CHECK(r.output.find("\"explained_output\": \"logits\"") != std::string::npos);
    r = relprop_cli("check " + model + " " + x + " --composite epsilon-plus");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("explaining the logits") != std::string::npos);
    CHECK(r.output.find("  logits ") != std::string::npos);  // the MatMul's line; the Softmax has none
    CHECK(r.output.find("  prob ") == std::string::npos);
}

TEST_CASE("torch export (tools/make_gating_fixture.py): PRelu, SE gate, channels-last Linear, Gather, Softmax at "
          "opsets 11 and 13 match torch's outputs and autograd gradients, at the logits and at the probabilities") {
    const std::string dir = fixture_path("gating/");
    const Tensor x = read_npy(dir + "input.npy");
    for (int opset : {11, 13}) {
        CAPTURE(opset);
        const Model model = Model::load(dir + "gated_softmax_opset" + std::to_string(opset) + ".onnx");
        std::string ops;
        for (const Node& n : model.graph().nodes()) ops += std::string(op_name(n.op->type())) + " ";
        CHECK(ops == "Conv PRelu ReduceMean Conv Relu Conv Sigmoid Mul Transpose Linear ReduceMean Gather Flatten "
                     "Linear Softmax ");
        for (const auto& [output, name] : {std::pair{ExplainOutput::Logits, std::string("logits")},
                                           std::pair{ExplainOutput::Probabilities, std::string("probabilities")}}) {
            CAPTURE(name);
            AttributorOptions o;
            o.method = Method::Gradient;
            o.explain_output = output;
            const Result r = Attributor(model, o)(x);
            CHECK(r.explained_output == name);
            const double out_err = max_rel_error(r.logits, read_npy(dir + name + ".npy"));
            const double grad_err = max_rel_error(r.relevance, read_npy(dir + "gradient_" + name + ".npy"));
            MESSAGE("opset " << opset << " " << name << ": output rel. error " << out_err << ", gradient " << grad_err);
            CHECK(out_err <= 1e-5);
            CHECK(grad_err <= 1e-5);
        }
        // LRP with the gate as a constant: a finite relevance.
        AttributorOptions o;
        o.rules = {"Mul=mul-signal"};
        const Result r = Attributor(model, o)(x);
        for (int64_t i = 0; i < r.relevance.numel(); ++i) REQUIRE(std::isfinite(r.relevance[i]));
    }
}
