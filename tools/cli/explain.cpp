// `relprop explain` and `relprop check`: a batch of inputs through the model, the attribution method
// (through the public API's Attributor), and the outputs (summary or JSON, relevance .npy, heatmaps,
// conservation table).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "relprop/error.hpp"
#include "io/file_write.h"
#include "relprop/heatmap.hpp"
#include "relprop/image.hpp"
#include "relprop/npy.hpp"
#include "rules/conservation.h"
#include "rules/explainer.h"
#include "tools/cli/batches.h"
#include "tools/cli/inputs.h"
#include "tools/cli/json.h"
#include "tools/cli/output_paths.h"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// The default ZBox box for image inputs: the normalized values of pixels 0 and 255.
void image_bounds(const InputOptions& in, int64_t channels, bool images, std::vector<float>& low,
                  std::vector<float>& high) {
    if (!images) return;
    const Preprocess p = preprocess_of(in);
    low = input_bounds_low(p, channels);
    high = input_bounds_high(p, channels);
}

bool any_image(const InputOptions& in) {
    for (const std::string& f : in.inputs)
        if (fs::path(f).extension() != ".npy") return true;
    return false;
}

int64_t channels_of(const Model& model) {
    const Shape& in = model.input_shape();
    return in.size() == 4 ? image_channels(in) : in.size() > 1 ? in[1] : 1;
}

// "8" → {8, 8} for an image model (one size per dimension after the channels), "4,6" → {4, 6}.
std::vector<int64_t> window_sizes(const std::string& text, const std::string& option, size_t sample_rank) {
    const std::vector<float> v = parse_floats(text, option);
    std::vector<int64_t> sizes;
    for (float f : v) {
        if (f < 1 || f != std::floor(f) || f > 1e9f) throw Error(option + ": '" + text + "' is not a list of sizes >= 1");
        sizes.push_back(static_cast<int64_t>(f));
    }
    const size_t spatial = sample_rank > 1 ? sample_rank - 1 : 1;
    if (sizes.size() == 1) sizes.assign(spatial, sizes[0]);
    return sizes;
}

std::vector<int64_t> targets_for_slice(const std::vector<int64_t>& targets, int64_t first, int64_t count) {
    if (targets.size() <= 1) return targets;
    return {targets.begin() + first, targets.begin() + first + count};
}

void check_target_count(const std::vector<int64_t>& targets, int64_t n) {
    if (targets.size() > 1 && static_cast<int64_t>(targets.size()) != n)
        throw Error("--target lists " + std::to_string(targets.size()) + " classes for " + std::to_string(n) +
                    " samples (give one, or one per sample)");
}

void copy_rows(const Tensor& from, Tensor& to, int64_t first) {
    std::memcpy(to.data() + first * (from.numel() / from.dim(0)), from.data(), sizeof(float) * from.numel());
}

}  // namespace

ExplainOutput explain_output_of(const ExplainOptions& eo) {
    return eo.explain_output == "probabilities" ? ExplainOutput::Probabilities : ExplainOutput::Logits;
}

