// `--shard INDEX/COUNT` / `--shard auto[/COUNT]`: which share of the inputs this process explains
// when many processes (Slurm array tasks, Kubernetes Indexed Job pods) write one --out-dir.
//
// The partition is a stable hash of each input's *key*, its file name (the path relative to the folder
// it is in — for files of a folder argument that folder, for a file named by itself its parent): the
// first 8 bytes of SHA-256(key) as a big-endian number, modulo COUNT. An input's shard depends only on
// its name and COUNT, so files added later never move finished ones, and every node computes the same
// split whatever path the dataset is mounted at. Python: int(hashlib.sha256(name).hexdigest()[:16], 16) % N.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace relprop::cli {

struct Shard {
    int64_t index = 0;
    int64_t count = 0;   // 0: not sharded
    std::string origin;  // where index and count came from, for messages ("SLURM_ARRAY_TASK_ID=2, ...")
    bool active() const { return count > 0; }
    std::string tag() const;  // "shard-K-of-N" (file names: index.shard-K-of-N.csv)
};

// A variable of the environment, or nothing when it is not set.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

// The variable that gives the count where the scheduler does not (Kubernetes Indexed Jobs), and that
// overrides a scheduler's count (a resubmitted Slurm array task).
inline constexpr const char* kShardCountVariable = "RELPROP_SHARD_COUNT";

// "" → not sharded; "K/N" → shard K of N (0 <= K < N); "auto" or "auto/N" → the index (and count)
// from the environment, in this order:
//   Slurm job array: SLURM_ARRAY_TASK_ID; count: N, else RELPROP_SHARD_COUNT, else
//     SLURM_ARRAY_TASK_COUNT / SLURM_ARRAY_TASK_MAX + 1 (the array must be 0..N-1 without a step);
//   Slurm steps (srun -n N): SLURM_PROCID; count: N, else RELPROP_SHARD_COUNT, else SLURM_NTASKS;
//   Kubernetes Indexed Job: JOB_COMPLETION_INDEX; count: N, else RELPROP_SHARD_COUNT (required).
// Anything else, or a value that is not a number in range, is an Error saying what to give instead.
Shard parse_shard(const std::string& text, const Environment& env);

// The hash key of an input file (its name) and the shard it belongs to among `count`.
std::string shard_key(const std::string& input_file);
int64_t shard_of_key(const std::string& key, int64_t count);
// The first 8 bytes of SHA-256(key) as a big-endian number (shard_of_key is it modulo the count).
uint64_t key_hash(const std::string& key);

// Per sample of a batch (`sources`: the file each sample came from, a file's samples in a row), the id
// that seeds its random numbers in `relprop evaluate` (EvaluateOptions::sample_ids): key_hash of its
// file's key, or for sample I of a file of several samples (a .npy batch) key_hash("KEY/I") (a name
// holds no '/'). It depends on the file's name alone, never on the sample's place among the inputs.
std::vector<uint64_t> input_sample_ids(const std::vector<std::string>& sources);

// The input files of `shard` among `files` (all of them when not sharded), in the order given.
std::vector<std::string> inputs_of_shard(const Shard& shard, const std::vector<std::string>& files);

}  // namespace relprop::cli
