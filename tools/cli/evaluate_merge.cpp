#include "tools/cli/evaluate_merge.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "relprop/error.hpp"
#include "tools/cli/evaluate.h"
#include "tools/cli/run_file.h"
#include "tools/cli/shard.h"

namespace relprop::cli {

namespace fs = std::filesystem;

std::string missing_samples(const std::vector<std::vector<PerturbationCurve>>& per_sample, const Batch& batch,
                            int64_t shards) {
    std::map<int64_t, std::vector<std::string>> missing;
    size_t count = 0;
    for (size_t i = 0; i < per_sample.size(); ++i)
        if (per_sample[i].empty()) {
            missing[shard_of_key(shard_key(batch.sources[i]), shards)].push_back(batch.names[i]);
            ++count;
        }
    if (count == 0) return "";
    std::string s = std::to_string(count) + " of " + std::to_string(per_sample.size()) + " sample(s) not finished:";
    for (const auto& [k, names] : missing) {
        s += " shard " + std::to_string(k) + " of " + std::to_string(shards) + ": " + std::to_string(names.size()) + " (";
        for (size_t j = 0; j < names.size() && j < 3; ++j) s += (j ? ", " : "") + names[j];
        s += std::string(names.size() > 3 ? ", ..." : "") + ");";
    }
    return s + " run those shards again (resubmit their tasks)";
}

int run_evaluate_merge(const std::string& out_dir) {
    const fs::path dir = fs::absolute(out_dir);
    const RunIdentity run = read_sharded_run_file(dir / "run.json", out_dir);
    const fs::path args_file = dir / kEvaluateArgumentsFile;
    std::ifstream in(args_file, std::ios::binary);
    if (!in)
        throw Error(out_dir + ": " + args_file.string() + " is missing (a shard of `relprop evaluate --shard` writes "
                    "it with run.json): run any shard's command again, which merges when every shard is finished");
    std::vector<std::string> reversed;
    for (std::string a; std::getline(in, a, '\0');) reversed.insert(reversed.begin(), a);
    reversed.push_back("evaluate");
    CLI::App app;
    EvaluateCommand c;
    add_evaluate_command(app, c);
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        throw Error(out_dir + ": the command in " + args_file.string() + " does not parse: " + e.what());
    }
    c.out_dir = dir.string();
    c.shard = "0/" + std::to_string(run.shards);  // the count; merge_only evaluates no shard
    c.merge_only = true;
    c.json = false;
    std::error_code ec;
    fs::current_path(run.cwd, ec);  // relative inputs and model are named from the shards' working folder
    if (ec) throw Error(out_dir + ": cannot enter the shards' working folder " + run.cwd + ": " + ec.message());
    return run_evaluate(c);
}

}  // namespace relprop::cli
