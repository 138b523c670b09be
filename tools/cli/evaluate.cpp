// `relprop evaluate`: the inputs are evaluated --batch-size samples at a time through relprop::evaluate;
// the curves, scores and summary are printed or written (curves.csv, JSON, PNG plots). Every file is
// written under a temporary name and renamed, so an error or a kill leaves no half-written output.
// With --out-dir each sample's curves are kept in DIR/samples/<name>.csv as soon as its chunk is done,
// and a rerun with the same settings (DIR/run.json) evaluates only the samples that are missing.
// With --shard K/N (tools/cli/shard.h, the split of `relprop explain`) a run evaluates only the samples
// of its share of the input files into the shared folder, locks its shard (and the folder shared, as
// explain does), and the shard that finds every sample of every shard finished writes curves.csv,
// summary.json and the plots.
#include "tools/cli/evaluate.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "relprop/error.hpp"
#include "io/file_write.h"
#include "relprop/heatmap.hpp"
#include "relprop/npy.hpp"
#include "io/plot.h"
#include "relprop/evaluate.hpp"
#include "tools/cli/batches.h"
#include "tools/cli/inputs.h"
#include "tools/cli/evaluate_merge.h"
#include "tools/cli/folder_lock.h"
#include "tools/cli/json.h"
#include "tools/cli/output_paths.h"
#include "tools/cli/run_file.h"
#include "tools/cli/sha256.h"
#include "tools/cli/shard.h"

namespace relprop::cli {

namespace fs = std::filesystem;

CLI::App* add_evaluate_command(CLI::App& app, EvaluateCommand& c) {
    CLI::App* ev = app.add_subcommand(
        "evaluate", "perturbation curves (pixel flipping, region perturbation), AOPC/ABPC/AUC per method, plots");
    add_model_options(*ev, c.model, true);
    add_input_options(*ev, c.inputs);
    ev->add_option("--methods", c.methods,
                   "comma list of SPEC: lrp, lrp:COMPOSITE, gradient, input-x-gradient, integrated-gradients, "
                   "smoothgrad, occlusion, random, random:SEED, file:DIR (relevance DIR/<input>.npy) "
                   "(default lrp,gradient,random)");
    ev->add_option("--metric", c.metric, "pixel-flipping, region-perturbation or both (default pixel-flipping)")
        ->check(CLI::IsMember({"pixel-flipping", "region-perturbation", "both"}));
    ev->add_option("--step", c.step,
                   "pixels (pixel flipping) or regions (region perturbation) perturbed per step (default: 1/100 of them)");
    ev->add_option("--patch", c.patch, "region perturbation: the regions' side in pixels (default 4)");
    ev->add_option("--fill", c.fill, "what perturbed pixels become: a value (default 0), mean, blur or uniform");
    ev->add_option("--blur-sigma", c.blur_sigma, "--fill blur: the Gaussian's sigma in pixels (default 2)");
    ev->add_option("--seed", c.seed, "--fill uniform and random maps without :SEED: the seed (default 0)");
    ev->add_option("--batch-size", c.batch_size, "perturbed inputs per forward pass and samples per chunk (default 32)");
    ev->add_option("--target", c.target, "argmax, N, or N,M,... one per sample (default argmax)");
    ev->add_option("--noise-level", c.method.noise_level, "smoothgrad: noise sigma / (max - min) (default 0.1)");
    ev->add_option("--samples", c.method.samples, "smoothgrad: gradients averaged (default 20)");
    ev->add_option("--window", c.method.window, "occlusion: window H,W (default 8)");
    ev->add_option("--explain-output", c.method.explain_output,
                   "a model ending in a Softmax: explain and perturb by its logits (the Softmax's input; default) "
                   "or its probabilities (the Softmax kept)")
        ->check(CLI::IsMember({"logits", "probabilities"}));
    ev->add_option("--curves", c.curves, "write every curve to FILE.csv (long format)");
    ev->add_option("--plot", c.plot, "write the mean curves per method to FILE.png (FILE.<metric>.png for both metrics)");
    ev->add_option("--out-dir", c.out_dir,
                   "write DIR/curves.csv, DIR/summary.json and DIR/plot.<metric>.png; a rerun resumes "
                   "(samples already done are kept)");
    ev->add_option("--shard", c.shard,
                   "with --out-dir: evaluate the samples of one share of the inputs, K/N (0 <= K < N), or auto / "
                   "auto/N from a Slurm array, Slurm steps or a Kubernetes Indexed Job (see README, Cluster runs)");
    ev->add_flag("--json", c.json, "print the summary and per-sample scores as JSON");
    return ev;
}

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) items.push_back(item);
    return items;
}

