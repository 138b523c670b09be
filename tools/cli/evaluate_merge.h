// The merge of a sharded `relprop evaluate --out-dir DIR --shard K/N`: which samples are not finished
// (named per shard), and `relprop merge DIR` for such a folder, which reads the inputs and the model
// again with the command a shard kept in DIR/evaluate.args and writes curves.csv, summary.json and the
// plots from every shard's DIR/samples/<name>.csv (evaluating nothing).
#pragma once

#include <string>
#include <vector>

#include "relprop/evaluate.hpp"
#include "tools/cli/inputs.h"

namespace relprop::cli {

// DIR/evaluate.args of a sharded evaluation: the command line of the shard that created run.json
// (NUL-separated), from which `relprop merge DIR` reads the inputs and the model again.
inline constexpr const char* kEvaluateArgumentsFile = "evaluate.args";

// The samples without curves, per shard ("3 of 12 sample(s) not finished: shard 1 of 3: 3 (a, b, c); ..."),
// or "" when every sample is finished.
std::string missing_samples(const std::vector<std::vector<PerturbationCurve>>& per_sample, const Batch& batch,
                            int64_t shards);

// `relprop merge DIR` of a sharded evaluation (run.json's settings name "methods"): exit 0 with the
// outputs written, or an Error (exit 1) naming the shards whose samples are not finished.
int run_evaluate_merge(const std::string& out_dir);

}  // namespace relprop::cli
