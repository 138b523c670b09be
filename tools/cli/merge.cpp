#include "tools/cli/merge.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include "relprop/error.hpp"
#include "io/file_write.h"
#include "tools/cli/evaluate_merge.h"
#include "tools/cli/folder_lock.h"
#include "tools/cli/index_rows.h"
#include "tools/cli/inputs.h"
#include "tools/cli/run_file.h"
#include "tools/cli/shard.h"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

// The input files of run.json's arguments, named as the runs named them: a relative argument is
// listed in the recorded working folder and reported relative to it, as list_inputs does there.
std::vector<std::string> listed_inputs(const RunIdentity& run) {
    std::vector<std::string> files;
    for (const std::string& arg : run.inputs) {
        InputOptions io;
        const bool relative = fs::path(arg).is_relative();
        io.inputs = {relative ? (fs::path(run.cwd) / arg).string() : arg};
        const size_t strip = relative ? io.inputs[0].size() - arg.size() : 0;
        for (const std::string& f : list_inputs(io)) files.push_back(f.substr(strip));
    }
    return files;
}

std::string first_names(const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < 3; ++i) s += (i ? ", " : "") + names[i];
    return s + (names.size() > 3 ? ", ..." : "");
}

}  // namespace

MergeResult merge_shards(const std::string& out_dir) {
    const fs::path dir(out_dir);
    const RunIdentity run = read_sharded_run_file(dir / "run.json", out_dir);  // created once, never changed
    const FolderLock lock(out_dir, ".relprop.merge.lock", "", LockMode::Wait);
    const std::vector<std::string> files = listed_inputs(run);

    std::map<std::string, std::vector<Row>> rows_of;   // input → its rows
    std::map<std::string, std::vector<int64_t>> found;  // input → the shards whose files hold it
    for (int64_t k = 0; k < run.shards; ++k) {
        const Shard shard{k, run.shards, ""};
        if (!shard_rows_current(dir, shard.tag())) continue;  // rows made under another run.json, or none
        std::map<std::string, bool> seen;
        for (Row& r : read_index(dir, "index." + shard.tag() + ".csv")) {
            if (!seen[r.input]) found[r.input].push_back(k);
            seen[r.input] = true;
            rows_of[r.input].push_back(std::move(r));
        }
    }
    MergeResult result;
    result.inputs = files.size();
    std::map<int64_t, std::vector<std::string>> missing;  // shard → its inputs without rows
    std::vector<std::string> duplicated;
    size_t missing_count = 0;
    std::vector<Row> rows;
    for (const std::string& f : files) {
        const auto it = found.find(f);
        if (it == found.end()) {
            missing[shard_of_key(shard_key(f), run.shards)].push_back(f);
            ++missing_count;
            continue;
        }
        if (it->second.size() > 1) {
            std::string where;
            for (int64_t k : it->second) where += (where.empty() ? "" : " and ") + Shard{k, run.shards, ""}.tag();
            duplicated.push_back(f + " (in " + where + ")");
        }
        for (const Row& r : rows_of[f]) rows.push_back(r);
    }
    if (missing_count > 0) {
        result.problems = std::to_string(missing_count) + " of " + std::to_string(files.size()) +
                          " input(s) not finished:";
        for (const auto& [k, names] : missing)
            result.problems += " shard " + std::to_string(k) + " of " + std::to_string(run.shards) + ": " +
                               std::to_string(names.size()) + " (" + first_names(names) + ");";
        result.problems += " run those shards again (resubmit their tasks), then merge";
    }
    if (!duplicated.empty())
        result.problems += std::string(result.problems.empty() ? "" : "; ") + std::to_string(duplicated.size()) +
                           " input(s) with rows in two shard files: " + first_names(duplicated) +
                           " (was a shard file copied or edited?)";
    if (!result.problems.empty()) return result;
    write_file_atomic((dir / "index.csv").string(), index_csv(rows), "index.csv");
    write_file_atomic((dir / "index.json").string(), index_json(run.settings, rows), "index.json");
    result.merged = true;
    result.rows = rows.size();
    return result;
}

int run_merge(const std::string& out_dir) {
    const RunIdentity run = read_sharded_run_file(fs::path(out_dir) / "run.json", out_dir);
    if (run.settings.find("\"methods\": [") != std::string::npos) return run_evaluate_merge(out_dir);  // evaluate's
    const MergeResult r = merge_shards(out_dir);
    if (!r.merged) throw Error(out_dir + ": " + r.problems);
    std::printf("merged %zu input(s), %zu row(s) into %s (index.csv, index.json)\n", r.inputs, r.rows, out_dir.c_str());
    return 0;
}

}  // namespace relprop::cli
