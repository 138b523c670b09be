// What `relprop explain` (one batch in memory) and `relprop explain --out-dir` (streamed, resumable)
// share: the Attributor the options describe, explaining a batch in slices, and per-sample heatmaps.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "relprop/image.hpp"
#include "relprop/attributor.hpp"
#include "tools/cli/commands.h"

namespace relprop::cli {

// --explain-output as the API's enum.
ExplainOutput explain_output_of(const ExplainOptions& eo);

// The attribution method and its parameters from the command line. `images`: the inputs are images
// (the ZBox bounds then default to those of the preprocessing).
AttributorOptions attributor_options(const Model& model, const ModelOptions& mo, const InputOptions& io,
                                     const ExplainOptions& eo, bool images);

struct Explained {
    Tensor logits;     // [N, classes]
    Tensor relevance;  // shaped like the input
    std::vector<int64_t> targets;
};

// `data` explained `batch_size` samples at a time; targets: empty (argmax), one for all, or one per
// sample. `done(k)` is called after each slice with the samples finished so far.
Explained explain_in_slices(const Attributor& explain, const Tensor& data, const std::vector<int64_t>& targets,
                            int batch_size, const std::function<void(int64_t)>& done = {});

// The heatmap of one sample's relevance [C, H, W] (or [1, C, H, W]) as the --cmap/--overlay/... options say.
Image heatmap_image(const Tensor& relevance, const Image& shown, const OutputOptions& oo);

// Per-sample sums of a [N, ...] tensor.
std::vector<double> per_sample_sums(const Tensor& t);

// `relprop explain --out-dir DIR`: one .npy and heatmap per input plus index.csv/index.json, in
// batches, skipping inputs a previous run finished.
int run_explain_dir(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo);

}  // namespace relprop::cli