AttributorOptions attributor_options(const Model& model, const ModelOptions& mo, const InputOptions& io,
                                     const ExplainOptions& eo, bool images) {
    AttributorOptions o;
    o.method = parse_method(eo.method);
    o.composite = mo.composite;
    o.rules = mo.rules;
    o.allow_nonfinite = mo.allow_nonfinite;
    o.init = eo.init == "logit" ? RelevanceInit::OneHotLogit : RelevanceInit::OneHot;
    o.use_rules = eo.with_rules;
    o.explain_output = explain_output_of(eo);
    if (eo.with_rules && o.method != Method::SmoothGrad && o.method != Method::IntegratedGradients)
        throw Error("--with-rules applies to --method smoothgrad and integrated-gradients, not " + eo.method);
    if (o.method == Method::Lrp || o.use_rules) {
        std::vector<float> low, high;
        image_bounds(io, channels_of(model), images, low, high);
        o.composite_options = composite_options_for(mo, low, high);
    }
    o.smoothgrad.noise_level = eo.noise_level;
    o.smoothgrad.samples = eo.samples;
    o.smoothgrad.seed = eo.seed;
    o.integrated_gradients.steps = eo.steps;
    if (fs::path(eo.baseline).extension() == ".npy") {
        Tensor b = read_npy(eo.baseline);
        if (b.rank() + 1 == model.input_shape().size()) {
            Shape s = b.shape();
            s.insert(s.begin(), 1);
            b = b.reshaped(s);
        }
        o.integrated_gradients.baseline = b;
    } else {
        o.integrated_gradients.baseline_value = parse_floats(eo.baseline, "--baseline").at(0);
    }
    const size_t sample_rank = model.input_shape().size() - 1;
    o.occlusion.window = window_sizes(eo.window, "--window", sample_rank);
    o.occlusion.stride = eo.stride.empty() ? o.occlusion.window : window_sizes(eo.stride, "--stride", sample_rank);
    o.occlusion.fill = eo.fill;
    o.occlusion.mode = eo.occlusion_mode == "keep" ? OcclusionMode::Keep : OcclusionMode::Remove;
    return o;
}

Explained explain_in_slices(const Attributor& explain, const Tensor& data, const std::vector<int64_t>& targets,
                            int batch_size, const std::function<void(int64_t)>& done) {
    const int64_t n = data.dim(0);
    check_target_count(targets, n);
    Explained r;
    r.relevance = Tensor(data.shape());
    for (int64_t first = 0; first < n; first += batch_size) {
        const int64_t count = std::min<int64_t>(batch_size, n - first);
        const Result e = explain(slice_batch(data, first, count), targets_for_slice(targets, first, count));
        if (e.logits.rank() < 1 || e.logits.dim(0) != count)
            throw Error("the model's output " + shape_str(e.logits.shape()) + " has " +
                        std::to_string(e.logits.rank() ? e.logits.dim(0) : 0) + " rows for " + std::to_string(count) +
                        " input sample(s): the command line explains models with one output row per input sample "
                        "(a classifier's [N, classes]); explain other outputs through the C++ API");
        if (!r.logits.defined()) {
            Shape s = e.logits.shape();
            s[0] = n;
            r.logits = Tensor(s);
        }
        copy_rows(e.logits, r.logits, first);
        copy_rows(e.relevance, r.relevance, first);
        r.targets.insert(r.targets.end(), e.targets.begin(), e.targets.end());
        if (done) done(first + count);
    }
    return r;
}

Image heatmap_image(const Tensor& relevance, const Image& shown, const OutputOptions& oo) {
    HeatmapOptions ho;
    ho.cmap = parse_colormap(oo.cmap);
    ho.symmetric = !oo.asymmetric;
    const Shape& s = relevance.shape();
    Tensor chw = s.size() == 4 ? relevance.reshaped({s[1], s[2], s[3]}) : relevance;
    if (chw.rank() != 3) throw Error("--heatmap needs an image-shaped input [N, C, H, W] or [N, H, W, C]");
    if (s.size() == 4 && image_layout(s) == ImageLayout::NHWC) chw = to_channels_first(chw);
    Image img = render_heatmap(chw, ho);
    if (oo.overlay) img = overlay(img, shown, 0.5f);
    if (oo.heatmap_scale > 1) img = upscale_nearest(img, oo.heatmap_scale);
    return img;
}

std::vector<double> per_sample_sums(const Tensor& t) {
    const int64_t n = t.dim(0), per = t.numel() / n;
    std::vector<double> sums(n, 0.0);
    for (int64_t i = 0; i < t.numel(); ++i) sums[i / per] += t[i];
    return sums;
}

