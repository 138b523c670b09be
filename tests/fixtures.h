// Where the committed test fixtures are (the source tree's tests/fixtures, set by meson).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "relprop/error.hpp"
#include "relprop/tensor.hpp"

namespace relprop::test {

// $RELPROP_FIXTURES_DIR when set (the test binaries run from a copy of the tree, e.g. on a GPU machine),
// else the source tree's tests/fixtures that meson compiled in.
inline std::string fixtures_dir() {
    const char* env = std::getenv("RELPROP_FIXTURES_DIR");
    return env && *env ? env : RELPROP_FIXTURES_DIR;
}

inline std::string fixture_path(const std::string& relative) { return fixtures_dir() + "/" + relative; }

// The bundled demo (tools/demo/: digits.onnx and six PNG digits), with a trailing slash.
inline std::string demo_dir() { return fixtures_dir() + "/../../tools/demo/"; }

// The ONNX fixtures listed in tests/fixtures/onnx/MANIFEST.
inline std::vector<std::string> onnx_fixture_names() {
    std::ifstream in(fixture_path("onnx/MANIFEST"));
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) names.push_back(line.substr(0, line.find('\t')));
    return names;
}

// max |a − b| / max |b|
inline double max_rel_error(const Tensor& a, const Tensor& b) {
    double err = 0.0, scale = 0.0;
    for (int64_t i = 0; i < b.numel(); ++i) {
        err = std::max(err, std::abs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    }
    return err / std::max(scale, 1e-30);
}

// The message of the relprop::Error `f` throws, or "<no error>".
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "<no error>";
}

}  // namespace relprop::test
