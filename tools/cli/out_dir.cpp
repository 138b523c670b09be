// `relprop explain MODEL INPUTS... --out-dir DIR`: the batch mode for folders of images. Inputs are
// loaded and explained `--batch-size` at a time; each sample gets DIR/<name>.npy (its relevance) and,
// for image-shaped inputs, DIR/<name>.png (its heatmap); DIR/index.csv gets a row per sample as each
// batch finishes, and DIR/index.json lists them all at the end. A rerun with the same settings and
// model (DIR/run.json, written once the first batch is done) skips the inputs whose outputs are there,
// so an interrupted run resumes. One run at a time per folder (tools/cli/folder_lock.h); every file is
// written all or nothing (io/file_write.h).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "relprop/error.hpp"
#include "io/file_write.h"
#include "relprop/heatmap.hpp"
#include "relprop/npy.hpp"
#include "tools/cli/batches.h"
#include "tools/cli/folder_lock.h"
#include "tools/cli/inputs.h"
#include "tools/cli/json.h"
#include "tools/cli/output_paths.h"
#include "tools/cli/sha256.h"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

struct Row {
    std::string input, name, relevance, heatmap;
    int64_t sample = 0, prediction = 0, target = 0;
    double target_logit = 0, relevance_sum = 0;
};

const char* const kHeader = "input,sample,name,prediction,target,target_logit,relevance_sum,relevance,heatmap";

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// The complete records of a CSV text (RFC 4180: a quoted field may hold commas, quotes and line
// breaks). A last record without its line end was cut short by an interruption and is left out.
std::vector<std::vector<std::string>> csv_records(const std::string& text) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted && c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
            fields.back() += '"';
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            fields.emplace_back();
        } else if (c == '\n' && !quoted) {
            records.push_back(std::move(fields));
            fields.assign(1, "");
        } else {
            fields.back() += c;
        }
    }
    return records;
}

std::string csv_line(const Row& r) {
    return csv_field(r.input) + "," + std::to_string(r.sample) + "," + csv_field(r.name) + "," +
           std::to_string(r.prediction) + "," + std::to_string(r.target) + "," + json_number(r.target_logit) + "," +
           json_number(r.relevance_sum) + "," + csv_field(r.relevance) + "," + csv_field(r.heatmap);
}

