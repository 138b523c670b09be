// DIR/run.json of `relprop explain --out-dir` (and of `relprop evaluate --out-dir --shard`): what the folder's results were made with — the
// settings, the model file (size and SHA-256), and for sharded runs the shard count, the working
// folder and the input arguments (so that `relprop merge DIR` can list the inputs in their order).
// It is created once (create_file_once: link(2) of a complete temporary file), and every later run —
// each shard of a sharded run — must match it or is refused with a message saying what differs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/cli/sha256.h"

namespace relprop::cli {

struct RunIdentity {
    std::string settings;  // a JSON object (everything that changes what an output holds)
    FileDigest model;
    int64_t shards = 0;               // 0: not sharded (the run.json of an unsharded run has no more)
    std::string cwd;                  // sharded: the working folder relative inputs are resolved in
    std::vector<std::string> inputs;  // sharded: the input arguments as given
};

// The text of run.json.
std::string run_json(const RunIdentity& run);

// Throws relprop::Error, saying what differs, unless `run_file` holds exactly run_json(run).
void check_run_file(const std::filesystem::path& run_file, const RunIdentity& run, const std::string& out_dir);

// Creates run.json if no run did yet; if one did (another shard, a moment earlier), checks it.
void pin_run_file(const std::filesystem::path& run_file, const RunIdentity& run, const std::string& out_dir);

// A shard's rows count only under the run.json they were made with: DIR/.relprop.<tag>.run (tag:
// Shard::tag(), "shard-K-of-N") holds that run.json's SHA-256, so the rows of a folder whose run.json
// was deleted and created again (by a run with other settings) do not count, there or in the merge.
bool shard_rows_current(const std::filesystem::path& dir, const std::string& tag);
// Records that the shard's rows from now on are made under DIR/run.json as it is now.
void record_shard_rows_run(const std::filesystem::path& dir, const std::string& tag);

// A sharded run.json read back (settings, shards, cwd, inputs; the model's digest as recorded).
// Throws if the file is missing or not one of a sharded run.
RunIdentity read_sharded_run_file(const std::filesystem::path& run_file, const std::string& out_dir);

}  // namespace relprop::cli