int run_explain(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo) {
    if (oo.heatmap_scale < 1 || oo.heatmap_scale > 64) throw Error("--heatmap-scale must be 1 to 64");
    parse_colormap(oo.cmap);  // an unknown colormap is an error before any work
    if (!oo.shard.empty() && oo.out_dir.empty())
        throw Error("--shard splits the inputs of an --out-dir run among processes: give --out-dir DIR");
    if (!oo.out_dir.empty()) {
        if (!oo.out.empty() || !oo.heatmap.empty() || oo.json)
            throw Error("--out-dir writes every output itself; it does not combine with --out, --heatmap or --json");
        return run_explain_dir(mo, io, eo, oo);
    }
    const auto t0 = Clock::now();
    const std::vector<std::string> files = list_inputs(io);
    check_outputs(mo, io, eo, oo, files);
    const Model model = open_model(mo);
    const Batch batch = load_files(files, io, model.input_shape(), mo.allow_nonfinite);
    const Attributor explain(model, attributor_options(model, mo, io, eo, any_image(io)));
    const auto t1 = Clock::now();
    const int64_t n = batch.data.dim(0);
    const bool progress = n > eo.batch_size && isatty(STDERR_FILENO);
    const Explained r = explain_in_slices(explain, batch.data, parse_targets(eo.target), eo.batch_size, [&](int64_t k) {
        if (progress) std::fprintf(stderr, "\rexplained %lld/%lld", static_cast<long long>(k), static_cast<long long>(n));
    });
    if (progress) std::fprintf(stderr, "\n");
    const auto t2 = Clock::now();
    if (!oo.out.empty()) write_npy(oo.out, r.relevance);
    if (!oo.heatmap.empty()) {
        if (r.relevance.rank() != 4) throw Error("--heatmap needs an image-shaped input [N, C, H, W] or [N, H, W, C]");
        const bool single_file = n == 1 && fs::path(oo.heatmap).extension() == ".png";  // else a folder
        if (!single_file) {
            std::error_code ec;
            fs::create_directories(oo.heatmap, ec);
            if (ec) throw Error(oo.heatmap + ": cannot create the heatmap folder: " + ec.message());
        }
        std::vector<FileBytes> maps;
        for (int64_t i = 0; i < n; ++i)
            maps.push_back({single_file ? oo.heatmap : (fs::path(oo.heatmap) / (batch.names[i] + ".png")).string(),
                            encode_png(heatmap_image(slice_batch(r.relevance, i, 1), batch.shown[i], oo)), "the PNG"});
        write_files_atomic(maps);
    }
    const double total = seconds(t0, Clock::now());
    const std::vector<double> sums = per_sample_sums(r.relevance);
    const int64_t classes = r.logits.numel() / n;
    if (oo.json) {
        std::string s = "{\n  \"model\": " + json_string(mo.model) + ",\n  \"device\": " + json_string(mo.device) +
                        ",\n  \"backend\": " + json_string(model.device()) + ",\n  \"method\": " +
                        json_string(eo.method) + ",\n  \"composite\": " +
                        json_string(eo.method == "lrp" || eo.with_rules ? mo.composite : "") + ",\n  \"canonize\": " +
                        json_string(mo.canonize) + ",\n  \"explained_output\": " + json_string(explain.explained().output_kind) +
                        ",\n  \"explained_value\": " + json_string(explain.explained().value) + ",\n  \"samples\": [\n";
        for (int64_t i = 0; i < n; ++i) {
            const float* row = r.logits.data() + i * classes;
            const int64_t pred = std::max_element(row, row + classes) - row;
            s += "    {" + json_name("input", batch.names[i]) + ", \"prediction\": " + std::to_string(pred) +
                 ", \"target\": " + std::to_string(r.targets[i]) + ", \"target_logit\": " +
                 json_number(row[r.targets[i]]) + ", \"relevance_sum\": " + json_number(sums[i]) + ", \"logits\": [";
            for (int64_t k = 0; k < classes; ++k) s += (k ? ", " : "") + json_number(row[k]);
            s += std::string("]}") + (i + 1 < n ? "," : "") + "\n";
        }
        s += "  ],\n  \"timing\": {\"load_s\": " + json_number(seconds(t0, t1)) + ", \"explain_s\": " +
             json_number(seconds(t1, t2)) + ", \"total_s\": " + json_number(total) + "}\n}\n";
        std::fputs(s.c_str(), stdout);
        return 0;
    }
    if (explain.explained().output_kind != "output")
        std::printf("explaining %s%s\n", explain.explained().description.c_str(),
                    explain.explained().output_kind == "logits" ? " (--explain-output probabilities keeps the Softmax)" : "");
    const char* score = explain.explained().output_kind == "probabilities" ? "probability" : "logit";
    for (int64_t i = 0; i < n; ++i) {
        const float* row = r.logits.data() + i * classes;
        const int64_t pred = std::max_element(row, row + classes) - row;
        std::printf("%s: predicted class %lld (%s %.4g), explained class %lld, relevance sum %.6g\n",
                    batch.names[i].c_str(), static_cast<long long>(pred), score, row[pred],
                    static_cast<long long>(r.targets[i]), sums[i]);
    }
    if (!oo.out.empty()) std::printf("relevance %s written to %s\n", shape_str(r.relevance.shape()).c_str(), oo.out.c_str());
    if (!oo.heatmap.empty()) std::printf("heatmap%s written to %s\n", n > 1 ? "s" : "", oo.heatmap.c_str());
    return 0;
}

