#include "tools/cli/shard.h"

#include <cstdlib>
#include <filesystem>

#include "relprop/error.hpp"
#include "tools/cli/sha256.h"

namespace relprop::cli {

namespace {

constexpr int64_t kMaxShards = 1000000;

// A whole number >= 0 written in decimal digits only.
std::optional<int64_t> whole_number(const std::string& text) {
    if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos) return {};
    return std::stoll(text);
}

int64_t variable_number(const Environment& env, const std::string& name) {
    const std::string value = env(name).value_or("");
    const std::optional<int64_t> n = whole_number(value);
    if (!n) throw Error("--shard auto: " + name + "='" + value + "' is not a whole number >= 0");
    return *n;
}

int64_t count_number(const std::string& text, const std::string& where) {
    const std::optional<int64_t> n = whole_number(text);
    if (!n || *n < 1 || *n > kMaxShards)
        throw Error(where + ": the shard count '" + text + "' is not a whole number from 1 to " +
                    std::to_string(kMaxShards));
    return *n;
}

struct Count {
    int64_t value = 0;
    std::string origin;
};

// The count given on the command line (auto/N) or in RELPROP_SHARD_COUNT, if any.
std::optional<Count> given_count(const std::optional<std::string>& option, const Environment& env) {
    if (option) return Count{count_number(*option, "--shard auto/" + *option), "--shard auto/" + *option};
    if (const std::optional<std::string> v = env(kShardCountVariable))
        return Count{count_number(*v, kShardCountVariable), std::string(kShardCountVariable) + "=" + *v};
    return {};
}

// The index from `variable`; the count too where one was given (else 0: the scheduler's is read next).
Shard indexed_by(const std::string& variable, const std::optional<Count>& given, const Environment& env) {
    Shard s;
    s.index = variable_number(env, variable);
    s.origin = variable + "=" + std::to_string(s.index);
    if (given) {
        s.count = given->value;
        s.origin += ", " + given->origin;
    }
    return s;
}

Shard slurm_array(const std::optional<Count>& given, const Environment& env) {
    Shard s = indexed_by("SLURM_ARRAY_TASK_ID", given, env);
    if (given) return s;
    const bool has_min = env("SLURM_ARRAY_TASK_MIN").has_value(), has_max = env("SLURM_ARRAY_TASK_MAX").has_value(),
               has_count = env("SLURM_ARRAY_TASK_COUNT").has_value();
    if (!has_max && !has_count)
        throw Error("--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor "
                    "SLURM_ARRAY_TASK_MAX: give the count as --shard auto/N");
    if (has_min && variable_number(env, "SLURM_ARRAY_TASK_MIN") != 0)
        throw Error("--shard auto: the Slurm array starts at task " + env("SLURM_ARRAY_TASK_MIN").value_or("") +
                    " (SLURM_ARRAY_TASK_MIN), not 0; submit --array=0-(N-1), or give the count as --shard auto/N "
                    "(as for a resubmitted task, e.g. sbatch --array=2)");
    const int64_t count = has_max ? variable_number(env, "SLURM_ARRAY_TASK_MAX") + 1
                                  : variable_number(env, "SLURM_ARRAY_TASK_COUNT");
    if (has_max && has_count && variable_number(env, "SLURM_ARRAY_TASK_COUNT") != count)
        throw Error("--shard auto: the Slurm array's task ids are not 0.." + std::to_string(count - 1) +
                    " (SLURM_ARRAY_TASK_COUNT=" + env("SLURM_ARRAY_TASK_COUNT").value_or("") +
                    ", SLURM_ARRAY_TASK_MAX=" + std::to_string(count - 1) +
                    ": a step or a list); submit --array=0-(N-1), or give the count as --shard auto/N");
    s.count = count_number(std::to_string(count), "--shard auto (SLURM_ARRAY_TASK_MAX + 1)");
    s.origin += ", " + std::string(has_max ? "SLURM_ARRAY_TASK_MAX=" + std::to_string(count - 1)
                                           : "SLURM_ARRAY_TASK_COUNT=" + std::to_string(count));
    return s;
}

Shard slurm_steps(const std::optional<Count>& given, const Environment& env) {
    Shard s = indexed_by("SLURM_PROCID", given, env);
    if (given) return s;
    s.count = count_number(env("SLURM_NTASKS").value_or(""), "--shard auto (SLURM_NTASKS)");
    s.origin += ", SLURM_NTASKS=" + std::to_string(s.count);
    return s;
}

Shard indexed_job(const std::optional<Count>& given, const Environment& env) {
    Shard s = indexed_by("JOB_COMPLETION_INDEX", given, env);
    if (!given)
        throw Error("--shard auto: JOB_COMPLETION_INDEX=" + std::to_string(s.index) +
                    " (a Kubernetes Indexed Job) gives the index but not the count: use --shard auto/N or set " +
                    kShardCountVariable + "=N, with N the Job's completions");
    return s;
}

}  // namespace

