// `relprop explain` and `relprop check`: a batch of inputs through the model, the reverse pass of the
// chosen method, and the outputs (summary or JSON, relevance .npy, heatmaps, conservation table).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/error.h"
#include "io/heatmap.h"
#include "io/npy.h"
#include "rules/conservation.h"
#include "rules/explainer.h"
#include "tools/cli/commands.h"
#include "tools/cli/inputs.h"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

struct Run {
    Batch batch;
    Tensor logits;     // [N, classes]
    Tensor relevance;  // shaped like batch.data
    std::vector<int64_t> targets;
    std::string backend;  // the backend that ran (what --device auto chose)
    double t_load = 0, t_forward = 0, t_reverse = 0;
    std::vector<NodeRelevance> report;  // check only, summed over the batch
};

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

Run run(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, bool keep_values) {
    const auto t0 = Clock::now();
    Session session = open_model(mo);
    const Graph& graph = *session.graph;
    Run r;
    r.backend = session.backend->name();
    r.batch = load_inputs(io, graph.input_shapes()[0]);
    const int64_t n = r.batch.data.dim(0);
    std::vector<int64_t> targets = parse_targets(eo.target);
    if (targets.size() > 1 && static_cast<int64_t>(targets.size()) != n)
        throw Error("--target lists " + std::to_string(targets.size()) + " classes for " + std::to_string(n) +
                    " samples (give one, or one per sample)");
    std::unique_ptr<Plan> plan;
    if (eo.method == "lrp") {
        std::vector<float> low, high;
        const Shape& in_shape = graph.input_shapes()[0];
        image_bounds(io, in_shape.size() > 1 ? in_shape[1] : 1, any_image(io), low, high);
        plan = std::make_unique<Plan>(session.graph, rules_for(session, mo, low, high), *session.backend);
    }
    Explainer explainer(session.graph, *session.backend);
    r.t_load = seconds(t0, Clock::now());
    const RelevanceInit init = eo.init == "logit" ? RelevanceInit::OneHotLogit : RelevanceInit::OneHot;
    const bool progress = n > eo.batch_size && isatty(STDERR_FILENO);
    r.relevance = Tensor(r.batch.data.shape());
    for (int64_t first = 0; first < n; first += eo.batch_size) {
        const int64_t count = std::min<int64_t>(eo.batch_size, n - first);
        const Tensor x = slice_batch(r.batch.data, first, count);
        std::vector<int64_t> t;
        if (targets.size() == 1) t = targets;
        if (targets.size() > 1) t.assign(targets.begin() + first, targets.begin() + first + count);
        const auto t1 = Clock::now();
        const Recording rec = explainer.forward(x);
        const auto t2 = Clock::now();
        Explanation e = plan ? explainer.explain(rec, *plan, t, init, keep_values)
                             : explainer.gradient(rec, t, init, keep_values);
        if (eo.method == "input-x-gradient")
            for (int64_t i = 0; i < x.numel(); ++i) e.relevance[i] *= x[i];
        r.t_forward += seconds(t1, t2);
        r.t_reverse += seconds(t2, Clock::now());
        if (!r.logits.defined()) {
            Shape s = e.output.shape();
            s[0] = n;
            r.logits = Tensor(s);
        }
        const int64_t per_out = e.output.numel() / count, per_in = x.numel() / count;
        std::copy(e.output.data(), e.output.data() + e.output.numel(), r.logits.data() + first * per_out);
        std::copy(e.relevance.data(), e.relevance.data() + e.relevance.numel(), r.relevance.data() + first * per_in);
        r.targets.insert(r.targets.end(), e.targets.begin(), e.targets.end());
        if (keep_values) {
            if (!plan) throw Error("relprop check needs --method lrp");
            const auto part = conservation_report(graph, *plan, rec, e);
            if (r.report.empty()) {
                r.report = part;
            } else {
                for (size_t k = 0; k < part.size(); ++k) {
                    NodeRelevance& a = r.report[k];
                    const NodeRelevance& b = part[k];
                    a.out_sum += b.out_sum;
                    a.in_sum += b.in_sum;
                    a.out_min = std::min(a.out_min, b.out_min);
                    a.in_min = std::min(a.in_min, b.in_min);
                    a.out_max = std::max(a.out_max, b.out_max);
                    a.in_max = std::max(a.in_max, b.in_max);
                }
            }
        }
        if (progress) std::fprintf(stderr, "\rexplained %lld/%lld", static_cast<long long>(first + count), static_cast<long long>(n));
    }
    if (progress) std::fprintf(stderr, "\n");
    return r;
}

