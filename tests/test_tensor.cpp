// Tensor basics and backend selection errors.
#include <doctest/doctest.h>

#include <limits>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "relprop/tensor.hpp"

using namespace relprop;

TEST_CASE("tensor: shape, values, reshape shares storage, clone copies") {
    Tensor t({2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(t.numel() == 6);
    CHECK(t.rank() == 2);
    CHECK(t.dim(1) == 3);
    CHECK(shape_str(t.shape()) == "[2, 3]");
    Tensor r = t.reshaped({3, 2});
    r[5] = 60.0f;
    CHECK(t[5] == 60.0f);
    Tensor c = t.clone();
    c[0] = -1.0f;
    CHECK(t[0] == 1.0f);
    CHECK(c.to_vector() == std::vector<float>{-1, 2, 3, 4, 5, 60});
    CHECK(Tensor({4})[3] == 0.0f);  // zero-filled
}

TEST_CASE("tensor: wrap does not copy") {
    float data[4] = {1, 2, 3, 4};
    Tensor t = Tensor::wrap({2, 2}, data);
    t[2] = 30.0f;
    CHECK(data[2] == 30.0f);
}

TEST_CASE("tensor: bad shapes and sizes are errors with the shape in the message") {
    CHECK_THROWS_WITH_AS(Tensor({2, -3}), doctest::Contains("[2, -3]"), Error);
    const int64_t big = std::numeric_limits<int64_t>::max() / 2;
    CHECK_THROWS_WITH_AS(shape_numel({big, big}), doctest::Contains("overflows"), Error);
    CHECK_THROWS_WITH_AS(Tensor({2, 2}, {1, 2, 3}), doctest::Contains("needs 4 values, got 3"), Error);
    CHECK_THROWS_WITH_AS(Tensor({2, 3}).reshaped({4}), doctest::Contains("cannot reshape [2, 3] to [4]"), Error);
    CHECK_THROWS_AS(Tensor({2}).dim(1), Error);
}

TEST_CASE("backend selection: cpu works, bad specs are clear errors") {
    CHECK(make_backend("cpu")->device() == Device::CPU);
    CHECK(make_backend("cpu")->name().find("oneDNN") != std::string::npos);
    CHECK_THROWS_WITH_AS(make_backend("gpu"), doctest::Contains("expected cpu, cuda, cuda:N or auto"), Error);
    CHECK_THROWS_WITH_AS(make_backend("cuda:x"), doctest::Contains("invalid device 'cuda:x'"), Error);
    if (!cuda_available()) {
        CHECK(make_backend("auto")->device() == Device::CPU);
        CHECK_THROWS_AS(make_backend("cuda"), Error);
    }
}
