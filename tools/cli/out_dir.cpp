// `relprop explain MODEL INPUTS... --out-dir DIR`: the batch mode for folders of images. Inputs are
// loaded and explained `--batch-size` at a time; each sample gets DIR/<name>.npy (its relevance) and,
// for image-shaped inputs, DIR/<name>.png (its heatmap); DIR/index.csv gets a row per sample as each
// batch finishes, and DIR/index.json lists them all at the end. A rerun with the same settings and
// model (DIR/run.json, written once the first batch is done) skips the inputs whose outputs are there,
// so an interrupted run resumes. One run at a time per folder (tools/cli/folder_lock.h); every file is
// written all or nothing (io/file_write.h). With --shard K/N (tools/cli/shard.h) a run explains only
// its share into the shared folder: its rows go to DIR/index.shard-K-of-N.csv, it locks its shard
// (and the folder shared), and the shard that finds every other one complete merges the index
// (tools/cli/merge.h).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "relprop/error.hpp"
#include "io/file_write.h"
#include "relprop/heatmap.hpp"
#include "relprop/npy.hpp"
#include "tools/cli/batches.h"
#include "tools/cli/folder_lock.h"
#include "tools/cli/index_rows.h"
#include "tools/cli/inputs.h"
#include "tools/cli/json.h"
#include "tools/cli/merge.h"
#include "tools/cli/output_paths.h"
#include "tools/cli/run_file.h"
#include "tools/cli/shard.h"
#include "tools/cli/sha256.h"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) { write_file_atomic(path.string(), text); }

void append_rows(const fs::path& index_file, const std::vector<Row>& rows) {
    std::string text;
    for (const Row& r : rows) text += csv_line(r) + "\n";
    append_file_durable(index_file.string(), text);
}

// Everything that changes what an output holds: a rerun with other settings must not mix results.
std::string settings_json(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo,
                          const OutputOptions& oo) {
    std::string rules;
    for (const std::string& r : mo.rules) rules += (rules.empty() ? "" : ", ") + json_string(r);
    std::ostringstream s;
    s << "{\"model\": " << json_string(fs::absolute(mo.model).lexically_normal().string())
      << ", \"canonize\": " << json_string(mo.canonize) << ", \"method\": " << json_string(eo.method)
      << ", \"composite\": " << json_string(mo.composite) << ", \"rules\": [" << rules << "]"
      << ", \"epsilon\": " << json_number(mo.epsilon) << ", \"zero_bias\": " << (mo.zero_bias ? "true" : "false")
      << ", \"low\": " << json_string(mo.low) << ", \"high\": " << json_string(mo.high)
      << ", \"target\": " << json_string(eo.target) << ", \"init\": " << json_string(eo.init)
      << ", \"explain_output\": " << json_string(eo.explain_output)
      << ", \"noise_level\": " << json_number(eo.noise_level) << ", \"samples\": " << eo.samples
      << ", \"seed\": " << eo.seed << ", \"steps\": " << eo.steps << ", \"baseline\": " << json_string(eo.baseline)
      << ", \"window\": " << json_string(eo.window) << ", \"stride\": " << json_string(eo.stride)
      << ", \"fill\": " << json_number(eo.fill) << ", \"occlusion_mode\": " << json_string(eo.occlusion_mode)
      << ", \"with_rules\": " << (eo.with_rules ? "true" : "false") << ", \"resize\": " << io.resize
      << ", \"crop\": " << io.crop << ", \"mean\": " << json_string(io.mean) << ", \"std\": " << json_string(io.std)
      << ", \"scale\": " << json_string(io.scale) << ", \"no_preprocess\": " << (io.no_preprocess ? "true" : "false")
      << ", \"cmap\": " << json_string(oo.cmap) << ", \"asymmetric\": " << (oo.asymmetric ? "true" : "false")
      << ", \"overlay\": " << (oo.overlay ? "true" : "false") << ", \"heatmap_scale\": " << oo.heatmap_scale << "}";
    return s.str();
}

// Temporary files of runs that died (their process is gone) are removed. Only this machine's: a
// temporary name holds the writer's host (io/file_write.h), and a process id means nothing on another
// host (shards on other nodes write into the same folder). Names without a host (older runs) count as
// this machine's. The folder (or this shard) is locked, so no live run of relprop here writes them.
void remove_stale_temporaries(const fs::path& dir) {
    std::error_code ec;
    const std::string host = temp_host();
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (!name.starts_with(kTempPrefix) || !name.ends_with(".tmp")) continue;
        const size_t pid_end = name.find('-', kTempPrefix.size()), last = name.rfind('-');
        const std::string pid = name.substr(kTempPrefix.size(), pid_end - kTempPrefix.size());
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
        if (last != pid_end && name.substr(pid_end + 1, last - pid_end - 1) != host) continue;
        if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
    }
}

}  // namespace

