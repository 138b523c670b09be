// `relprop explain --out-dir DIR --shard K/N` and `relprop merge DIR`: several processes explain their
// shares into one folder; the merged index equals an unsharded run's byte for byte; a shard with other
// settings or another count is refused; one process per shard; resume per shard; merge names what is
// missing; the same for evaluate --shard (curves.csv, summary.json). Also --device auto's message when there is no GPU.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <set>

#include "relprop/npy.hpp"
#include "tests/cli_run.h"
#include "tests/fixtures.h"

using relprop::test::relprop_cli;
using relprop::test::run_shell;
using relprop::test::scratch_dir;
namespace fs = std::filesystem;

namespace {

const std::string kDemo = relprop::test::demo_dir();
const std::string kModel = kDemo + "digits.onnx";
// No scheduler variables from the environment the tests run in.
const std::string kNoScheduler =
    "env -u SLURM_ARRAY_TASK_ID -u SLURM_PROCID -u SLURM_NTASKS -u JOB_COMPLETION_INDEX -u RELPROP_SHARD_COUNT ";

std::string bytes_of(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// `count` demo digits under the names img_00.png, img_01.png, ... in a fresh folder.
fs::path digit_folder(const std::string& name, int count) {
    const fs::path dir = scratch_dir(name);
    std::vector<fs::path> digits;
    for (const auto& e : fs::directory_iterator(kDemo))
        if (e.path().extension() == ".png") digits.push_back(e.path());
    std::sort(digits.begin(), digits.end());
    for (int i = 0; i < count; ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "img_%02d.png", i);
        fs::copy_file(digits[static_cast<size_t>(i) % digits.size()], dir / buf, fs::copy_options::overwrite_existing);
    }
    return dir;
}

// One input per batch: then an input's numbers do not depend on the other inputs of its batch (with
// larger batches oneDNN's results for one input can differ in the last bits with the batch around it).
std::string explain(const fs::path& images, const fs::path& out, const std::string& extra,
                    const std::string& batch_size = "1") {
    return "explain " + kModel + " " + images.string() + " --no-preprocess --batch-size " + batch_size + " --out-dir " +
           out.string() + " " + extra;
}

// `command(out, extra)`, the command line of explain or evaluate over img_00..img_11 (SHA-256 of the
// name mod 3 puts 5, 4 and 3 of them in shards 0, 1 and 2): an unsharded run into `single`, then
// shards 0 and 1 of 3 into `sharded`. Shard 0 says what it `did` with its 5 `unit`s and that 7 are
// not finished; nothing of `merged` is written while shard 2 is missing.
void unsharded_then_two_of_three(const std::function<std::string(const fs::path&, const std::string&)>& command,
                                 const fs::path& single, const fs::path& sharded, const std::string& did,
                                 const std::string& unit, const std::vector<std::string>& merged) {
    REQUIRE(relprop_cli(command(single, "")).code == 0);
    const auto r = relprop_cli(command(sharded, "--shard 0/3"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("shard 0 of 3 (--shard 0/3): " + did + " 5 of its 5 " + unit + "(s), 0 already done") !=
          std::string::npos);
    CHECK(r.output.find("not merged yet: 7 of 12 " + unit + "(s) not finished: shard 1 of 3: 4 (") != std::string::npos);
    REQUIRE(relprop_cli(command(sharded, "--shard 1/3")).code == 0);
    for (const std::string& file : merged) CHECK(!fs::exists(sharded / file));
}

// `command(out, extra)` over img_00..img_05 (shard 1 of 2 has img_05) in both shards into `out`, then
// run.json deleted (the folder started over) and shard 0 run again with `other` settings: it redoes
// all 5 of its `unit`s and names shard 1's one, `missing`, as not finished.
void both_shards_then_restart(const std::function<std::string(const fs::path&, const std::string&)>& command,
                              const fs::path& out, const std::string& other, const std::string& did,
                              const std::string& unit, const std::string& missing) {
    REQUIRE(relprop_cli(command(out, "--shard 0/2")).code == 0);
    REQUIRE(relprop_cli(command(out, "--shard 1/2")).code == 0);
    fs::remove(out / "run.json");
    const auto r = relprop_cli(command(out, "--shard 0/2 " + other));
    REQUIRE(r.code == 0);
    CHECK(r.output.find(did + " 5 of its 5 " + unit + "(s), 0 already done") != std::string::npos);
    CHECK(r.output.find("not merged yet: 1 of 6 " + unit + "(s) not finished: shard 1 of 2: 1 (" + missing + ");") !=
          std::string::npos);
}

}  // namespace

TEST_CASE("shard: three shards merge into an unsharded run's index, byte for byte") {
    const fs::path images = digit_folder("shard-images", 12);
    const fs::path single = scratch_dir("shard-single") / "out", sharded = scratch_dir("shard-three") / "out";
    unsharded_then_two_of_three([&](const fs::path& out, const std::string& extra) { return explain(images, out, extra); },
                                single, sharded, "explained", "input", {"index.csv", "index.json"});
    auto r = relprop_cli("merge " + sharded.string());
    CHECK(r.code == 1);
    CHECK(r.output.find("relprop: error: " + sharded.string() + ": 3 of 12 input(s) not finished: shard 2 of 3: 3 (" +
                        images.string() + "/img_") != std::string::npos);
    CHECK(r.output.find("run those shards again (resubmit their tasks), then merge") != std::string::npos);

    // The Kubernetes way for the last one: JOB_COMPLETION_INDEX and the count.
    r = relprop_cli(explain(images, sharded, "--shard auto/3"), kNoScheduler + "JOB_COMPLETION_INDEX=2 ");
    REQUIRE(r.code == 0);
    CHECK(r.output.find("shard 2 of 3 (JOB_COMPLETION_INDEX=2, --shard auto/3): explained 3 of its 3 input(s)") !=
          std::string::npos);
    CHECK(r.output.find("every shard is complete: merged 12 input(s), 12 row(s) into index.csv, index.json") !=
          std::string::npos);
    CHECK(bytes_of(sharded / "index.csv") == bytes_of(single / "index.csv"));
    CHECK(bytes_of(sharded / "index.json") == bytes_of(single / "index.json"));
    int compared = 0;
    for (const auto& e : fs::directory_iterator(single)) {
        const std::string ext = e.path().extension().string();
        if (ext != ".npy" && ext != ".png") continue;
        INFO(e.path().filename().string());
        CHECK(bytes_of(e.path()) == bytes_of(sharded / e.path().filename()));
        ++compared;
    }
    CHECK(compared == 24);
    // Each shard's rows are its own inputs only.
    int rows = 0;
    for (int k = 0; k < 3; ++k) {
        std::ifstream in(sharded / ("index.shard-" + std::to_string(k) + "-of-3.csv"));
        for (std::string l; std::getline(in, l);) rows += l.starts_with("input,") ? 0 : 1;
    }
    CHECK(rows == 12);
    // A merge again gives the same files.
    r = relprop_cli("merge " + sharded.string());
    CHECK(r.code == 0);
    CHECK(r.output.find("merged 12 input(s), 12 row(s) into") != std::string::npos);
    CHECK(bytes_of(sharded / "index.csv") == bytes_of(single / "index.csv"));

    // Resume per shard: an output removed is redone by its shard alone, which merges again.
    std::ifstream csv(sharded / "index.shard-0-of-3.csv");
    std::string line;
    std::getline(csv, line);
    std::getline(csv, line);
    const std::string name = line.substr(line.find(',', line.find(',') + 1) + 1, 6);  // img_NN
    fs::remove(sharded / (name + ".npy"));
    r = relprop_cli(explain(images, sharded, "--shard 0/3"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("explained 1 of its 5 input(s), 4 already done") != std::string::npos);
    CHECK(r.output.find("every shard is complete: merged 12 input(s)") != std::string::npos);
    CHECK(bytes_of(sharded / (name + ".npy")) == bytes_of(single / (name + ".npy")));
}

TEST_CASE("shard: other settings, another count or no --shard are refused; one process per shard") {
    const fs::path images = digit_folder("shard-refuse-images", 8);
    const fs::path out = scratch_dir("shard-refuse") / "out";
    auto r = relprop_cli(explain(images, out, "--shard 0/2"));
    REQUIRE(r.code == 0);
    CHECK(fs::exists(out / "run.json"));
    CHECK(bytes_of(out / "run.json").find("\"shards\": 2, \"cwd\": ") != std::string::npos);

    r = relprop_cli(explain(images, out, "--shard 1/2 --composite epsilon-plus"));
    CHECK(r.code == 1);
    CHECK(r.output.find(out.string() + " holds results of other settings") != std::string::npos);
    CHECK(!fs::exists(out / "index.shard-1-of-2.csv"));
    r = relprop_cli(explain(images, out, "--shard 1/3"));
    CHECK(r.code == 1);
    CHECK(r.output.find(out.string() + " is split into 2 shards (" + (out / "run.json").string() +
                        "); this run is one of 3: every shard of a folder needs the same count") != std::string::npos);
    r = relprop_cli(explain(images, out, ""));
    CHECK(r.code == 1);
    CHECK(r.output.find(out.string() + " is split into 2 shards (" + (out / "run.json").string() +
                        "): run each with --shard K/2 or --shard auto/2, and build index.csv with `relprop merge") !=
          std::string::npos);
    r = relprop_cli(explain(images, out, "--shard 1/2 " + kDemo + "digit_18_8.png"));
    CHECK(r.code == 1);
    CHECK(r.output.find("'s shards explain other inputs (") != std::string::npos);

    // A sharded run in an unsharded run's folder.
    const fs::path plain = scratch_dir("shard-refuse-plain") / "out";
    REQUIRE(relprop_cli(explain(images, plain, "")).code == 0);
    r = relprop_cli(explain(images, plain, "--shard 0/2"));
    CHECK(r.code == 1);
    CHECK(r.output.find(plain.string() + " holds the results of a run without --shard") != std::string::npos);
    r = relprop_cli("merge " + plain.string());
    CHECK(r.code == 1);
    CHECK(r.output.find("is not split into shards") != std::string::npos);

    // The same shard twice: the second stops at once; another shard runs meanwhile.
    const std::string lock = (out / ".relprop.shard-1-of-2.lock").string();
    r = run_shell("flock " + lock + " -c '" + RELPROP_CLI + " " + explain(images, out, "--shard 1/2") + "' 2>&1");
    CHECK(r.code == 1);
    CHECK(r.output.find(out.string() + " (shard 1 of 2) is in use by another relprop run (it holds " + lock) !=
          std::string::npos);
    r = run_shell("flock " + lock + " -c '" + RELPROP_CLI + " " + explain(images, out, "--shard 0/2") + "' 2>&1");
    CHECK(r.code == 0);
}

TEST_CASE("shard: usage errors; --device auto says it runs on the CPU") {
    const fs::path images = digit_folder("shard-usage-images", 2);
    auto r = relprop_cli("explain " + kModel + " " + images.string() + " --no-preprocess --shard 0/2");
    CHECK(r.code == 1);
    CHECK(r.output.find("--shard splits the inputs of an --out-dir run among processes: give --out-dir DIR") !=
          std::string::npos);
    const fs::path out = scratch_dir("shard-usage") / "out";
    r = relprop_cli(explain(images, out, "--shard auto"), kNoScheduler);
    CHECK(r.code == 1);
    CHECK(r.output.find("--shard auto: no scheduler in the environment") != std::string::npos);
    CHECK(!fs::exists(out));  // refused before anything is written
    r = relprop_cli(explain(images, out, "--shard auto"), kNoScheduler + "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=2 "
                                                                         "SLURM_ARRAY_TASK_MAX=2 SLURM_ARRAY_TASK_COUNT=1 ");
    CHECK(r.code == 1);
    CHECK(r.output.find("starts at task 2 (SLURM_ARRAY_TASK_MIN), not 0") != std::string::npos);
    r = relprop_cli("merge " + (scratch_dir("shard-usage") / "none").string());
    CHECK(r.code == 1);
    CHECK(r.output == "relprop: error: " + (scratch_dir("shard-usage") / "none").string() + ": no such folder\n");
    r = relprop_cli("merge " + scratch_dir("shard-usage-empty").string());
    CHECK(r.code == 1);
    CHECK(r.output == "relprop: error: " + scratch_dir("shard-usage-empty").string() +
                          " has no run.json: no shard has finished a batch there yet (or it is not an --out-dir)\n");
    r = relprop_cli("merge " + (images / "img_00.png").string());
    CHECK(r.code == 1);
    CHECK(r.output == "relprop: error: " + (images / "img_00.png").string() +
                          " is not a folder (give the --out-dir of the shards)\n");

    r = relprop_cli("explain " + kModel + " " + images.string() + " --no-preprocess --device auto",
                    "CUDA_VISIBLE_DEVICES=3 ");
    REQUIRE(r.code == 0);
    CHECK(r.output.find("relprop: --device auto: no usable CUDA GPU (CUDA_VISIBLE_DEVICES=3); running on the CPU") !=
          std::string::npos);
    r = relprop_cli("explain " + kModel + " " + images.string() + " --no-preprocess --device cuda:x");
    CHECK(r.code == 1);
    CHECK(r.output.find("invalid device 'cuda:x': expected cpu, cuda, cuda:N or auto") != std::string::npos);
}

TEST_CASE("shard: a run without --shard and the shards of its folder never run at once") {
    // Before, shards took only their own lock: an unsharded run with other settings that started
    // before the folder's run.json existed wrote its first batch over the shards' outputs, then failed.
    const fs::path images = digit_folder("shard-exclusive-images", 6);  // shard 1 of 2: img_05
    const fs::path out = scratch_dir("shard-exclusive") / "out";
    fs::create_directories(out);
    const std::string lock = (out / ".relprop.lock").string();
    const auto under_lock = [&](const std::string& flock_option, const std::string& args) {
        return run_shell("flock " + flock_option + lock + " -c '" + RELPROP_CLI + " " + args + "' 2>&1");
    };
    // An unsharded run holds the folder's lock alone: a shard of explain or evaluate stops at once.
    const std::string busy = "relprop: error: " + out.string() +
                             " (shard 0 of 2) is in use by a relprop run without --shard (it holds " + lock +
                             "); wait for it to finish, or use another --out-dir\n";
    auto r = under_lock("", explain(images, out, "--shard 0/2"));
    CHECK(r.code == 1);
    CHECK(r.output == busy);
    r = under_lock("", "evaluate " + kModel + " " + images.string() +
                           " --no-preprocess --methods gradient --step 64 --out-dir " + out.string() + " --shard 0/2");
    CHECK(r.code == 1);
    CHECK(r.output == busy);
    CHECK(!fs::exists(out / "run.json"));
    CHECK(!fs::exists(out / "index.shard-0-of-2.csv"));
    // Shards hold it shared: an unsharded run stops at once, while another shard runs.
    r = under_lock("-s ", explain(images, out, ""));
    CHECK(r.code == 1);
    CHECK(r.output == "relprop: error: " + out.string() + " is in use by another relprop run (it holds " + lock +
                          "); wait for it to finish, or use another --out-dir\n");
    r = under_lock("-s ", explain(images, out, "--shard 1/2"));
    CHECK(r.code == 0);
    CHECK(r.output.find("shard 1 of 2 (--shard 1/2): explained 1 of its 1 input(s), 0 already done") != std::string::npos);
}

TEST_CASE("shard: merge and the shards name what is wrong with run.json; none, a file, an unsharded evaluation") {
    const fs::path images = digit_folder("shard-runfile-images", 6);  // shard 1 of 2: img_05
    const fs::path out = scratch_dir("shard-runfile") / "out";
    REQUIRE(relprop_cli(explain(images, out, "--shard 0/2")).code == 0);
    const std::string run_file = (out / "run.json").string(), original = bytes_of(run_file);
    const auto edited = [&](const std::string& from, const std::string& to) {
        std::string text = original;
        REQUIRE(text.find(from) != std::string::npos);
        text.replace(text.find(from), from.size(), to);
        std::ofstream(run_file, std::ios::binary) << text;
    };
    // Before: "relprop: error: stoll" (or stoull, stoi), and a count of -2 gave shards numbered -598... of -2.
    for (const std::string count : {"x", "-2", "0", "99999999999999999999"}) {
        INFO(count);
        edited("\"shards\": 2", "\"shards\": " + count);
        const std::string message = "relprop: error: " + run_file + ": \"shards\": '" + count +
                                    "' is not a shard count from 1 to 1000000 (was the file edited?); restore it, or "
                                    "use another --out-dir\n";
        auto r = relprop_cli("merge " + out.string());
        CHECK(r.code == 1);
        CHECK(r.output == message);
        r = relprop_cli(explain(images, out, "--shard 1/2"));
        CHECK(r.code == 1);
        CHECK(r.output == message);
    }
    edited("\"bytes\": ", "\"bytes\": abc");
    auto r = relprop_cli("merge " + out.string());
    CHECK(r.code == 1);
    CHECK(r.output.starts_with("relprop: error: " + run_file + ": not a run.json of relprop explain or evaluate "
                               "--out-dir (the model file's bytes are 'abc"));
    edited("\"inputs_hex\": [\"", "\"inputs_hex\": [\"zz");
    r = relprop_cli("merge " + out.string());
    CHECK(r.code == 1);
    CHECK(r.output.find(": not a run.json of relprop explain or evaluate --out-dir (inputs_hex holds \"zz") !=
          std::string::npos);
    std::ofstream(run_file, std::ios::binary) << original;
    r = relprop_cli("merge " + out.string());
    CHECK(r.code == 1);
    CHECK(r.output.find(": 1 of 6 input(s) not finished: shard 1 of 2: 1 (" + images.string() + "/img_05.png)") !=
          std::string::npos);

    // An evaluation without --shard: already complete (before: "not a run.json of relprop explain --out-dir").
    const fs::path evaluated = scratch_dir("shard-runfile-evaluate") / "out";
    REQUIRE(relprop_cli("evaluate " + kModel + " " + images.string() +
                        " --no-preprocess --methods gradient --step 64 --out-dir " + evaluated.string())
                .code == 0);
    r = relprop_cli("merge " + evaluated.string());
    CHECK(r.code == 1);
    CHECK(r.output == "relprop: error: " + evaluated.string() + " is not split into shards (" +
                          (evaluated / "run.json").string() + ": an evaluation without --shard): its curves.csv "
                          "and summary.json are already complete; relprop merge is for --shard runs\n");
}

TEST_CASE("shard: an input whose rows in its shard file repeat or cannot be read is redone, not merged twice") {
    // img_00..img_05 in 2 shards: shard 0 has 5, shard 1 has img_05.
    const fs::path images = digit_folder("shard-rows-images", 6);
    const fs::path out = scratch_dir("shard-rows") / "out";
    REQUIRE(relprop_cli(explain(images, out, "--shard 0/2")).code == 0);
    auto r = relprop_cli(explain(images, out, "--shard 1/2"));
    REQUIRE(r.code == 0);
    REQUIRE(r.output.find("every shard is complete: merged 6 input(s), 6 row(s) into index.csv") != std::string::npos);
    const std::string merged = bytes_of(out / "index.csv");
    const fs::path shard0 = out / "index.shard-0-of-2.csv";
    const std::string rows = bytes_of(shard0);
    const size_t second = rows.find('\n') + 1, third = rows.find('\n', second) + 1;
    const std::string first_row = rows.substr(second, third - second), input = first_row.substr(0, first_row.find(','));
    const std::string not_finished = "relprop: error: " + out.string() + ": 1 of 6 input(s) not finished: shard 0 of 2: 1 (" +
                                     input + "); run those shards again (resubmit their tasks), then merge\n";
    // A row twice (before: "merged 6 input(s), 7 row(s)", the input listed twice in index.csv).
    std::ofstream(shard0, std::ios::binary) << rows + first_row;
    r = relprop_cli("merge " + out.string());
    CHECK(r.code == 1);
    CHECK(r.output == not_finished);
    r = relprop_cli(explain(images, out, "--shard 0/2"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("explained 1 of its 5 input(s), 4 already done") != std::string::npos);
    CHECK(r.output.find("every shard is complete: merged 6 input(s), 6 row(s)") != std::string::npos);
    CHECK(bytes_of(out / "index.csv") == merged);
    // A row whose sample is not a number and a good copy of it (before: the unreadable row was skipped and the input counted as done).
    std::string bad = bytes_of(shard0);
    bad.insert(bad.find(input + ",0,") + input.size() + 1, "x");
    std::ofstream(shard0, std::ios::binary) << bad + first_row;
    r = relprop_cli("merge " + out.string());
    CHECK(r.code == 1);
    CHECK(r.output == not_finished);
}

TEST_CASE("shard: rows made under a run.json that was deleted count neither for their shard nor in the merge") {
    const fs::path images = digit_folder("shard-restart-images", 6);  // shard 1 of 2: img_05
    const fs::path out = scratch_dir("shard-restart") / "out", single = scratch_dir("shard-restart-single") / "out";
    // Started over with other settings: without run.json the folder holds nothing finished. Before,
    // shard 0 merged shard 1's rows of the old settings at once ("every shard is complete: merged 6").
    both_shards_then_restart([&](const fs::path& o, const std::string& extra) { return explain(images, o, extra); },
                             out, "--composite epsilon-plus", "explained", "input", (images / "img_05.png").string());
    auto r = relprop_cli("merge " + out.string());
    CHECK(r.code == 1);
    CHECK(r.output.find(": 1 of 6 input(s) not finished: shard 1 of 2: 1 (") != std::string::npos);
    // Shard 1 redoes its input under the new run.json (before: "explained 0 of its 1 input(s), 1 already done").
    r = relprop_cli(explain(images, out, "--shard 1/2 --composite epsilon-plus"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("explained 1 of its 1 input(s), 0 already done") != std::string::npos);
    CHECK(r.output.find("every shard is complete: merged 6 input(s), 6 row(s)") != std::string::npos);
    REQUIRE(relprop_cli(explain(images, single, "--composite epsilon-plus")).code == 0);
    CHECK(bytes_of(out / "index.csv") == bytes_of(single / "index.csv"));
    CHECK(bytes_of(out / "img_05.npy") == bytes_of(single / "img_05.npy"));
}

TEST_CASE("shard: a shard file cut inside the rows of a .npy batch: that input is redone, merge does not count it") {
    const fs::path images = digit_folder("shard-cut-images", 6);  // img_00..img_04 in shard 0 of 2, img_05 in 1
    const std::string npy = kDemo + "digits_batch.npy";           // 6 samples, in shard 0
    const fs::path out = scratch_dir("shard-cut") / "out", single = scratch_dir("shard-cut-single") / "out";
    const auto command = [&](const fs::path& o, const std::string& extra) {
        return "explain " + kModel + " " + images.string() + " " + npy + " --no-preprocess --batch-size 1 --out-dir " +
               o.string() + " " + extra;
    };
    REQUIRE(relprop_cli(command(single, "")).code == 0);
    REQUIRE(relprop_cli(command(out, "--shard 0/2")).code == 0);
    auto r = relprop_cli(command(out, "--shard 1/2"));
    REQUIRE(r.code == 0);
    REQUIRE(r.output.find("every shard is complete: merged 7 input(s), 12 row(s)") != std::string::npos);
    // The batch's rows come last (as its argument does); a kill during their append (a write stops at a
    // page boundary on a fatal signal) left two whole rows and part of the third.
    const fs::path shard0 = out / "index.shard-0-of-2.csv";
    const std::string rows = bytes_of(shard0);
    const size_t third = rows.find(npy + ",2,");
    REQUIRE(third != std::string::npos);
    std::ofstream(shard0, std::ios::binary | std::ios::trunc) << rows.substr(0, third + npy.size() + 5);
    // Before: "merged 7 input(s), 10 row(s)", the batch counted as done with 2 of its 6 samples.
    r = relprop_cli("merge " + out.string());
    CHECK(r.code == 1);
    CHECK(r.output == "relprop: error: " + out.string() + ": 1 of 7 input(s) not finished: shard 0 of 2: 1 (" + npy +
                          "); run those shards again (resubmit their tasks), then merge\n");
    r = relprop_cli(command(out, "--shard 0/2"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("explained 1 of its 6 input(s), 5 already done") != std::string::npos);
    CHECK(r.output.find("every shard is complete: merged 7 input(s), 12 row(s)") != std::string::npos);
    CHECK(bytes_of(out / "index.csv") == bytes_of(single / "index.csv"));
}

TEST_CASE("shard: a merge that has to wait for another says so") {
    const fs::path images = digit_folder("shard-wait-images", 6);
    const fs::path out = scratch_dir("shard-wait") / "out";
    REQUIRE(relprop_cli(explain(images, out, "--shard 0/2")).code == 0);
    REQUIRE(relprop_cli(explain(images, out, "--shard 1/2")).code == 0);
    // Another merge holds the lock for 3 s (flock -o: flock itself, not the merge started under it).
    // Before, the merge waited without a word, like a hang (a suspended job can hold it for hours).
    const std::string lock = (out / ".relprop.merge.lock").string();
    const auto r = run_shell("flock -o " + lock + " -c '" + RELPROP_CLI + " merge " + out.string() + " 2>&1 & sleep 3'");
    CHECK(r.code == 0);
    CHECK(r.output.find("relprop: waiting for " + lock + " (another relprop run holds it)\n") != std::string::npos);
    CHECK(r.output.find("merged 6 input(s), 6 row(s) into " + out.string()) != std::string::npos);
}

TEST_CASE("shard: a name with a line break stays on the one line that says what is not merged") {
    // SHA-256 mod 2: "new\nline.png" is in shard 0, img_05.png in shard 1. Before, the line broke in two.
    const fs::path images = scratch_dir("shard-newline-images");
    fs::copy_file(digit_folder("shard-newline-digits", 6) / "img_05.png", images / "img_05.png",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(images / "img_05.png", images / "new\nline.png", fs::copy_options::overwrite_existing);
    auto r = relprop_cli(explain(images, scratch_dir("shard-newline") / "explained", "--shard 1/2"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("not merged yet: 1 of 2 input(s) not finished: shard 0 of 2: 1 (" + images.string() +
                        "/new\\nline.png); run those shards again") != std::string::npos);
    r = relprop_cli("evaluate " + kModel + " " + images.string() + " --no-preprocess --methods gradient --step 64 "
                    "--out-dir " + (scratch_dir("shard-newline") / "evaluated").string() + " --shard 1/2");
    REQUIRE(r.code == 0);
    CHECK(r.output.find("not merged yet: 1 of 2 sample(s) not finished: shard 0 of 2: 1 (new\\nline); run those shards") !=
          std::string::npos);
}

TEST_CASE("shard: at --batch-size 4 the shards' relevance equals an unsharded run's to float32 rounding") {
    const fs::path images = digit_folder("shard-batch-images", 12);
    const fs::path single = scratch_dir("shard-batch-single") / "out", sharded = scratch_dir("shard-batch-two") / "out";
    REQUIRE(relprop_cli(explain(images, single, "", "4")).code == 0);
    REQUIRE(relprop_cli(explain(images, sharded, "--shard 0/2", "4")).code == 0);
    const auto r = relprop_cli(explain(images, sharded, "--shard 1/2", "4"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("every shard is complete: merged 12 input(s)") != std::string::npos);
    double worst = 0;
    for (int i = 0; i < 12; ++i) {
        const std::string name = std::string("img_") + (i < 10 ? "0" : "") + std::to_string(i) + ".npy";
        worst = std::max(worst, relprop::test::max_rel_error(relprop::read_npy((sharded / name).string()),
                                                             relprop::read_npy((single / name).string())));
    }
    INFO("worst relative difference ", worst);
    CHECK(worst < 1e-5);
}

namespace {

// summary.json without its timing line (the one thing that differs from run to run).
std::string without_timing(const fs::path& p) {
    std::string text = bytes_of(p);
    const size_t at = text.find("  \"timing\": ");
    return at == std::string::npos ? text : text.substr(0, at);
}

std::string evaluate(const fs::path& images, const fs::path& out, const std::string& extra) {
    return "evaluate " + kModel + " " + images.string() +
           " --no-preprocess --methods lrp:epsilon-plus-flat,gradient,random --step 64 --batch-size 1 --out-dir " +
           out.string() + " " + extra;
}

}  // namespace

TEST_CASE("shard: evaluate in three shards writes an unsharded run's curves.csv and summary.json") {
    const fs::path images = digit_folder("evshard-images", 12);
    const fs::path single = scratch_dir("evshard-single") / "out", sharded = scratch_dir("evshard-three") / "out";
    unsharded_then_two_of_three([&](const fs::path& out, const std::string& extra) { return evaluate(images, out, extra); },
                                single, sharded, "evaluated", "sample", {"curves.csv", "summary.json"});

    // By hand, with shard 2 missing: it is named, exit 1, nothing written.
    auto r = relprop_cli("merge " + sharded.string());
    CHECK(r.code == 1);
    CHECK(r.output.find("3 of 12 sample(s) not finished: shard 2 of 3: 3 (img_03, img_04, img_08);") != std::string::npos);
    CHECK(r.output.find("run those shards again (resubmit their tasks), then merge") != std::string::npos);
    CHECK(!fs::exists(sharded / "curves.csv"));

    // Another setting (--seed) is refused before anything is written; so is another shard count.
    r = relprop_cli(evaluate(images, sharded, "--shard 2/3 --seed 5"));
    CHECK(r.code == 1);
    CHECK(r.output.find("holds results of other settings") != std::string::npos);
    r = relprop_cli(evaluate(images, sharded, "--shard 2/4"));
    CHECK(r.code == 1);
    CHECK(r.output.find("is split into 3 shards") != std::string::npos);
    // An unsharded run on the sharded folder is refused.
    r = relprop_cli(evaluate(images, sharded, ""));
    CHECK(r.code == 1);
    CHECK(r.output.find("is split into shards") != std::string::npos);
    CHECK(!fs::exists(sharded / "curves.csv"));

    // The last shard writes the outputs, equal to the unsharded run's.
    r = relprop_cli(evaluate(images, sharded, "--shard auto/3"), kNoScheduler + "JOB_COMPLETION_INDEX=2 ");
    REQUIRE(r.code == 0);
    CHECK(r.output.find("shard 2 of 3 (JOB_COMPLETION_INDEX=2, --shard auto/3): evaluated 3 of its 3 sample(s)") !=
          std::string::npos);
    CHECK(r.output.find("every shard is complete") != std::string::npos);
    CHECK(bytes_of(sharded / "curves.csv") == bytes_of(single / "curves.csv"));
    CHECK(bytes_of(sharded / "curves.csv").size() > 1000);
    CHECK(without_timing(sharded / "summary.json") == without_timing(single / "summary.json"));
    CHECK(bytes_of(sharded / "plot.pixel-flipping.png") == bytes_of(single / "plot.pixel-flipping.png"));

    // Resume per shard: one sample's curves removed are redone by its shard alone, which writes the
    // outputs again.
    fs::remove(sharded / "samples" / "img_03.csv");  // one of shard 2's (named by the merge above)
    r = relprop_cli(evaluate(images, sharded, "--shard 2/3"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("evaluated 1 of its 3 sample(s), 2 already done") != std::string::npos);
    CHECK(bytes_of(sharded / "curves.csv") == bytes_of(single / "curves.csv"));

    // relprop merge of the complete folder writes the same files again, from the samples alone.
    fs::remove(sharded / "curves.csv");
    fs::remove(sharded / "summary.json");
    r = relprop_cli("merge " + sharded.string());
    CHECK(r.code == 0);
    CHECK(bytes_of(sharded / "curves.csv") == bytes_of(single / "curves.csv"));
    CHECK(without_timing(sharded / "summary.json") == without_timing(single / "summary.json"));
}

TEST_CASE("shard: evaluate after run.json was deleted: earlier curves count neither for shards nor unsharded") {
    const fs::path images = digit_folder("evshard-restart-images", 6);  // shard 1 of 2: img_05
    const fs::path out = scratch_dir("evshard-restart") / "out", single = scratch_dir("evshard-restart-single") / "out";
    // Before: "evaluated 0 of its 5 sample(s), 5 already done" and curves.csv of seed 0 under --seed 5.
    both_shards_then_restart([&](const fs::path& o, const std::string& extra) { return evaluate(images, o, extra); },
                             out, "--seed 5", "evaluated", "sample", "img_05");
    auto r = relprop_cli(evaluate(images, out, "--shard 1/2 --seed 5"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("evaluated 1 of its 1 sample(s), 0 already done") != std::string::npos);
    CHECK(r.output.find("every shard is complete") != std::string::npos);
    REQUIRE(relprop_cli(evaluate(images, single, "--seed 5")).code == 0);
    CHECK(bytes_of(out / "curves.csv") == bytes_of(single / "curves.csv"));
    // Unsharded the same (before: "0 of 6 samples evaluated in this run").
    fs::remove(single / "run.json");
    r = relprop_cli(evaluate(images, single, "--seed 7"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("(6 of 6 samples evaluated in this run)") != std::string::npos);
}

TEST_CASE("shard: evaluate --shard needs --out-dir") {
    const auto r = relprop_cli("evaluate " + kModel + " " + kDemo + " --no-preprocess --shard 0/2");
    CHECK(r.code == 1);
    CHECK(r.output.find("--shard splits the samples of an --out-dir evaluation among processes: give --out-dir DIR") !=
          std::string::npos);
}

TEST_CASE("shard: evaluate's random maps and uniform noise follow the input names: inputs added between runs change nothing") {
    // img_00..img_03 first, then a_00 and a_01, which sort before them (every earlier sample moves by two).
    const fs::path images = digit_folder("evseed-images", 4);
    const fs::path resumed = scratch_dir("evseed-resumed") / "out", sharded = scratch_dir("evseed-sharded") / "out",
                   single = scratch_dir("evseed-single") / "out";
    const std::string extra = "--fill uniform --seed 3";
    auto r = relprop_cli(evaluate(images, resumed, extra));
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("(4 of 4 samples evaluated in this run)") != std::string::npos);
    r = relprop_cli(evaluate(images, sharded, extra + " --shard 0/2"));
    REQUIRE(r.code == 0);
    for (const char* name : {"a_00.png", "a_01.png"})
        fs::copy_file(kDemo + (name[3] == '0' ? "digit_52_7.png" : "digit_190_3.png"), images / name);

    r = relprop_cli(evaluate(images, resumed, extra));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("(2 of 6 samples evaluated in this run)") != std::string::npos);
    REQUIRE(relprop_cli(evaluate(images, sharded, extra + " --shard 1/2")).code == 0);
    r = relprop_cli(evaluate(images, sharded, extra + " --shard 0/2"));
    REQUIRE(r.code == 0);
    CHECK(r.output.find("every shard is complete") != std::string::npos);
    REQUIRE(relprop_cli(evaluate(images, single, extra)).code == 0);

    CHECK(bytes_of(single / "curves.csv").size() > 1000);
    CHECK(bytes_of(resumed / "curves.csv") == bytes_of(single / "curves.csv"));
    CHECK(without_timing(resumed / "summary.json") == without_timing(single / "summary.json"));
    CHECK(bytes_of(sharded / "curves.csv") == bytes_of(single / "curves.csv"));
    CHECK(without_timing(sharded / "summary.json") == without_timing(single / "summary.json"));
}
