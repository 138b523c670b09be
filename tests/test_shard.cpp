// --shard: the stable partition of inputs (tools/cli/shard.h) and reading the shard from each
// scheduler's environment (Slurm arrays, Slurm steps, Kubernetes Indexed Jobs), with its refusals.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "relprop/error.hpp"
#include "tools/cli/shard.h"

using namespace relprop::cli;

namespace {

Environment env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        if (it == vars.end()) return {};
        return it->second;
    };
}

std::string error_of(const std::string& spec, const std::map<std::string, std::string>& vars) {
    try {
        parse_shard(spec, env_of(vars));
    } catch (const relprop::Error& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> imagenet_names(int first, int last) {
    std::vector<std::string> names;
    char buf[64];
    for (int i = first; i <= last; ++i) {
        std::snprintf(buf, sizeof buf, "ILSVRC2012_val_%08d.JPEG", i);
        names.push_back(buf);
    }
    return names;
}

}  // namespace

TEST_CASE("shard: the hash is SHA-256 of the file name, as README's Python line computes it") {
    // int(hashlib.sha256(b"img_00.png").hexdigest()[:16], 16) == 18318923714978892826, % 4 == 2
    CHECK(shard_of_key("img_00.png", 4) == 2);
    CHECK(shard_of_key("img_00.png", 1) == 0);
    std::vector<int64_t> forty;
    char buf[32];
    for (int i = 0; i < 40; ++i) {
        std::snprintf(buf, sizeof buf, "img_%02d.png", i);
        forty.push_back(shard_of_key(buf, 4));
    }
    CHECK(forty == std::vector<int64_t>{2, 0, 2, 2, 2, 3, 3, 0, 3, 2, 0, 2, 2, 0, 3, 0, 3, 1, 0, 3,
                                        0, 0, 3, 3, 3, 1, 2, 3, 3, 2, 2, 0, 2, 3, 3, 2, 0, 3, 1, 3});
    // The key is the name relative to the input's folder: where the dataset is mounted does not matter.
    CHECK(shard_key("/mnt/a/imagenet/val/x.JPEG") == "x.JPEG");
    CHECK(shard_key("val/x.JPEG") == "x.JPEG");
    CHECK(shard_key("x.JPEG") == "x.JPEG");
}

TEST_CASE("shard: evaluate's sample ids are the hash of the input's name (NAME/I for a sample of a .npy batch)") {
    // Python: int(hashlib.sha256(b"img_00.png").hexdigest()[:16], 16), and of b"batch.npy/1".
    CHECK(key_hash("img_00.png") == 18318923714978892826ull);
    const std::vector<uint64_t> ids =
        input_sample_ids({"/data/a/img_00.png", "x/batch.npy", "x/batch.npy", "one.npy", "/elsewhere/img_00.png"});
    CHECK(ids == std::vector<uint64_t>{18318923714978892826ull, 8468858246709024085ull, 13176153346559126ull,
                                       5561208042861951602ull, 18318923714978892826ull});
    // The same input among others, or alone: the same id.
    CHECK(input_sample_ids({"b/one.npy"}) == std::vector<uint64_t>{5561208042861951602ull});
}

TEST_CASE("shard: stable when files are added, balanced over 10,000 names") {
    const std::vector<std::string> names = imagenet_names(1, 10000);
    std::map<std::string, int64_t> before;
    for (const std::string& n : names) before[n] = shard_of_key(shard_key("/data/val/" + n), 16);
    // 1,000 files added (and the folder moved): no finished file changes its shard.
    std::vector<std::string> grown = names;
    for (const std::string& n : imagenet_names(10001, 11000)) grown.push_back(n);
    int moved = 0;
    for (const std::string& n : grown)
        if (before.count(n) && shard_of_key(shard_key("/mnt/other/" + n), 16) != before[n]) ++moved;
    CHECK(moved == 0);

    // max/min shard size; a uniform random split of 10,000 gives about 1.04 (N=4), 1.1 (16), 1.6 (100).
    const std::map<int64_t, std::pair<int, int>> expected{{2, {5053, 4947}}, {4, {2537, 2428}},
                                                          {16, {659, 596}}, {100, {124, 75}}};
    for (const auto& [n, extremes] : expected) {
        std::vector<int> sizes(static_cast<size_t>(n), 0);
        for (const std::string& name : names) ++sizes[static_cast<size_t>(shard_of_key(name, n))];
        const int most = *std::max_element(sizes.begin(), sizes.end()), least = *std::min_element(sizes.begin(), sizes.end());
        INFO("N=", n, ": max ", most, ", min ", least);
        CHECK(most == extremes.first);
        CHECK(least == extremes.second);
        CHECK(static_cast<double>(most) / least < (n <= 4 ? 1.05 : n <= 16 ? 1.11 : 1.66));
    }
}

TEST_CASE("shard: INDEX/COUNT given; not sharded without --shard") {
    CHECK(!parse_shard("", env_of({})).active());
    const Shard s = parse_shard("2/4", env_of({}));
    CHECK(s.index == 2);
    CHECK(s.count == 4);
    CHECK(s.tag() == "shard-2-of-4");
    CHECK(error_of("4/4", {}).find("index 4 is not below the count 4") != std::string::npos);
    CHECK(error_of("1/0", {}).find("the shard count '0' is not a whole number from 1 to") != std::string::npos);
    CHECK(error_of("-1/4", {}).find("expected INDEX/COUNT (e.g. 0/4), auto or auto/COUNT") != std::string::npos);
    CHECK(error_of("3", {}).find("expected INDEX/COUNT") != std::string::npos);
    CHECK(error_of("a/b", {}).find("expected INDEX/COUNT") != std::string::npos);
}

TEST_CASE("shard auto: Slurm job arrays") {
    // sbatch --array=0-3: SLURM_ARRAY_TASK_COUNT (Slurm >= 20.11) and MIN/MAX are set.
    Shard s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"},
                                          {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "3"}}));
    CHECK(s.index == 3);
    CHECK(s.count == 4);
    CHECK(s.origin == "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_MAX=3");
    // Older Slurm: no COUNT, MAX + 1.
    s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MAX", "7"}}));
    CHECK((s.index == 1 && s.count == 8));
    // Only COUNT.
    s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "5"}}));
    CHECK((s.index == 1 && s.count == 5));
    // A resubmitted task (sbatch --array=2) sees MIN=MAX=2, COUNT=1: the count must be given.
    const std::map<std::string, std::string> resubmitted{{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "1"},
                                                         {"SLURM_ARRAY_TASK_MIN", "2"}, {"SLURM_ARRAY_TASK_MAX", "2"}};
    CHECK(error_of("auto", resubmitted).find("starts at task 2 (SLURM_ARRAY_TASK_MIN), not 0") != std::string::npos);
    s = parse_shard("auto/4", env_of(resubmitted));
    CHECK((s.index == 2 && s.count == 4));
    CHECK(s.origin == "SLURM_ARRAY_TASK_ID=2, --shard auto/4");
    std::map<std::string, std::string> with_variable = resubmitted;
    with_variable["RELPROP_SHARD_COUNT"] = "4";
    s = parse_shard("auto", env_of(with_variable));
    CHECK((s.index == 2 && s.count == 4));
    // --array=0-6:2 (a step): ids 0,2,4,6, COUNT=4, MAX=6.
    CHECK(error_of("auto", {{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "0"},
                            {"SLURM_ARRAY_TASK_MAX", "6"}})
              .find("task ids are not 0..6 (SLURM_ARRAY_TASK_COUNT=4, SLURM_ARRAY_TASK_MAX=6: a step or a list)") !=
          std::string::npos);
    CHECK(error_of("auto", {{"SLURM_ARRAY_TASK_ID", "2"}}).find("neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX") !=
          std::string::npos);
    CHECK(error_of("auto/2", {{"SLURM_ARRAY_TASK_ID", "3"}}).find("index 3 is not below the count 2") != std::string::npos);
    CHECK(error_of("auto", {{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_MAX", "3"}})
              .find("SLURM_ARRAY_TASK_ID='x' is not a whole number >= 0") != std::string::npos);
}

TEST_CASE("shard auto: Slurm steps and Kubernetes Indexed Jobs; none") {
    Shard s = parse_shard("auto", env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}}));
    CHECK((s.index == 5 && s.count == 8));
    CHECK(s.origin == "SLURM_PROCID=5, SLURM_NTASKS=8");
    // An array task wins over the step variables a batch script also has.
    s = parse_shard("auto", env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_ARRAY_TASK_ID", "1"},
                                    {"SLURM_ARRAY_TASK_MAX", "1"}}));
    CHECK((s.index == 1 && s.count == 2));

    s = parse_shard("auto/10", env_of({{"JOB_COMPLETION_INDEX", "9"}}));
    CHECK((s.index == 9 && s.count == 10));
    CHECK(s.origin == "JOB_COMPLETION_INDEX=9, --shard auto/10");
    s = parse_shard("auto", env_of({{"JOB_COMPLETION_INDEX", "0"}, {"RELPROP_SHARD_COUNT", "3"}}));
    CHECK((s.index == 0 && s.count == 3));
    CHECK(error_of("auto", {{"JOB_COMPLETION_INDEX", "1"}}).find("gives the index but not the count: use --shard auto/N or "
                                                                "set RELPROP_SHARD_COUNT=N") != std::string::npos);
    CHECK(error_of("auto/3", {{"JOB_COMPLETION_INDEX", "3"}}).find("index 3 is not below the count 3 (JOB_COMPLETION_INDEX=3") !=
          std::string::npos);
    CHECK(error_of("auto", {{"JOB_COMPLETION_INDEX", "0"}, {"RELPROP_SHARD_COUNT", "zero"}})
              .find("RELPROP_SHARD_COUNT: the shard count 'zero' is not a whole number") != std::string::npos);

    CHECK(error_of("auto", {}) == "--shard auto: no scheduler in the environment (none of SLURM_ARRAY_TASK_ID, "
                                  "SLURM_PROCID with SLURM_NTASKS, JOB_COMPLETION_INDEX is set); give --shard INDEX/COUNT");
    CHECK(error_of("auto", {{"SLURM_PROCID", "0"}}).find("no scheduler in the environment") != std::string::npos);
}