void write_heatmaps(const Run& r, const OutputOptions& oo) {
    HeatmapOptions ho;
    ho.cmap = parse_colormap(oo.cmap);
    ho.symmetric = !oo.asymmetric;
    const int64_t n = r.relevance.dim(0);
    if (r.relevance.rank() != 4) throw Error("--heatmap needs an image-shaped input [N, C, H, W]");
    const bool single_file = n == 1 && fs::path(oo.heatmap).extension() == ".png";
    if (!single_file) {
        std::error_code ec;
        fs::create_directories(oo.heatmap, ec);
        if (ec) throw Error(oo.heatmap + ": cannot create the heatmap folder: " + ec.message());
    }
    for (int64_t i = 0; i < n; ++i) {
        const Tensor one = slice_batch(r.relevance, i, 1);
        Image img = render_heatmap(one.reshaped({one.dim(1), one.dim(2), one.dim(3)}), ho);
        if (oo.overlay) img = overlay(img, r.batch.shown[i], 0.5f);
        if (oo.heatmap_scale > 1) img = upscale_nearest(img, oo.heatmap_scale);
        write_png(single_file ? oo.heatmap : (fs::path(oo.heatmap) / (r.batch.names[i] + ".png")).string(), img);
    }
}

std::vector<double> per_sample_sums(const Tensor& t) {
    const int64_t n = t.dim(0), per = t.numel() / n;
    std::vector<double> sums(n, 0.0);
    for (int64_t i = 0; i < t.numel(); ++i) sums[i / per] += t[i];
    return sums;
}

}  // namespace

int run_explain(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo) {
    if (oo.heatmap_scale < 1 || oo.heatmap_scale > 64) throw Error("--heatmap-scale must be 1 to 64");
    parse_colormap(oo.cmap);  // an unknown colormap is an error before any work
    const auto t0 = Clock::now();
    Run r = run(mo, io, eo, false);
    if (!oo.out.empty()) write_npy(oo.out, r.relevance);
    if (!oo.heatmap.empty()) write_heatmaps(r, oo);
    const double total = seconds(t0, Clock::now());
    const std::vector<double> sums = per_sample_sums(r.relevance);
    const int64_t n = r.logits.dim(0), classes = r.logits.numel() / n;
    if (oo.json) {
        std::string s = "{\n  \"model\": " + json_string(mo.model) + ",\n  \"device\": " + json_string(mo.device) +
                        ",\n  \"backend\": " + json_string(r.backend) + ",\n  \"method\": " + json_string(eo.method) +
                        ",\n  \"composite\": " +
                        json_string(eo.method == "lrp" ? mo.composite : "") + ",\n  \"canonize\": " +
                        json_string(mo.canonize) + ",\n  \"samples\": [\n";
        for (int64_t i = 0; i < n; ++i) {
            const float* row = r.logits.data() + i * classes;
            const int64_t pred = std::max_element(row, row + classes) - row;
            s += "    {\"input\": " + json_string(r.batch.names[i]) + ", \"prediction\": " + std::to_string(pred) +
                 ", \"target\": " + std::to_string(r.targets[i]) + ", \"target_logit\": " +
                 json_number(row[r.targets[i]]) + ", \"relevance_sum\": " + json_number(sums[i]) + ", \"logits\": [";
            for (int64_t k = 0; k < classes; ++k) s += (k ? ", " : "") + json_number(row[k]);
            s += std::string("]}") + (i + 1 < n ? "," : "") + "\n";
        }
        s += "  ],\n  \"timing\": {\"load_s\": " + json_number(r.t_load) + ", \"forward_s\": " + json_number(r.t_forward) +
             ", \"reverse_s\": " + json_number(r.t_reverse) + ", \"total_s\": " + json_number(total) + "}\n}\n";
        std::fputs(s.c_str(), stdout);
        return 0;
    }
    for (int64_t i = 0; i < n; ++i) {
        const float* row = r.logits.data() + i * classes;
        const int64_t pred = std::max_element(row, row + classes) - row;
        std::printf("%s: predicted class %lld (logit %.4g), explained class %lld, relevance sum %.6g\n",
                    r.batch.names[i].c_str(), static_cast<long long>(pred), row[pred],
                    static_cast<long long>(r.targets[i]), sums[i]);
    }
    if (!oo.out.empty()) std::printf("relevance %s written to %s\n", shape_str(r.relevance.shape()).c_str(), oo.out.c_str());
    if (!oo.heatmap.empty()) std::printf("heatmap%s written to %s\n", n > 1 ? "s" : "", oo.heatmap.c_str());
    return 0;
}

int run_check(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo) {
    if (eo.method != "lrp") throw Error("relprop check explains with LRP; --method " + eo.method + " has no rules to check");
    Run r = run(mo, io, eo, true);
    std::fputs(format_conservation(r.report).c_str(), stdout);
    double out_total = 0.0;
    const int64_t n = r.logits.dim(0), classes = r.logits.numel() / n;
    for (int64_t i = 0; i < n; ++i)
        out_total += eo.init == "logit" ? r.logits[i * classes + r.targets[i]] : 1.0;
    double in_total = 0.0;
    for (double s : per_sample_sums(r.relevance)) in_total += s;
    std::printf("output relevance %.6g, input relevance %.6g, ratio %.6f (1 = conserved)\n", out_total, in_total,
                out_total != 0 ? in_total / out_total : 0.0);
    return 0;
}

}  // namespace relprop::cli
