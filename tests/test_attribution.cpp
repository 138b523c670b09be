// Gradient and gradient×input attribution, checked by hand on a linear model.
#include <doctest/doctest.h>

#include "engine/attribution.h"
#include "engine/backend.h"
#include "relprop/error.hpp"
#include "layers/linear.h"

using namespace relprop;

namespace {

// logits = x·Wᵀ + b with W = [[1, 2, 3], [-1, 0, 4]], b = [0.5, -0.5].
Graph linear_model() {
    auto fc = std::make_shared<Linear>(Tensor({2, 3}, {1, 2, 3, -1, 0, 4}), Tensor({2}, {0.5f, -0.5f}));
    return GraphBuilder().input("x", {-1, 3}).node("fc", fc, {"x"}, "logits").output("logits").build();
}

}  // namespace

TEST_CASE("gradient of a linear model is the target's weight row; gradient x input multiplies by x") {
    Graph g = linear_model();
    auto backend = make_backend("cpu");
    Executor ex(g, *backend);
    // Sample 0: logits (1+4+9+0.5, -1+0+12-0.5) = (14.5, 10.5) -> argmax 0.
    // Sample 1: x = (0, 0, -1): logits (-2.5, -4.5) -> argmax 0, but we ask for target 1.
    Tensor x({2, 3}, {1, 2, 3, 0, 0, -1});
    Attribution a = gradient(ex, x, {-1, 1});
    CHECK(a.output.to_vector() == std::vector<float>{14.5f, 10.5f, -2.5f, -4.5f});
    CHECK(a.targets == std::vector<int64_t>{0, 1});
    CHECK(a.attribution.to_vector() == std::vector<float>{1, 2, 3, -1, 0, 4});
    Attribution gi = gradient_x_input(ex, x, {-1, 1});
    CHECK(gi.attribution.to_vector() == std::vector<float>{1, 4, 9, 0, 0, -4});
    CHECK(resolve_targets(a.output, {}) == std::vector<int64_t>{0, 0});
}

TEST_CASE("targets out of range or of the wrong count are errors") {
    Graph g = linear_model();
    auto backend = make_backend("cpu");
    Executor ex(g, *backend);
    Tensor x({2, 3});
    CHECK_THROWS_WITH_AS(gradient(ex, x, {2, 0}), doctest::Contains("target 2 is out of range: the model has 2 outputs"),
                         Error);
    CHECK_THROWS_WITH_AS(gradient(ex, x, {0, 0, 0}), doctest::Contains("got 3 targets for a batch of 2"), Error);
}
