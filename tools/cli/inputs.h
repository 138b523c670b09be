// The inputs of `relprop explain`/`check`: .npy files, images and folders of images, as one batch.
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.h"
#include "io/image.h"
#include "tools/cli/options.h"

namespace relprop::cli {

struct Batch {
    Tensor data;                     // [N, ...] as the model takes it
    std::vector<std::string> names;  // per sample: file stem, or stem_i for a sample of a .npy batch
    std::vector<Image> shown;        // per sample: the input as an 8-bit image (for --overlay)
};

// model_input: the model's declared input shape (dimension 0 may be -1).
Batch load_inputs(const InputOptions& options, const Shape& model_input);

// Samples [first, first + count) of a batch tensor.
Tensor slice_batch(const Tensor& t, int64_t first, int64_t count);

}  // namespace relprop::cli
