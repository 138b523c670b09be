// `relprop merge DIR`: the index of a sharded --out-dir (index.csv, index.json) from its shards' rows
// (index.shard-K-of-N.csv; a shard's rows count only under the run.json they were made with, see
// shard_rows_current in tools/cli/run_file.h). The inputs are listed again from run.json's
// arguments, in the order an unsharded run explains them, so the merged index.csv equals an
// unsharded run's line for line. An input without rows (its shard has not finished) or with rows in
// two shard files is reported by name and nothing is written. Merges of one folder take turns (a
// lock, .relprop.merge.lock); the files are written all or nothing. A sharded `relprop evaluate`
// folder (run.json's settings name "methods") is merged by run_evaluate_merge
// (tools/cli/evaluate_merge.h) instead.
#pragma once

#include <string>

namespace relprop::cli {

struct MergeResult {
    bool merged = false;
    size_t inputs = 0, rows = 0;
    std::string problems;  // when not merged: which inputs are missing (per shard) or duplicated
};

MergeResult merge_shards(const std::string& out_dir);

// The command: exit 0 when merged, else the problems as an Error (exit 1).
int run_merge(const std::string& out_dir);

}  // namespace relprop::cli