EvaluateOptions evaluate_options(const EvaluateCommand& c) {
    EvaluateOptions o;
    if (c.metric == "both") o.metrics = {PerturbationMetric::PixelFlipping, PerturbationMetric::RegionPerturbation};
    else if (c.metric == "region-perturbation") o.metrics = {PerturbationMetric::RegionPerturbation};
    else o.metrics = {PerturbationMetric::PixelFlipping};
    if (c.step < 0) throw Error("--step must be >= 1 (or 0: one hundredth of the image)");
    if (c.batch_size < 1) throw Error("--batch-size must be >= 1");
    o.step = c.step;
    o.patch = c.patch;
    o.blur_sigma = c.blur_sigma;
    o.seed = c.seed;
    o.batch_size = c.batch_size;
    o.explain_output = explain_output_of(c.method);
    if (c.fill == "mean") o.fill = PerturbationFill::ChannelMean;
    else if (c.fill == "blur") o.fill = PerturbationFill::Blur;
    else if (c.fill == "uniform") o.fill = PerturbationFill::UniformNoise;
    else o.fill_value = parse_floats(c.fill, "--fill (a value, mean, blur or uniform)").at(0);
    return o;
}

// Everything that changes a sample's curves: a resumed run must have the same.
std::string settings_json(const EvaluateCommand& c, const std::vector<std::string>& specs) {
    std::string s = "{\"model\": " + json_string(fs::absolute(c.model.model).string()) + ", \"methods\": [";
    for (size_t i = 0; i < specs.size(); ++i) s += (i ? ", " : "") + json_string(specs[i]);
    const InputOptions& io = c.inputs;
    const ModelOptions& mo = c.model;
    s += "], \"metric\": " + json_string(c.metric) + ", \"step\": " + std::to_string(c.step) +
         ", \"patch\": " + std::to_string(c.patch) + ", \"fill\": " + json_string(c.fill) +
         ", \"blur_sigma\": " + json_number(c.blur_sigma) + ", \"seed\": " + std::to_string(c.seed) +
         ", \"target\": " + json_string(c.target) + ", \"explain_output\": " + json_string(c.method.explain_output) +
         ", \"composite\": " + json_string(mo.composite) +
         ", \"canonize\": " + json_string(mo.canonize) + ", \"epsilon\": " + json_number(mo.epsilon) +
         ", \"zero_bias\": " + (mo.zero_bias ? "true" : "false") + ", \"low\": " + json_string(mo.low) +
         ", \"high\": " + json_string(mo.high) + ", \"rules\": [";
    for (size_t i = 0; i < mo.rules.size(); ++i) s += (i ? ", " : "") + json_string(mo.rules[i]);
    s += "], \"noise_level\": " + json_number(c.method.noise_level) + ", \"samples\": " +
         std::to_string(c.method.samples) + ", \"window\": " + json_string(c.method.window) +
         ", \"resize\": " + std::to_string(io.resize) + ", \"crop\": " + std::to_string(io.crop) +
         ", \"mean\": " + json_string(io.mean) + ", \"std\": " + json_string(io.std) + ", \"scale\": " +
         json_string(io.scale) + ", \"preprocess\": " + json_string(io.preprocess) +
         ", \"no_preprocess\": " + (io.no_preprocess ? "true" : "false");
    // Random numbers seeded per input name (earlier versions: by position): a folder of an earlier
    // version with random maps or uniform noise has other settings, its samples are not mixed in.
    bool random = c.fill == "uniform";
    for (const std::string& spec : specs) random = random || spec.starts_with("random");
    if (random) s += ", \"random_seeds\": \"per input name\"";
    return s + "}";
}

// Every output goes through io/file_write: a temporary file, each step checked, fsync, rename.
void write_file(const fs::path& path, const std::string& text) { write_file_atomic(path.string(), text, "the file"); }

// Logits are float32 (9 digits are exact); fractions are doubles (17 digits are).
std::string number(double v, int digits = 9) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

// One sample's curves in DIR/samples/<name>.csv: method,metric,order,target,step,fraction,logit.
const char* const kSampleHeader = "method,metric,order,target,step,fraction,logit";

