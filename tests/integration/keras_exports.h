// Where the keras.applications exports of `tools/make_keras_fixtures.py --full DIR` are (not committed):
// $RELPROP_KERAS_EXPORTS, or tests/fixtures/keras_full in the source tree. Each test skips what is absent.
#pragma once

#include <cstdlib>
#include <string>

namespace relprop::test {

inline std::string keras_exports_dir() {
    const char* dir = std::getenv("RELPROP_KERAS_EXPORTS");
    return dir ? std::string(dir) : std::string(RELPROP_FIXTURES_DIR) + "/keras_full";
}

}  // namespace relprop::test
