// `relprop explain MODEL INPUTS... --out-dir DIR`: the batch mode for folders of images. Inputs are
// loaded and explained `--batch-size` at a time; each sample gets DIR/<name>.npy (its relevance) and,
// for image-shaped inputs, DIR/<name>.png (its heatmap); DIR/index.csv gets a row per sample as each
// batch finishes, and DIR/index.json lists them all at the end. A rerun with the same settings
// (DIR/run.json) skips the inputs whose outputs are there, so an interrupted run resumes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "engine/error.h"
#include "io/npy.h"
#include "tools/cli/batches.h"
#include "tools/cli/inputs.h"
#include "tools/cli/json.h"

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

// The fields of one CSV line (RFC 4180 quoting; no line breaks inside fields).
std::vector<std::string> csv_split(const std::string& line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            fields.back() += '"';
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    return fields;
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
    std::ifstream in(dir / "index.csv");
    std::string line;
    if (!std::getline(in, line) || line != kHeader) return rows;
    while (std::getline(in, line)) {
        const std::vector<std::string> f = csv_split(line);
        if (f.size() != 9) continue;  // a line cut short by an interruption
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

void write_text(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush()) throw Error(tmp.string() + ": cannot write");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error(path.string() + ": cannot write: " + ec.message());
}

void append_rows(const fs::path& dir, const std::vector<Row>& rows) {
    std::ofstream out(dir / "index.csv", std::ios::app);
    for (const Row& r : rows) out << csv_line(r) << '\n';
    if (!out.flush()) throw Error((dir / "index.csv").string() + ": cannot write");
}

std::string index_json(const std::string& settings, const std::vector<Row>& rows) {
    std::string s = "{\n  \"settings\": " + settings + ",\n  \"samples\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        s += "    {\"input\": " + json_string(r.input) + ", \"sample\": " + std::to_string(r.sample) +
             ", \"name\": " + json_string(r.name) + ", \"prediction\": " + std::to_string(r.prediction) +
             ", \"target\": " + std::to_string(r.target) + ", \"target_logit\": " + json_number(r.target_logit) +
             ", \"relevance_sum\": " + json_number(r.relevance_sum) + ", \"relevance\": " + json_string(r.relevance) +
             ", \"heatmap\": " + (r.heatmap.empty() ? std::string("null") : json_string(r.heatmap)) + "}" +
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

// Two inputs whose samples would write the same output file are refused up front.
void check_unique_stems(const std::vector<std::string>& files) {
    std::map<std::string, std::string> seen;
    for (const std::string& f : files) {
        const std::string stem = fs::path(f).stem().string();
        const auto [it, fresh] = seen.emplace(stem, f);
        if (!fresh)
            throw Error("--out-dir: " + it->second + " and " + f + " would both write '" + stem +
                        "' outputs; give inputs with different file names");
    }
}

}  // namespace

int run_explain_dir(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo) {
    const std::vector<int64_t> targets = parse_targets(eo.target);
    if (targets.size() > 1) throw Error("--out-dir takes --target argmax or one class for every input, not a list");
    const fs::path dir(oo.out_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) throw Error(oo.out_dir + ": cannot create the output folder" + (ec ? ": " + ec.message() : ""));

    const std::string settings = settings_json(mo, io, eo, oo);
    const fs::path run_file = dir / "run.json";
    if (fs::exists(run_file, ec)) {
        std::ifstream in(run_file);
        std::string previous((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!previous.empty() && previous.back() == '\n') previous.pop_back();
        if (previous != settings)
            throw Error(oo.out_dir + " holds results of other settings (" + run_file.string() +
                        "); use another --out-dir, or delete it to start over");
    } else {
        write_text(run_file, settings + "\n");
    }

    const std::vector<std::string> files = list_inputs(io);
    check_unique_stems(files);
    std::vector<Row> rows = read_index(dir);
    std::set<std::string> done;
    for (const Row& r : rows) done.insert(r.input);
    // Rows of inputs no longer finished are dropped: rewrite the index with the ones kept.
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
                const std::string npy_tmp = (dir / (row.relevance + ".tmp")).string();
                write_npy(npy_tmp, one);
                fs::rename(npy_tmp, dir / row.relevance);
                if (one.rank() == 4) {
                    row.heatmap = row.name + ".png";
                    const std::string png_tmp = (dir / (row.name + ".tmp.png")).string();
                    write_heatmap(one, batch.shown[i], oo, png_tmp);
                    fs::rename(png_tmp, dir / row.heatmap);
                }
                fresh.push_back(row);
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