std::string sample_csv(const std::vector<PerturbationCurve>& curves) {
    std::string s = std::string(kSampleHeader) + "\n";
    for (const PerturbationCurve& c : curves)
        for (size_t k = 0; k < c.logit.size(); ++k)
            s += c.method + "," + metric_name(c.metric) + "," + order_name(c.order) + "," + std::to_string(c.target) +
                 "," + std::to_string(k) + "," + number(c.fraction[k], 17) + "," + number(c.logit[k]) + "\n";
    return s;
}

// The curves of a sample file, or nothing when it is missing, cut short or from other methods.
std::vector<PerturbationCurve> read_sample_csv(const fs::path& path, int64_t sample) {
    std::ifstream in(path);
    std::string line;
    std::vector<PerturbationCurve> curves;
    if (!std::getline(in, line) || line != kSampleHeader) return {};
    try {
        while (std::getline(in, line)) {
            const std::vector<std::string> f = split_list(line);
            if (f.size() != 7) return {};
            const PerturbationMetric metric = f[1] == "region-perturbation" ? PerturbationMetric::RegionPerturbation
                                                                            : PerturbationMetric::PixelFlipping;
            const PerturbationOrder order = f[2] == "lerf" ? PerturbationOrder::LeRF : PerturbationOrder::MoRF;
            if (std::stoll(f[4]) == 0) {
                PerturbationCurve& c = curves.emplace_back();
                c.method = f[0];
                c.metric = metric;
                c.order = order;
                c.sample = sample;
                c.target = std::stoll(f[3]);
            }
            if (curves.empty()) return {};
            curves.back().fraction.push_back(std::stod(f[5]));
            curves.back().logit.push_back(std::stof(f[6]));  // logits are float32: 9 digits give them back exactly
        }
    } catch (const std::exception&) {
        return {};
    }
    return curves;
}

// Samples `index` of a [N, ...] tensor, stacked.
Tensor gather(const Tensor& t, const std::vector<int64_t>& index) {
    Shape s = t.shape();
    s[0] = static_cast<int64_t>(index.size());
    Tensor out(s);
    const int64_t per = t.numel() / t.dim(0);
    for (size_t i = 0; i < index.size(); ++i)
        std::memcpy(out.data() + i * per, t.data() + index[i] * per, sizeof(float) * per);
    return out;
}

// file:DIR: DIR/<name>.npy per sample, each [1, C, H, W] or [C, H, W] (what `explain --out-dir` writes).
Tensor load_maps(const std::string& spec, const std::string& dir, const Batch& batch) {
    Tensor all(batch.data.shape());
    const int64_t per = all.numel() / all.dim(0);
    Shape one = batch.data.shape();
    one[0] = 1;
    for (size_t i = 0; i < batch.names.size(); ++i) {
        const fs::path path = fs::path(dir) / (batch.names[i] + ".npy");
        std::error_code ec;
        if (!fs::is_regular_file(path, ec))
            throw Error(spec + ": " + path.string() + " does not exist (one relevance .npy per input, as `relprop "
                        "explain --out-dir` writes)");
        Tensor r = read_npy(path.string());
        if (r.shape() != one && !(r.rank() + 1 == one.size() && shape_numel(r.shape()) == per &&
                                  std::equal(r.shape().begin(), r.shape().end(), one.begin() + 1)))
            throw Error(spec + ": " + path.string() + " is " + shape_str(r.shape()) + " but input '" +
                        batch.names[i] + "' is " + shape_str(one));
        std::memcpy(all.data() + i * per, r.data(), sizeof(float) * per);
    }
    return all;
}

std::string curves_csv(const std::vector<PerturbationCurve>& curves, const std::vector<std::string>& names) {
    std::string s = "method,metric,order,input,sample,target,step,fraction,logit\n";
    for (const PerturbationCurve& c : curves) {
        std::string name = names[c.sample];
        if (name.find_first_of(",\"\n") != std::string::npos) {
            std::string q = "\"";
            for (char ch : name) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            name = q + "\"";
        }
        for (size_t k = 0; k < c.logit.size(); ++k)
            s += c.method + "," + metric_name(c.metric) + "," + order_name(c.order) + "," + name + "," +
                 std::to_string(c.sample) + "," + std::to_string(c.target) + "," + std::to_string(k) + "," +
                 number(c.fraction[k]) + "," + number(c.logit[k]) + "\n";
    }
    return s;
}

