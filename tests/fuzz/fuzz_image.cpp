// libFuzzer target: the image reader (tests/fuzz/entry_points.h). Anything but relprop::Error escaping
// (or a sanitizer report) is a finding; tools/fuzz.sh builds and runs it.
#include <cstddef>
#include <cstdint>

#include "relprop/error.hpp"
#include "tests/fuzz/entry_points.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        relprop::fuzz::image_entry(data, size);
    } catch (const relprop::Error&) {
    }
    return 0;
}
