// relprop-integration-tests: full torchvision exports (made on demand by
// `tools/make_onnx_fixtures.py --full tests/fixtures/full`, not committed). A model whose files are
// absent has its test case excluded, so doctest reports it as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <filesystem>
#include <iostream>

#include "tests/integration/full_models.h"

int main(int argc, char** argv) {
    doctest::Context context;
    context.applyCommandLine(argc, argv);
    for (const std::string& name : relprop::test::full_model_names()) {
        if (std::filesystem::exists(relprop::test::full_model_path(name, ".onnx"))) continue;
        std::cout << "no " << relprop::test::full_model_path(name, ".onnx") << ": torchvision " << name
                  << " skipped\n";
        context.addFilter("test-case-exclude", ("torchvision " + name + "*").c_str());
    }
    return context.run();
}