std::string scores_json(const PerturbationScores& s) {
    return "\"aopc_morf\": " + json_number(s.aopc_morf) + ", \"aopc_lerf\": " + json_number(s.aopc_lerf) +
           ", \"abpc\": " + json_number(s.abpc) + ", \"auc_morf\": " + json_number(s.auc_morf) +
           ", \"auc_lerf\": " + json_number(s.auc_lerf);
}

std::string evaluation_json(const EvaluateCommand& c, const std::string& settings, const std::string& backend,
                            const ExplainedGraph& explained, const std::vector<std::string>& names,
                            const std::vector<int64_t>& targets,
                            const std::vector<SampleScores>& scores, const std::vector<MethodSummary>& summary,
                            double seconds) {
    std::string s = "{\n  \"model\": " + json_string(c.model.model) + ",\n  \"backend\": " + json_string(backend) +
                    ",\n  \"explained_output\": " + json_string(explained.output_kind) +
                    ",\n  \"explained_value\": " + json_string(explained.value) + ",\n  \"settings\": " + settings +
                    ",\n  \"inputs\": [";
    for (size_t i = 0; i < names.size(); ++i)
        s += (i ? ", " : "") + std::string("{\"input\": ") + json_string(names[i]) +
             ", \"target\": " + std::to_string(targets[i]) + "}";
    s += "],\n  \"summary\": [\n";
    for (size_t i = 0; i < summary.size(); ++i) {
        const MethodSummary& m = summary[i];
        s += "    {\"method\": " + json_string(m.method) + ", \"metric\": " + json_string(metric_name(m.metric)) +
             ", \"samples\": " + std::to_string(m.samples) + ", \"mean\": {" + scores_json(m.mean) +
             "}, \"standard_error\": {" + scores_json(m.standard_error) + "}}" + (i + 1 < summary.size() ? "," : "") +
             "\n";
    }
    s += "  ],\n  \"samples\": [\n";
    for (size_t i = 0; i < scores.size(); ++i) {
        const SampleScores& r = scores[i];
        s += "    {\"method\": " + json_string(r.method) + ", \"metric\": " + json_string(metric_name(r.metric)) +
             ", \"input\": " + json_string(names[r.sample]) + ", \"sample\": " + std::to_string(r.sample) + ", " +
             scores_json(r.scores) + "}" + (i + 1 < scores.size() ? "," : "") + "\n";
    }
    return s + "  ],\n  \"timing\": {\"total_s\": " + json_number(seconds) + "}\n}\n";
}

std::string summary_table(std::vector<MethodSummary> summary) {
    std::stable_sort(summary.begin(), summary.end(),
                     [](const MethodSummary& a, const MethodSummary& b) { return a.metric < b.metric; });
    size_t w = 6;
    for (const MethodSummary& m : summary) w = std::max(w, m.method.size());
    std::string s;
    char buf[512];
    PerturbationMetric last{};
    for (size_t i = 0; i < summary.size(); ++i) {
        const MethodSummary& m = summary[i];
        if (i == 0 || m.metric != last) {
            std::snprintf(buf, sizeof buf, "%s%s (mean +- standard error over %lld samples)\n%-*s  %-19s  %-19s  %-19s  %-19s  %-19s\n",
                          i ? "\n" : "", metric_name(m.metric).c_str(), static_cast<long long>(m.samples),
                          static_cast<int>(w), "method", "AOPC(MoRF)", "AOPC(LeRF)", "ABPC", "AUC(MoRF)", "AUC(LeRF)");
            s += buf;
            last = m.metric;
        }
        auto cell = [](double mean, double se) {
            char b[64];
            std::snprintf(b, sizeof b, "%.4g +- %.2g", mean, se);
            return std::string(b);
        };
        std::snprintf(buf, sizeof buf, "%-*s  %-19s  %-19s  %-19s  %-19s  %-19s\n", static_cast<int>(w), m.method.c_str(),
                      cell(m.mean.aopc_morf, m.standard_error.aopc_morf).c_str(),
                      cell(m.mean.aopc_lerf, m.standard_error.aopc_lerf).c_str(),
                      cell(m.mean.abpc, m.standard_error.abpc).c_str(),
                      cell(m.mean.auc_morf, m.standard_error.auc_morf).c_str(),
                      cell(m.mean.auc_lerf, m.standard_error.auc_lerf).c_str());
        s += buf;
    }
    return s;
}