int run_explain_dir(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo) {
    const std::vector<int64_t> targets = parse_targets(eo.target);
    if (targets.size() > 1) throw Error("--out-dir takes --target argmax or one class for every input, not a list");
    const Shard shard = parse_shard(oo.shard, process_environment());
    const std::vector<std::string> files = list_inputs(io);
    check_outputs(mo, io, eo, oo, files);  // before anything is written; names are checked over all shards
    RunIdentity identity{"", digest_file(mo.model), shard.count, "", {}};
    if (shard.active()) {
        identity.cwd = fs::current_path().string();
        identity.inputs = io.inputs;
    }
    const fs::path dir(oo.out_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) throw Error(oo.out_dir + ": cannot create the output folder" + (ec ? ": " + ec.message() : ""));
    // The folder's lock, shared by its shards (an unsharded run holds it alone), and the shard's own.
    const std::string scope =
        shard.active() ? " (shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count) + ")" : "";
    const FolderLock lock(oo.out_dir, kLockFileName, scope, shard.active() ? LockMode::Shared : LockMode::Exclusive);
    std::optional<FolderLock> shard_lock;
    if (shard.active()) shard_lock.emplace(oo.out_dir, ".relprop." + shard.tag() + ".lock", scope);

    identity.settings = settings_json(mo, io, eo, oo);
    const fs::path run_file = dir / "run.json";
    bool pinned = fs::exists(run_file, ec);
    if (pinned) check_run_file(run_file, identity, oo.out_dir);
    remove_stale_temporaries(dir);

    // Rows count only under the run.json they were made with (a shard's: the one its mark names); rows
    // of inputs no longer finished are dropped: the index is rewritten with the ones kept.
    const std::string index_name = shard.active() ? "index." + shard.tag() + ".csv" : "index.csv";
    const fs::path index_file = dir / index_name;
    bool rows_current = pinned && (!shard.active() || shard_rows_current(dir, shard.tag()));
    std::vector<Row> rows = rows_current ? read_index(dir, index_name) : std::vector<Row>{};
    std::set<std::string> done;
    for (const Row& r : rows) done.insert(r.input);
    write_text(index_file, index_csv(rows));

    const std::vector<std::string> mine = inputs_of_shard(shard, files);
    std::vector<std::string> todo;
    for (const std::string& f : mine)
        if (!done.count(f)) todo.push_back(f);
    const size_t skipped = mine.size() - todo.size();

    int64_t explained = 0;
    if (!todo.empty()) {
        const Model model = open_model(mo);
        const bool images = std::any_of(files.begin(), files.end(), [](const std::string& f) {
            return fs::path(f).extension() != ".npy";
        });
        const Attributor explain(model, attributor_options(model, mo, io, eo, images));
        const bool progress = isatty(STDERR_FILENO);
        for (size_t first = 0; first < todo.size(); first += static_cast<size_t>(eo.batch_size)) {
            const std::vector<std::string> chunk(todo.begin() + first,
                                                 todo.begin() + std::min(todo.size(), first + eo.batch_size));
            const Batch batch = load_files(chunk, io, model.input_shape(), mo.allow_nonfinite);
            const Explained r = explain_in_slices(explain, batch.data, targets, eo.batch_size);
            const int64_t n = batch.data.dim(0), classes = r.logits.numel() / n;
            const std::vector<double> sums = per_sample_sums(r.relevance);
            std::vector<Row> fresh;
            std::vector<FileBytes> outputs;
            std::map<std::string, int64_t> sample_of;
            for (int64_t i = 0; i < n; ++i) {
                Row row;
                row.input = batch.sources[i];
                row.sample = sample_of[row.input]++;
                row.name = batch.names[i];
                const float* logits = r.logits.data() + i * classes;
                row.prediction = std::max_element(logits, logits + classes) - logits;
                row.target = r.targets[i];
                row.target_logit = logits[row.target];
                row.relevance_sum = sums[i];
                row.relevance = row.name + ".npy";
                const Tensor one = slice_batch(r.relevance, i, 1);
                outputs.push_back({(dir / row.relevance).string(), serialize_npy(one), ".npy file"});
                if (one.rank() == 4) {
                    row.heatmap = row.name + ".png";
                    outputs.push_back({(dir / row.heatmap).string(), encode_png(heatmap_image(one, batch.shown[i], oo)),
                                       "the PNG"});
                }
                fresh.push_back(row);
            }
            // The first batch is done: from now on the folder belongs to these settings. Shards pin it
            // before writing their first outputs, so that a shard another one's run.json refuses
            // writes nothing; the single writer of an unsharded folder pins it after them.
            if (!pinned && shard.active()) pin_run_file(run_file, identity, oo.out_dir);
            if (!rows_current && shard.active()) record_shard_rows_run(dir, shard.tag());
            rows_current = true;
            write_files_atomic(outputs);
            if (!pinned && !shard.active()) pin_run_file(run_file, identity, oo.out_dir);
            pinned = true;
            append_rows(index_file, fresh);  // a file's rows appear only once all its outputs are written
            rows.insert(rows.end(), fresh.begin(), fresh.end());
            explained += static_cast<int64_t>(chunk.size());
            if (progress)
                std::fprintf(stderr, "\rexplained %lld/%zu", static_cast<long long>(explained), todo.size());
        }
        if (progress) std::fprintf(stderr, "\n");
    }
    if (!shard.active()) {
        write_text(dir / "index.json", index_json(identity.settings, rows));
        std::printf("explained %lld input(s), %zu already done, into %s (index.csv, index.json)\n",
                    static_cast<long long>(explained), skipped, oo.out_dir.c_str());
        return 0;
    }
    std::printf("shard %lld of %lld (%s): explained %lld of its %zu input(s), %zu already done, into %s (%s)\n",
                static_cast<long long>(shard.index), static_cast<long long>(shard.count), shard.origin.c_str(),
                static_cast<long long>(explained), mine.size(), skipped, oo.out_dir.c_str(), index_name.c_str());
    if (!fs::exists(run_file, ec)) {  // this shard had nothing to do, and no shard has finished a batch
        std::printf("no shard has finished a batch yet: nothing to merge\n");
        return 0;
    }
    const MergeResult merged = merge_shards(oo.out_dir);
    if (merged.merged)
        std::printf("every shard is complete: merged %zu input(s), %zu row(s) into index.csv, index.json\n",
                    merged.inputs, merged.rows);
    else
        std::printf("not merged yet: %s (the last shard to finish merges, or run `relprop merge %s`)\n",
                    printable(merged.problems).c_str(), oo.out_dir.c_str());  // one line, whatever the names
    return 0;
}

}  // namespace relprop::cli
