// Where the committed test fixtures are (the source tree's tests/fixtures, set by meson).
#pragma once

#include <string>

namespace relprop::test {

inline std::string fixture_path(const std::string& relative) {
    return std::string(RELPROP_FIXTURES_DIR) + "/" + relative;
}

}  // namespace relprop::test