// The mean MoRF (solid) and LeRF (dashed) curve of each method for one metric.
Image mean_curve_plot(const std::vector<PerturbationCurve>& curves, const std::vector<std::string>& methods,
                      PerturbationMetric metric, int64_t samples, const std::string& output_kind) {
    std::vector<PlotSeries> series;
    PlotOptions o;
    o.x_label = "fraction of pixels perturbed";
    o.y_label = output_kind == "probabilities" ? "target probability" : "target logit";
    o.title = metric_name(metric) + ": mean of " + std::to_string(samples) + " sample" + (samples == 1 ? "" : "s") +
              " (MoRF solid, LeRF dashed)";
    for (size_t m = 0; m < methods.size(); ++m) {
        for (PerturbationOrder order : {PerturbationOrder::MoRF, PerturbationOrder::LeRF}) {
            PlotSeries p;
            p.color = plot_color(m);
            p.dashed = order == PerturbationOrder::LeRF;
            int64_t count = 0;
            for (const PerturbationCurve& c : curves) {
                if (c.method != methods[m] || c.metric != metric || c.order != order) continue;
                if (p.x.empty()) {
                    p.x = c.fraction;
                    p.y.assign(c.logit.size(), 0.0);
                }
                if (c.logit.size() != p.y.size()) continue;  // (all samples share the image size)
                for (size_t k = 0; k < c.logit.size(); ++k) p.y[k] += c.logit[k];
                ++count;
            }
            for (double& y : p.y) y /= std::max<int64_t>(count, 1);
            series.push_back(std::move(p));
        }
        o.legend.push_back({methods[m] + " MoRF", plot_color(m), false});
        o.legend.push_back({methods[m] + " LeRF", plot_color(m), true});
    }
    return plot_lines(series, o).image;
}

// Where the plot of `metric` goes: DIR/plot.<metric>.png, --plot FILE, or FILE.<metric>.png when both
// metrics run; empty when no plot is asked for.
std::string plot_path(const EvaluateCommand& c, const EvaluateOptions& base, PerturbationMetric metric) {
    if (!c.out_dir.empty()) return (fs::path(c.out_dir) / ("plot." + metric_name(metric) + ".png")).string();
    if (c.plot.empty()) return "";
    if (base.metrics.size() == 1) return c.plot;
    return fs::path(c.plot).replace_extension("." + metric_name(metric) + ".png").string();
}

std::vector<std::string> plot_paths(const EvaluateCommand& c, const EvaluateOptions& base) {
    std::vector<std::string> paths;
    for (PerturbationMetric metric : base.metrics)
        if (std::string p = plot_path(c, base, metric); !p.empty()) paths.push_back(p);
    return paths;
}

}  // namespace

