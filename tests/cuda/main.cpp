// relprop-cuda-tests: without a usable GPU every test case is excluded, so doctest reports them as
// skipped and the run succeeds.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "engine/backend.h"

int main(int argc, char** argv) {
    doctest::Context context;
    context.applyCommandLine(argc, argv);
    if (!relprop::cuda_available()) {
        std::cout << "no usable CUDA GPU: all CUDA tests skipped" << std::endl;
        context.addFilter("test-case-exclude", "*");
    }
    return context.run();
}
