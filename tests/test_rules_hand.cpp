// LRP rules on 1–3 unit layers, checked against hand calculations (arithmetic in the comments).
#include <doctest/doctest.h>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/linear.h"
#include "rules/rules.h"

using namespace relprop;

namespace {

// R_in of `rule` on `op` for input x and output relevance r.
std::vector<float> relevance(const Rule& rule, const Op& op, const std::vector<Tensor>& x, const Tensor& r,
                             size_t input = 0) {
    auto backend = make_backend("cpu");
    auto prop = rule.prepare(op, *backend);
    const Tensor out = op.forward(*backend, x);
    return prop->propagate(*backend, x, out, r).at(input).to_vector();
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
}

Linear dense(Shape w_shape, std::vector<float> w, std::vector<float> b) {
    const int64_t m = w_shape[0];
    return Linear(Tensor(std::move(w_shape), w), Tensor({m}, b));
}

}  // namespace

TEST_CASE("hand: AlphaBeta and ZPlus on W=(1,-1), b=-1, x=(1,1), R=f(x)=-1") {
    // z = 1 - 1 - 1 = -1. Positive part: x⁺w⁺ + b⁺ = 1; negative part: x⁺w⁻ + b⁻ = -1 - 1 = -2.
    // AlphaBeta(1,0): R_in = x⁺w⁺ · R/1 = (-1, 0).
    // AlphaBeta(2,1): 2·(-1, 0) - 1·(x⁺w⁻ · R/(-2)) = (-2, 0) - (0, -1·(-1)/(-2)) = (-2, 0.5).
    const Linear layer = dense({1, 2}, {1, -1}, {-1});
    const std::vector<Tensor> x{Tensor({1, 2}, {1, 1})};
    const Tensor r({1, 1}, {-1});
    check_close(relevance(*make_alpha_beta(1, 0), layer, x, r), {-1, 0});
    check_close(relevance(*make_alpha_beta(2, 1), layer, x, r), {-2, 0.5});
    check_close(relevance(*make_zplus(), layer, x, r), {-1, 0});
}

TEST_CASE("hand: Epsilon with epsilon=0 (LRP-0)") {
    // W = [[3,4],[5,6]], b = (7,8), x = (1,2): z = (3+8+7, 5+12+8) = (18, 25); R = (1/3, 2/3).
    // s = R/z = (1/54, 2/75). R_in = x ⊙ Wᵀs = (1·(3/54 + 5·2/75), 2·(4/54 + 6·2/75)) = (17/90, 316/675).
    const Linear layer = dense({2, 2}, {3, 4, 5, 6}, {7, 8});
    check_close(relevance(*make_epsilon(0.0f), layer, {Tensor({1, 2}, {1, 2})}, Tensor({1, 2}, {1.0f / 3, 2.0f / 3})),
                {17.0 / 90, 316.0 / 675});
}

TEST_CASE("hand: Epsilon with a large epsilon absorbs relevance") {
    // W = (2, 1), b = 0, x = (1, 1): z = 3, ε = 1: s = 1/(3+1) = 0.25; R_in = x ⊙ W·s = (0.5, 0.25).
    const Linear layer = dense({1, 2}, {2, 1}, {0});
    check_close(relevance(*make_epsilon(1.0f), layer, {Tensor({1, 2}, {1, 1})}, Tensor({1, 1}, {1})), {0.5, 0.25});
}

TEST_CASE("hand: Flat") {
    // Input 1, weights 1, no bias: z_i = 1+1 = 2 for both outputs; R = (1, 2): s = (0.5, 1);
    // R_in_j = Σ_i s_i = 1.5 for both inputs (whatever W, b and x are).
    const Linear layer = dense({2, 2}, {3, 4, 5, 6}, {7, 8});
    check_close(relevance(*make_flat(), layer, {Tensor({1, 2}, {-4, 9})}, Tensor({1, 2}, {1, 2})), {1.5, 1.5});
}

