// `relprop evaluate MODEL INPUT... --methods SPEC,...`: perturbation curves (pixel flipping, region
// perturbation), AOPC/ABPC/AUC per sample and per method, curves.csv, a JSON summary and PNG plots
// of the mean curves (through the public API's relprop::evaluate, api/relprop/evaluate.hpp).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tools/cli/options.h"

namespace relprop::cli {

struct EvaluateCommand {
    ModelOptions model;
    InputOptions inputs;
    ExplainOptions method;  // the attribution methods' parameters (smoothgrad, occlusion, ...)
    std::string methods = "lrp,gradient,random";
    std::string metric = "pixel-flipping";
    int64_t step = 0;
    int64_t patch = 4;
    std::string fill = "0";  // a value, mean, blur or uniform
    float blur_sigma = 2.0f;
    uint64_t seed = 0;
    int batch_size = 32;
    std::string target = "argmax";
    std::string curves;  // curves.csv
    std::string plot;    // PNG (one per metric: NAME.<metric>.png when both)
    std::string out_dir;
    std::string shard;  // with out_dir: K/N, auto or auto/N (tools/cli/shard.h)
    bool json = false;
    std::vector<std::string> arguments;  // the command line after `evaluate` (kept by sharded runs for merge)
    bool merge_only = false;             // `relprop merge DIR`: evaluate nothing, write the outputs or fail
};

// Registers the subcommand and its options on `app`.
CLI::App* add_evaluate_command(CLI::App& app, EvaluateCommand& c);
int run_evaluate(const EvaluateCommand& c);

}  // namespace relprop::cli