int run_check(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo) {
    if (eo.method != "lrp") throw Error("relprop check explains with LRP; --method " + eo.method + " has no rules to check");
    const Model model = open_model(mo);
    const Batch batch = load_inputs(io, model.input_shape(), mo.allow_nonfinite);
    std::vector<float> low, high;
    image_bounds(io, channels_of(model), any_image(io), low, high);
    const ExplainedGraph explained = explained_graph(model, explain_output_of(eo));
    const Plan plan(explained.graph, assign_rules(*explained.graph, mo.composite, composite_options_for(mo, low, high), mo.rules),
                    model.backend());
    const Explainer explainer(explained.graph, model.backend());
    std::printf("explaining %s\n", explained.description.c_str());
    const RelevanceInit init = eo.init == "logit" ? RelevanceInit::OneHotLogit : RelevanceInit::OneHot;
    const std::vector<int64_t> targets = parse_targets(eo.target);
    const int64_t n = batch.data.dim(0);
    check_target_count(targets, n);
    std::vector<NodeRelevance> report;
    double out_total = 0.0, in_total = 0.0;
    for (int64_t first = 0; first < n; first += eo.batch_size) {
        const int64_t count = std::min<int64_t>(eo.batch_size, n - first);
        const Recording rec = explainer.forward(slice_batch(batch.data, first, count), mo.allow_nonfinite);
        const Explanation e = explainer.explain(rec, plan, targets_for_slice(targets, first, count), init, true);
        const std::vector<NodeRelevance> part = conservation_report(*explained.graph, plan, rec, e);
        if (report.empty()) report = part;
        else
            for (size_t k = 0; k < part.size(); ++k) {
                NodeRelevance& a = report[k];
                const NodeRelevance& b = part[k];
                a.out_sum += b.out_sum;
                a.in_sum += b.in_sum;
                a.out_min = std::min(a.out_min, b.out_min);
                a.in_min = std::min(a.in_min, b.in_min);
                a.out_max = std::max(a.out_max, b.out_max);
                a.in_max = std::max(a.in_max, b.in_max);
            }
        const int64_t classes = e.output.numel() / count;
        for (int64_t i = 0; i < count; ++i) out_total += init == RelevanceInit::OneHotLogit ? e.output[i * classes + e.targets[i]] : 1.0;
        for (double s : per_sample_sums(e.relevance)) in_total += s;
    }
    std::fputs(format_conservation(report).c_str(), stdout);
    std::printf("output relevance %.6g, input relevance %.6g, ratio %.6f (1 = conserved)\n", out_total, in_total,
                out_total != 0 ? in_total / out_total : 0.0);
    return 0;
}

}  // namespace relprop::cli