TEST_CASE("hand: WSquare") {
    // z = Σ_j W² + b² = (9+16+49, 25+36+64) = (74, 125); R = (1, 2): s = (1/74, 2/125).
    // R_in = (W²)ᵀ s = (9/74 + 25·2/125, 16/74 + 36·2/125) = (9/74 + 0.4, 16/74 + 0.576).
    const Linear layer = dense({2, 2}, {3, 4, 5, 6}, {7, 8});
    check_close(relevance(*make_wsquare(), layer, {Tensor({1, 2}, {-4, 9})}, Tensor({1, 2}, {1, 2})),
                {9.0 / 74 + 0.4, 16.0 / 74 + 0.576});
}

TEST_CASE("hand: ZBox with per-feature bounds") {
    // W = (1, -2), b = 0.5, x = (0.5, 0.25), l = (-1, 0), h = (1, 2), R = 1.
    // z₁ = 0.5 - 0.5 + 0.5 = 0.5; z₂ = w⁺l + b⁺ = -1 + 0.5 = -0.5; z₃ = w⁻h + b⁻ = -4.
    // s = 1/(0.5 + 0.5 + 4) = 0.2. R_in = x⊙w·s - l⊙w⁺·s - h⊙w⁻·s
    //   = (0.1 + 0.2 - 0, -0.1 - 0 + 0.8) = (0.3, 0.7): sums to R, the bias cancels.
    const Linear layer = dense({1, 2}, {1, -2}, {0.5f});
    check_close(relevance(*make_zbox({-1, 0}, {1, 2}), layer, {Tensor({1, 2}, {0.5f, 0.25f})}, Tensor({1, 1}, {1})),
                {0.3, 0.7});
    CHECK_THROWS_WITH_AS(relevance(*make_zbox({-1, 0, 1}, {1}), layer, {Tensor({1, 2})}, Tensor({1, 1})),
                         doctest::Contains("low bound has 3 values"), Error);
}

TEST_CASE("hand: Gamma picks the branch pair by the sign of the plain output") {
    const Linear layer = dense({1, 2}, {1, -1}, {0});
    // x = (2, 1): z = 1 > 0. Weights w + γw⁺ = (1.25, -1); z₁ = 2·1.25 - 1 = 1.5.
    // R_in = x⁺ ⊙ (w + γw⁺) / 1.5 = (2.5/1.5, -1/1.5) = (5/3, -2/3).
    check_close(relevance(*make_gamma(0.25f), layer, {Tensor({1, 2}, {2, 1})}, Tensor({1, 1}, {1})),
                {5.0 / 3, -2.0 / 3});
    // x = (1, 2): z = -1 < 0. Weights w + γw⁻ = (1, -1.25); z₃ = 1 - 2.5 = -1.5.
    // R_in = x⁺ ⊙ (w + γw⁻) / (-1.5) = (-2/3, 5/3).
    check_close(relevance(*make_gamma(0.25f), layer, {Tensor({1, 2}, {1, 2})}, Tensor({1, 1}, {1})),
                {-2.0 / 3, 5.0 / 3});
}

TEST_CASE("hand: Norm on a residual Add and on an AvgPool") {
    // Add: x₁ = (1, 3), x₂ = (1, -1), z = (2, 2), R = (1, 1): R_in₁ = (0.5, 1.5), R_in₂ = (0.5, -0.5).
    const Add add;
    const std::vector<Tensor> xs{Tensor({1, 2}, {1, 3}), Tensor({1, 2}, {1, -1})};
    const Tensor r({1, 2}, {1, 1});
    check_close(relevance(*make_norm(), add, xs, r, 0), {0.5, 1.5});
    check_close(relevance(*make_norm(), add, xs, r, 1), {0.5, -0.5});
    // AvgPool 2x2 over (1,2,3,4): z = 2.5, R = 1: each input gets x·(1/4)/2.5 = x/10.
    PoolAttributes pool;
    pool.kernel = pool.stride = {2, 2};
    const AvgPool avg(pool, false);
    check_close(relevance(*make_norm(), avg, {Tensor({1, 1, 2, 2}, {1, 2, 3, 4})}, Tensor({1, 1, 1, 1}, {1})),
                {0.1, 0.2, 0.3, 0.4});
}

