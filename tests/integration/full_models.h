// The full torchvision exports the integration tests look for: $RELPROP_FULL_FIXTURES or
// tests/fixtures/full in the source tree.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

namespace relprop::test {

inline std::vector<std::string> full_model_names() {
    return {"vgg16", "resnet18", "resnet50", "densenet121"};
}

inline std::string full_model_path(const std::string& name, const std::string& suffix) {
    const char* dir = std::getenv("RELPROP_FULL_FIXTURES");
    return (dir ? std::string(dir) : std::string(RELPROP_FIXTURES_DIR) + "/full") + "/" + name + suffix;
}

}  // namespace relprop::test