// The rows of a previous run whose outputs still exist; an input with any output missing is redone
// whole (all rows of its samples dropped).
std::vector<Row> read_index(const fs::path& dir) {
    std::vector<Row> rows;
    std::set<std::string> incomplete;
    std::ifstream in(dir / "index.csv", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::vector<std::vector<std::string>> records = csv_records(text);
    if (records.empty() || csv_records(std::string(kHeader) + "\n")[0] != records[0]) return rows;
    for (size_t k = 1; k < records.size(); ++k) {
        const std::vector<std::string>& f = records[k];
        if (f.size() != 9) continue;
        try {
            Row r{f[0], f[2], f[7], f[8], std::stoll(f[1]), std::stoll(f[3]), std::stoll(f[4]),
                  f[5] == "null" ? NAN : std::stod(f[5]), f[6] == "null" ? NAN : std::stod(f[6])};
            std::error_code ec;
            if (fs::exists(dir / r.relevance, ec) && (r.heatmap.empty() || fs::exists(dir / r.heatmap, ec)))
                rows.push_back(r);
            else
                incomplete.insert(r.input);
        } catch (const std::exception&) {
        }
    }
    std::erase_if(rows, [&](const Row& r) { return incomplete.count(r.input) > 0; });
    return rows;
}

void write_text(const fs::path& path, const std::string& text) { write_file_atomic(path.string(), text); }

void append_rows(const fs::path& dir, const std::vector<Row>& rows) {
    std::string text;
    for (const Row& r : rows) text += csv_line(r) + "\n";
    append_file_durable((dir / "index.csv").string(), text);
}

std::string index_json(const std::string& settings, const std::vector<Row>& rows) {
    std::string s = "{\n  \"settings\": " + settings + ",\n  \"samples\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        s += "    {" + json_name("input", r.input) + ", \"sample\": " + std::to_string(r.sample) + ", " +
             json_name("name", r.name) + ", \"prediction\": " + std::to_string(r.prediction) +
             ", \"target\": " + std::to_string(r.target) + ", \"target_logit\": " + json_number(r.target_logit) +
             ", \"relevance_sum\": " + json_number(r.relevance_sum) + ", " + json_name("relevance", r.relevance) +
             ", " + (r.heatmap.empty() ? std::string("\"heatmap\": null") : json_name("heatmap", r.heatmap)) + "}" +
             (i + 1 < rows.size() ? "," : "") + "\n";
    }
    return s + "  ]\n}\n";
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

// run.json: the settings and the model file (size and sha256 of its bytes) the folder was started with.
std::string run_json(const std::string& settings, const FileDigest& model) {
    return "{\"settings\": " + settings + ", \"model_file\": {\"bytes\": " + std::to_string(model.size) +
           ", \"sha256\": \"" + model.sha256 + "\"}}\n";
}

// A rerun must use the settings and the model file the folder was started with.
void check_run_file(const fs::path& run_file, const std::string& settings, const FileDigest& model,
                    const std::string& out_dir) {
    std::ifstream in(run_file, std::ios::binary);
    const std::string previous((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string expected = run_json(settings, model);
    if (previous == expected) return;
    const std::string same_settings = "{\"settings\": " + settings + ", \"model_file\": ";
    if (!previous.starts_with(same_settings))
        throw Error(out_dir + " holds results of other settings (" + run_file.string() +
                    "); use another --out-dir, or delete it to start over");
    throw Error(out_dir + ": the model file changed since this folder was started (" + run_file.string() + ": " +
                previous.substr(same_settings.size(), previous.find('}', same_settings.size()) + 1 - same_settings.size()) +
                "; now " + std::to_string(model.size) + " bytes, sha256 " + model.sha256 +
                "); use another --out-dir for the new model, or restore the old one");
}

// Temporary files of runs that died (their process is gone) are removed; the folder is locked, so no
// live run of relprop writes into it.
void remove_stale_temporaries(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (!name.starts_with(kTempPrefix) || !name.ends_with(".tmp")) continue;
        const std::string pid = name.substr(kTempPrefix.size(), name.find('-', kTempPrefix.size()) - kTempPrefix.size());
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
        if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
    }
}

}  // namespace

int run_explain_dir(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo) {
    const std::vector<int64_t> targets = parse_targets(eo.target);
    if (targets.size() > 1) throw Error("--out-dir takes --target argmax or one class for every input, not a list");
    const std::vector<std::string> files = list_inputs(io);
    check_outputs(mo, io, eo, oo, files);  // before anything is written
    const FileDigest model_digest = digest_file(mo.model);
    const fs::path dir(oo.out_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) throw Error(oo.out_dir + ": cannot create the output folder" + (ec ? ": " + ec.message() : ""));
    const FolderLock lock(oo.out_dir);
    remove_stale_temporaries(dir);

    const std::string settings = settings_json(mo, io, eo, oo);
    const fs::path run_file = dir / "run.json";
    bool pinned = fs::exists(run_file, ec);
    if (pinned) check_run_file(run_file, settings, model_digest, oo.out_dir);

    // Rows count only under the run.json they were made with; rows of inputs no longer finished are
    // dropped: the index is rewritten with the ones kept.
    std::vector<Row> rows = pinned ? read_index(dir) : std::vector<Row>{};
    std::set<std::string> done;
    for (const Row& r : rows) done.insert(r.input);
    std::string kept = std::string(kHeader) + "\n";
    for (const Row& r : rows) kept += csv_line(r) + "\n";
    write_text(dir / "index.csv", kept);

    std::vector<std::string> todo;
    for (const std::string& f : files)
        if (!done.count(f)) todo.push_back(f);
    const size_t skipped = files.size() - todo.size();

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
            write_files_atomic(outputs);
            if (!pinned) {  // the first batch is done: from now on the folder belongs to these settings
                write_text(run_file, run_json(settings, model_digest));
                pinned = true;
            }
            append_rows(dir, fresh);  // a file's rows appear only once all its outputs are written
            rows.insert(rows.end(), fresh.begin(), fresh.end());
            explained += static_cast<int64_t>(chunk.size());
            if (progress)
                std::fprintf(stderr, "\rexplained %lld/%zu", static_cast<long long>(explained), todo.size());
        }
        if (progress) std::fprintf(stderr, "\n");
    }
    write_text(dir / "index.json", index_json(settings, rows));
    std::printf("explained %lld input(s), %zu already done, into %s (index.csv, index.json)\n",
                static_cast<long long>(explained), skipped, oo.out_dir.c_str());
    return 0;
}

}  // namespace relprop::cli