std::string Shard::tag() const { return "shard-" + std::to_string(index) + "-of-" + std::to_string(count); }

Environment process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return {};
        return std::string(v);
    };
}

Shard parse_shard(const std::string& text, const Environment& env) {
    if (text.empty()) return {};
    const size_t slash = text.find('/');
    const std::string head = text.substr(0, slash);
    const std::optional<std::string> tail = slash == std::string::npos ? std::nullopt
                                                                        : std::optional<std::string>(text.substr(slash + 1));
    Shard s;
    if (head == "auto") {
        const std::optional<Count> given = given_count(tail, env);
        if (env("SLURM_ARRAY_TASK_ID")) s = slurm_array(given, env);
        else if (env("SLURM_PROCID") && (given || env("SLURM_NTASKS"))) s = slurm_steps(given, env);
        else if (env("JOB_COMPLETION_INDEX")) s = indexed_job(given, env);
        else
            throw Error("--shard auto: no scheduler in the environment (none of SLURM_ARRAY_TASK_ID, SLURM_PROCID "
                        "with SLURM_NTASKS, JOB_COMPLETION_INDEX is set); give --shard INDEX/COUNT");
    } else {
        const std::optional<int64_t> index = whole_number(head);
        if (!index || !tail)
            throw Error("--shard '" + text + "': expected INDEX/COUNT (e.g. 0/4), auto or auto/COUNT");
        s.index = *index;
        s.count = count_number(*tail, "--shard " + text);
        s.origin = "--shard " + text;
    }
    if (s.index >= s.count)
        throw Error("--shard: index " + std::to_string(s.index) + " is not below the count " +
                    std::to_string(s.count) + " (" + s.origin + "); shards are numbered 0.." +
                    std::to_string(s.count - 1));
    return s;
}

std::string shard_key(const std::string& input_file) { return std::filesystem::path(input_file).filename().string(); }

uint64_t key_hash(const std::string& key) { return std::stoull(sha256_hex(key).substr(0, 16), nullptr, 16); }

int64_t shard_of_key(const std::string& key, int64_t count) {
    return static_cast<int64_t>(key_hash(key) % static_cast<uint64_t>(count));
}

std::vector<uint64_t> input_sample_ids(const std::vector<std::string>& sources) {
    std::vector<uint64_t> ids;
    ids.reserve(sources.size());
    for (size_t first = 0; first < sources.size();) {
        size_t end = first + 1;
        while (end < sources.size() && sources[end] == sources[first]) ++end;
        const std::string key = shard_key(sources[first]);
        for (size_t i = first; i < end; ++i)
            ids.push_back(end - first == 1 ? key_hash(key) : key_hash(key + "/" + std::to_string(i - first)));
        first = end;
    }
    return ids;
}

std::vector<std::string> inputs_of_shard(const Shard& shard, const std::vector<std::string>& files) {
    if (!shard.active()) return files;
    std::vector<std::string> mine;
    for (const std::string& f : files)
        if (shard_of_key(shard_key(f), shard.count) == shard.index) mine.push_back(f);
    return mine;
}

}  // namespace relprop::cli
