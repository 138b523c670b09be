// The inputs of `relprop explain`/`check`: .npy files, images and folders of images, as one batch.
#pragma once

#include <string>
#include <vector>

#include "relprop/tensor.hpp"
#include "relprop/image.hpp"
#include "tools/cli/options.h"

namespace relprop::cli {

struct Batch {
    Tensor data;                     // [N, ...] as the model takes it
    std::vector<std::string> names;  // per sample: file stem, or stem_i for a sample of a .npy batch
    std::vector<std::string> sources;  // per sample: the file it came from
    std::vector<Image> shown;        // per sample: the input as an 8-bit image (for --overlay)
};

// model_input: the model's declared input shape (dimension 0 may be -1).
// A NaN/Inf in a .npy input is an Error naming the file, unless allow_nonfinite.
Batch load_inputs(const InputOptions& options, const Shape& model_input, bool allow_nonfinite = false);

// The input files: each .npy or image named, and every image of each folder named (sorted).
std::vector<std::string> list_inputs(const InputOptions& options);
// Loads these files as one batch (load_inputs = load_files(list_inputs(options), ...)).
Batch load_files(const std::vector<std::string>& files, const InputOptions& options, const Shape& model_input,
                 bool allow_nonfinite = false);

// Samples [first, first + count) of a batch tensor.
Tensor slice_batch(const Tensor& t, int64_t first, int64_t count);

}  // namespace relprop::cli