int run_evaluate(const EvaluateCommand& c) {
    const auto t0 = Clock::now();
    const EvaluateOptions base = evaluate_options(c);
    if (!c.out_dir.empty() && (!c.curves.empty() || !c.plot.empty()))
        throw Error("--out-dir writes curves.csv and the plots itself; it does not combine with --curves or --plot");
    if (!c.shard.empty() && c.out_dir.empty())
        throw Error("--shard splits the samples of an --out-dir evaluation among processes: give --out-dir DIR");
    const Shard shard = parse_shard(c.shard, process_environment());
    if (!c.plot.empty() && fs::path(c.plot).extension() != ".png") throw Error("--plot: '" + c.plot + "' is not a .png file");
    const std::vector<std::string> specs = split_list(c.methods);
    if (specs.empty()) throw Error("--methods names no method");
    for (const std::string& s : specs) parse_evaluated_method(s);  // an unknown SPEC fails before any work
    if (std::set<std::string>(specs.begin(), specs.end()).size() != specs.size())
        throw Error("--methods names a method twice ('" + c.methods + "')");

    const Model model = open_model(c.model);
    const std::vector<std::string> files = list_inputs(c.inputs);  // listed once: loaded and checked below
    const Batch batch = load_files(files, c.inputs, model.input_shape(), c.model.allow_nonfinite);
    const Tensor& x = batch.data;
    const int64_t n = x.dim(0);
    // Random maps and uniform noise are seeded per input name (the shard key), never by position: a
    // sample keeps its numbers when inputs are added between a resumed run's parts or its shards.
    const std::vector<uint64_t> sample_ids = input_sample_ids(batch.sources);
    if (x.rank() != 4) throw Error("relprop evaluate needs image-shaped inputs [N, C, H, W], not " + shape_str(x.shape()));
    bool images = false;
    for (const std::string& f : c.inputs.inputs) images = images || fs::path(f).extension() != ".npy";

    std::vector<EvaluatedMethod> methods;
    for (const std::string& spec : specs) {
        EvaluatedMethod m = parse_evaluated_method(spec);
        if (m.source == EvaluatedMethod::Source::Attributor) {
            ModelOptions mo = c.model;
            if (m.attributor.method == Method::Lrp && spec.find(':') != std::string::npos) mo.composite = m.attributor.composite;
            ExplainOptions eo = c.method;
            eo.method = method_name(m.attributor.method);
            m.attributor = attributor_options(model, mo, c.inputs, eo, images);
            m.attributor.composite = mo.composite;
            Attributor check(model, m.attributor);  // an unknown composite or rule fails now
        } else if (m.source == EvaluatedMethod::Source::Given) {
            m.relevance = load_maps(spec, m.directory, batch);
        } else if (spec == "random") {
            m.seed = c.seed;  // (each sample's map from its id, whatever the chunking: see below)
        }
        methods.push_back(std::move(m));
    }
    // Before anything is written: no output may be an input or (a folder) hold one — the model, the
    // input files and folders, file:DIR maps — and one run per --out-dir at a time (as for explain).
    std::vector<std::string> map_folders;
    for (const EvaluatedMethod& m : methods)
        if (!m.directory.empty()) map_folders.push_back(m.directory);
    std::vector<OutputLocation> outputs{{"--out-dir", c.out_dir, true}, {"--curves", c.curves, false}};
    for (const std::string& path : plot_paths(c, base)) outputs.push_back({"--plot", path, false});
    check_output_locations(c.model, c.inputs, c.method, files, map_folders, outputs);
    std::optional<FolderLock> lock, shard_lock;
    if (!c.out_dir.empty()) {
        std::error_code ec;
        fs::create_directories(c.out_dir, ec);
        if (ec) throw Error(c.out_dir + ": cannot create the folder: " + ec.message());
        const std::string scope =
            shard.active() ? " (shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count) + ")" : "";
        if (!c.merge_only) {  // (a merge only reads; it takes the merge lock below)
            lock.emplace(c.out_dir, kLockFileName, scope, shard.active() ? LockMode::Shared : LockMode::Exclusive);
            if (shard.active()) shard_lock.emplace(c.out_dir, ".relprop." + shard.tag() + ".lock", scope);
        }
    }

    const std::vector<int64_t> targets = parse_targets(c.target);
    if (targets.size() > 1 && static_cast<int64_t>(targets.size()) != n)
        throw Error("--target lists " + std::to_string(targets.size()) + " classes for " + std::to_string(n) + " samples");

    // Resume: samples whose curves a previous run with these settings kept.
    const std::string settings = settings_json(c, specs);
    const fs::path dir(c.out_dir);
    std::vector<std::vector<PerturbationCurve>> per_sample(n);
    std::vector<int64_t> target_of(n, -1);
    // A sharded folder's run.json (tools/cli/run_file.h): created once, compared by every shard.
    RunIdentity identity;
    identity.settings = settings;
    identity.shards = shard.count;
    if (shard.active()) {
        identity.model = digest_file(c.model.model);
        identity.cwd = fs::current_path().string();
        identity.inputs = c.inputs.inputs;
    }
    const size_t expected = specs.size() * base.metrics.size() * 2;
    // Samples count only under the run.json they were made with: none when there is no run.json (it
    // was deleted to start over), and a shard's only under the run.json its mark names
    // (shard_rows_current, tools/cli/run_file.h), read again each time: other shards record theirs.
    bool run_file_found = false;
    auto shard_of_sample = [&](int64_t i) { return shard_of_key(shard_key(batch.sources[i]), shard.count); };
    std::map<int64_t, bool> shard_current;
    auto counts = [&](int64_t i) {
        if (!shard.active()) return run_file_found;
        const int64_t k = shard_of_sample(i);
        if (!shard_current.count(k)) shard_current[k] = shard_rows_current(dir, Shard{k, shard.count, ""}.tag());
        return shard_current[k];
    };
    // Reads back the curves of the samples kept in DIR/samples that are not in memory yet.
    auto read_finished = [&] {
        shard_current.clear();
        for (int64_t i = 0; i < n; ++i) {
            if (!per_sample[i].empty() || !counts(i)) continue;
            std::vector<PerturbationCurve> got = read_sample_csv(dir / "samples" / (batch.names[i] + ".csv"), i);
            if (got.size() != expected) continue;
            target_of[i] = got[0].target;
            per_sample[i] = std::move(got);
        }
    };
    if (!c.out_dir.empty()) {
        if (std::set<std::string>(batch.names.begin(), batch.names.end()).size() != batch.names.size())
            throw Error("--out-dir: two inputs have the same name (their outputs would collide)");
        std::ifstream in(dir / "run.json");
        run_file_found = static_cast<bool>(in);
        std::string previous;
        if (shard.active()) {
            if (in) check_run_file(dir / "run.json", identity, c.out_dir);
        } else if (in && std::getline(in, previous) && previous != settings) {
            if (previous.starts_with("{\"settings\": "))
                throw Error(c.out_dir + " is split into shards (" + (dir / "run.json").string() +
                            "): run each with --shard K/N, or use another --out-dir");
            throw Error(c.out_dir + " holds an evaluation with other settings (" + (dir / "run.json").string() +
                        "): use another --out-dir");
        }
        read_finished();
        // This run's samples that do not count are removed before any is written: run.json (or the
        // shard's mark) will name this run's settings, under which they would count.
        const bool own_current = shard.active() ? shard_rows_current(dir, shard.tag()) : run_file_found;
        for (int64_t i = 0; i < n && !own_current && !c.merge_only; ++i) {
            if (shard.active() && shard_of_sample(i) != shard.index) continue;
            std::error_code ec;
            fs::remove(dir / "samples" / (batch.names[i] + ".csv"), ec);
            if (ec) throw Error((dir / "samples" / (batch.names[i] + ".csv")).string() + ": cannot remove the curves "
                                "of an earlier run (a folder without run.json holds nothing finished): " + ec.message());
        }
    }
    // This run's samples: those of its shard's input files (every sample when not sharded) not finished.
    const std::vector<std::string> mine_list = inputs_of_shard(shard, files);
    const std::set<std::string> mine(mine_list.begin(), mine_list.end());
    std::vector<int64_t> pending;
    int64_t own = 0;
    for (int64_t i = 0; i < n && !c.merge_only; ++i) {
        if (!mine.count(batch.sources[i])) continue;
        ++own;
        if (per_sample[i].empty()) pending.push_back(i);
    }
    bool pinned = false;

    const int64_t units = static_cast<int64_t>(specs.size() * base.metrics.size());
    const bool progress = isatty(STDERR_FILENO) != 0;
    int64_t finished = (n - static_cast<int64_t>(pending.size())) * units;
    for (size_t first = 0; first < pending.size(); first += c.batch_size) {
        const std::vector<int64_t> index(pending.begin() + first,
                                         pending.begin() + std::min(pending.size(), first + c.batch_size));
        std::vector<EvaluatedMethod> chunk = methods;
        for (EvaluatedMethod& m : chunk)
            if (m.source == EvaluatedMethod::Source::Given) m.relevance = gather(m.relevance, index);
        std::vector<int64_t> chunk_targets = targets;
        if (targets.size() > 1) {
            chunk_targets.clear();
            for (int64_t i : index) chunk_targets.push_back(targets[i]);
        }
        EvaluateOptions o = base;
        for (int64_t i : index) o.sample_ids.push_back(sample_ids[i]);
        const int64_t before = finished;
        if (progress)
            o.progress = [&](int64_t done, int64_t) {
                std::fprintf(stderr, "\revaluated %lld/%lld", static_cast<long long>(before + done),
                             static_cast<long long>(n * units));
            };
        const Evaluation ev = evaluate(model, gather(x, index), chunk, o, chunk_targets);
        finished += static_cast<int64_t>(index.size()) * units;
        for (PerturbationCurve curve : ev.curves) {
            curve.sample = index[curve.sample];
            target_of[curve.sample] = curve.target;
            per_sample[curve.sample].push_back(std::move(curve));
        }
        if (!c.out_dir.empty()) {
            std::error_code ec;
            fs::create_directories(dir / "samples", ec);
            if (ec) throw Error(c.out_dir + ": cannot create the folder: " + ec.message());
            if (shard.active() && !pinned) {
                pin_run_file(dir / "run.json", identity, c.out_dir);
                if (!shard_rows_current(dir, shard.tag())) record_shard_rows_run(dir, shard.tag());
                std::string args;
                for (const std::string& a : c.arguments) args += a + '\0';
                create_file_once((dir / kEvaluateArgumentsFile).string(), args, kEvaluateArgumentsFile);
            }
            if (!shard.active()) write_file(dir / "run.json", settings + "\n");
            pinned = true;
            for (int64_t i : index) write_file(dir / "samples" / (batch.names[i] + ".csv"), sample_csv(per_sample[i]));
        }
    }
    if (progress && !pending.empty()) std::fprintf(stderr, "\n");

    // A shard writes the final outputs only when every sample of every shard is finished; merges of
    // one folder take turns (the merge lock of `relprop explain --shard`).
    std::optional<FolderLock> merge_lock;
    if (shard.active()) {
        FILE* const said = c.json ? stderr : stdout;  // stdout holds only the JSON with --json
        if (!c.merge_only)
            std::fprintf(said, "shard %lld of %lld (%s): evaluated %zu of its %lld sample(s), %lld already done, into %s\n",
                         static_cast<long long>(shard.index), static_cast<long long>(shard.count),
                         shard.origin.c_str(), pending.size(), static_cast<long long>(own),
                         static_cast<long long>(own - static_cast<int64_t>(pending.size())), c.out_dir.c_str());
        merge_lock.emplace(c.out_dir, ".relprop.merge.lock", "", LockMode::Wait);
        read_finished();
        const std::string missing = missing_samples(per_sample, batch, shard.count);
        if (!missing.empty() && c.merge_only) throw Error(c.out_dir + ": " + missing + ", then merge");
        if (!missing.empty()) {
            std::fprintf(said, "not merged yet: %s (the last shard to finish writes curves.csv and summary.json)\n",
                         printable(missing).c_str());  // one line, whatever the names
            return 0;
        }
        std::fprintf(said, "every shard is complete: writing curves.csv, summary.json and the plots\n");
    }

    // Every sample's curves, in the order method, metric, sample; their scores and the summary.
    std::vector<PerturbationCurve> curves;
    std::vector<SampleScores> scores;
    for (const std::string& spec : specs)
        for (PerturbationMetric metric : base.metrics)
            for (int64_t i = 0; i < n; ++i) {
                const PerturbationCurve* pair[2] = {nullptr, nullptr};
                for (const PerturbationCurve& cv : per_sample[i])
                    if (cv.method == spec && cv.metric == metric) pair[cv.order == PerturbationOrder::LeRF] = &cv;
                if (!pair[0] || !pair[1]) throw Error("internal: sample " + std::to_string(i) + " lacks curves of " + spec);
                curves.push_back(*pair[0]);
                curves.push_back(*pair[1]);
                scores.push_back({spec, metric, i, score_curves(*pair[0], *pair[1])});
            }
    const std::vector<MethodSummary> summary = summarize(scores);

    // The outputs, each written whole or not at all.
    const ExplainedGraph explained = explained_graph(model, base.explain_output);
    const std::string csv_path = !c.out_dir.empty() ? (dir / "curves.csv").string() : c.curves;
    if (!csv_path.empty()) write_file(csv_path, curves_csv(curves, batch.names));
    std::vector<std::string> plots;
    for (PerturbationMetric metric : base.metrics) {
        const std::string path = plot_path(c, base, metric);
        if (path.empty()) continue;
        const Image img = mean_curve_plot(curves, specs, metric, n, explained.output_kind);
        write_png(path, img);
        plots.push_back(path);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string json =
        evaluation_json(c, settings, model.device(), explained, batch.names, target_of, scores, summary, seconds);
    if (!c.out_dir.empty()) write_file(dir / "summary.json", json);
    if (c.json) {
        std::fputs(json.c_str(), stdout);
        return 0;
    }
    if (explained.output_kind != "output")
        std::printf("the curves record %s%s\n", explained.description.c_str(),
                    explained.output_kind == "logits" ? " (--explain-output probabilities keeps the Softmax)" : "");
    std::fputs(summary_table(summary).c_str(), stdout);
    if (!csv_path.empty()) std::printf("curves written to %s\n", csv_path.c_str());
    for (const std::string& p : plots) std::printf("plot written to %s\n", p.c_str());
    if (!c.out_dir.empty())
        std::printf("summary written to %s (%lld of %lld samples evaluated in this run)\n",
                    (dir / "summary.json").string().c_str(), static_cast<long long>(pending.size()),
                    static_cast<long long>(n));
    return 0;
}

}  // namespace relprop::cli
