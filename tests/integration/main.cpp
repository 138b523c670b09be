// relprop-integration-tests: full torchvision exports (made on demand by
// `tools/make_onnx_fixtures.py --full tests/fixtures/full`, not committed). A model/opset whose export is
// absent has its test case excluded, so doctest reports it as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <filesystem>
#include <iostream>

#include "tests/integration/full_models.h"

int main(int argc, char** argv) {
    doctest::Context context;
    context.applyCommandLine(argc, argv);
    for (const relprop::test::FullModel& m : relprop::test::full_models())
        for (int opset : m.opsets) {
            const std::string path = relprop::test::full_model_path(relprop::test::full_model_stem(m.name, opset), ".onnx");
            if (std::filesystem::exists(path)) continue;
            std::cout << "no " << path << ": torchvision " << m.name << " opset " << opset << " skipped\n";
            context.addFilter("test-case-exclude", ("torchvision " + m.name + " opset " + std::to_string(opset)).c_str());
        }
    return context.run();
}