TEST_CASE("hand: Pass and Gradient") {
    const Linear layer = dense({1, 2}, {2, -3}, {1});
    // Gradient: R_in = Wᵀ R = (2, -3)·0.5.
    check_close(relevance(*make_gradient(), layer, {Tensor({1, 2}, {1, 1})}, Tensor({1, 1}, {0.5f})), {1, -1.5});
    const Add add;
    CHECK_THROWS_WITH_AS(relevance(*make_pass(), add, {Tensor({1, 2}), Tensor({1, 2})}, Tensor({1, 2})),
                         doctest::Contains("Pass applies only to single-input ops"), Error);
}

TEST_CASE("stabilizer: zero and -0 count as positive") {
    auto backend = make_backend("cpu");
    Tensor z({4}, {0.0f, -0.0f, 1.0f, -1.0f}), y({4});
    backend->stabilize(z, 1e-3f, y);
    check_close(y.to_vector(), {1e-3, 1e-3, 1.001, -1.001}, 1e-6);
    Tensor one({4}, {1, 1, 1, 1}), q({4});
    backend->stabilized_divide(one, z, 1e-3f, q);
    check_close(q.to_vector(), {1e3, 1e3, 1 / 1.001, -1 / 1.001}, 1e-6);
}

TEST_CASE("rule parameters are validated and rules are parsed by name") {
    CHECK_THROWS_WITH_AS(make_alpha_beta(3, 1), doctest::Contains("alpha - beta must equal 1"), Error);
    CHECK_THROWS_WITH_AS(make_alpha_beta(-1, -2), doctest::Contains("must both be >= 0"), Error);
    CHECK_THROWS_WITH_AS(make_zbox({}, {1}), doctest::Contains("ZBox needs low and high"), Error);
    CHECK(parse_rule("epsilon")->describe() == "Epsilon(epsilon=1e-06)");
    CHECK(parse_rule("epsilon:0.25")->describe() == "Epsilon(epsilon=0.25)");
    CHECK(parse_rule("AlphaBeta:1,0,zero_bias")->describe() == "AlphaBeta(alpha=1, beta=0, zero_bias)");
    CHECK(parse_rule("alpha_beta")->describe() == "AlphaBeta(alpha=2, beta=1)");
    CHECK(parse_rule("zbox:-1/-2/-3,1/2/3")->describe() == "ZBox(low=-1/-2/-3, high=1/2/3)");
    CHECK(parse_rule("gamma:0.5")->describe() == "Gamma(gamma=0.5)");
    CHECK_THROWS_WITH_AS(parse_rule("lrp0"), doctest::Contains("rule 'lrp0' not found; known rules: epsilon, zplus"),
                         Error);
    CHECK_THROWS_WITH_AS(parse_rule("gamma:x"), doctest::Contains("'x' is not a number"), Error);
    CHECK_THROWS_WITH_AS(parse_rule("flat:1"), doctest::Contains("too many arguments"), Error);
    CHECK_THROWS_WITH_AS(parse_rule("alpha-beta:2,2"), doctest::Contains("alpha - beta must equal 1"), Error);
    // The stabilizer and zero_bias options change the numbers: W=(1,-1), b=-1, x=(1,1) under ZPlus with the
    // bias dropped: z⁺ = 1, R_in = (-1, 0) as before; with stabilizer 1: s = -1/2 → (-0.5, 0).
    const Linear layer = dense({1, 2}, {1, -1}, {-1});
    check_close(relevance(*parse_rule("zplus:stabilizer=1"), layer, {Tensor({1, 2}, {1, 1})}, Tensor({1, 1}, {-1})),
                {-0.5, 0});
}
