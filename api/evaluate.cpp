// relprop::evaluate: perturbation curves (pixel flipping, region perturbation) and their scores.
// See relprop/evaluate.hpp for the definitions.
#include "relprop/evaluate.hpp"

#include "engine/backend.h"
#include "engine/graph.h"
#include "rules/explainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>

#include "engine/attribution.h"
#include "relprop/error.hpp"
#include "engine/executor.h"
#include "engine/finite.h"

namespace relprop {

// Model::lock_device is private; evaluate's forward passes hold it like an Attributor's do.
struct EvaluateAccess {
    static std::unique_lock<std::mutex> lock(const Model& model) { return model.lock_device(); }
};

std::string metric_name(PerturbationMetric m) {
    return m == PerturbationMetric::PixelFlipping ? "pixel-flipping" : "region-perturbation";
}
std::string order_name(PerturbationOrder o) { return o == PerturbationOrder::MoRF ? "morf" : "lerf"; }
std::string fill_name(PerturbationFill f) {
    switch (f) {
        case PerturbationFill::Value: return "value";
        case PerturbationFill::ChannelMean: return "mean";
        case PerturbationFill::Blur: return "blur";
        case PerturbationFill::UniformNoise: return "uniform";
    }
    throw Error("unknown PerturbationFill " + std::to_string(static_cast<int>(f)));
}

EvaluatedMethod parse_evaluated_method(const std::string& spec, const AttributorOptions& base) {
    EvaluatedMethod m;
    m.name = spec;
    const size_t colon = spec.find(':');
    const std::string head = spec.substr(0, colon), arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
    const bool has_arg = colon != std::string::npos;
    auto unknown = [&](const std::string& why) {
        return Error("unknown method '" + spec + "'" + why +
                     " (known: lrp, lrp:COMPOSITE, gradient, input-x-gradient, integrated-gradients, smoothgrad, "
                     "occlusion, random, random:SEED, file:DIR)");
    };
    if (head == "random") {
        m.source = EvaluatedMethod::Source::Random;
        m.seed = 0;
        if (has_arg) {
            try {
                size_t used = 0;
                m.seed = std::stoull(arg, &used);
                if (used != arg.size()) throw std::invalid_argument(arg);
            } catch (const std::exception&) {
                throw unknown(": the seed must be a whole number");
            }
        }
        return m;
    }
    if (head == "file") {
        if (arg.empty()) throw unknown(": file: needs a folder");
        m.source = EvaluatedMethod::Source::Given;
        m.directory = arg;
        return m;
    }
    const std::vector<std::string> names = method_names();
    if (std::find(names.begin(), names.end(), head) == names.end()) throw unknown("");
    m.attributor = base;
    m.attributor.method = parse_method(head);
    if (has_arg) {
        if (m.attributor.method != Method::Lrp) throw unknown(": only lrp takes a composite (lrp:COMPOSITE)");
        if (arg.empty()) throw unknown(": lrp: needs a composite");
        m.attributor.composite = arg;
    }
    return m;
}

PerturbationScores score_curves(const PerturbationCurve& morf, const PerturbationCurve& lerf) {
    if (morf.logit.empty() || morf.logit.size() != lerf.logit.size() || morf.fraction.size() != morf.logit.size() ||
        lerf.fraction.size() != lerf.logit.size())
        throw Error("score_curves: the MoRF and LeRF curves must have the same, non-zero number of points");
    auto aopc = [](const PerturbationCurve& c) {
        double s = 0;
        for (double f : c.logit) s += c.logit[0] - f;
        return s / static_cast<double>(c.logit.size());
    };
    auto auc = [](const PerturbationCurve& c) {
        double a = 0;
        for (size_t k = 1; k < c.logit.size(); ++k)
            a += 0.5 * (c.logit[k] + c.logit[k - 1]) * (c.fraction[k] - c.fraction[k - 1]);
        return a;
    };
    PerturbationScores s;
    s.aopc_morf = aopc(morf);
    s.aopc_lerf = aopc(lerf);
    s.abpc = s.aopc_morf - s.aopc_lerf;
    s.auc_morf = auc(morf);
    s.auc_lerf = auc(lerf);
    return s;
}

std::vector<MethodSummary> summarize(const std::vector<SampleScores>& scores) {
    std::vector<MethodSummary> out;
    std::vector<std::vector<const PerturbationScores*>> groups;
    for (const SampleScores& s : scores) {
        size_t g = 0;
        while (g < out.size() && !(out[g].method == s.method && out[g].metric == s.metric)) ++g;
        if (g == out.size()) {
            out.push_back({s.method, s.metric, 0, {}, {}});
            groups.emplace_back();
        }
        groups[g].push_back(&s.scores);
    }
    using Field = double PerturbationScores::*;
    const Field fields[] = {&PerturbationScores::aopc_morf, &PerturbationScores::aopc_lerf, &PerturbationScores::abpc,
                            &PerturbationScores::auc_morf, &PerturbationScores::auc_lerf};
    for (size_t g = 0; g < out.size(); ++g) {
        const double n = static_cast<double>(groups[g].size());
        out[g].samples = static_cast<int64_t>(groups[g].size());
        for (Field f : fields) {
            double mean = 0;
            for (const PerturbationScores* p : groups[g]) mean += p->*f;
            mean /= n;
            double var = 0;
            for (const PerturbationScores* p : groups[g]) var += (p->*f - mean) * (p->*f - mean);
            out[g].mean.*f = mean;
            out[g].standard_error.*f = n > 1 ? std::sqrt(var / (n - 1) / n) : 0.0;
        }
    }
    return out;
}

Tensor random_attribution(const Shape& shape, uint64_t seed) {
    std::vector<uint64_t> ids(shape.empty() ? 1 : std::max<int64_t>(shape[0], 0));
    std::iota(ids.begin(), ids.end(), uint64_t{0});
    return random_attribution(shape, seed, ids);
}

Tensor random_attribution(const Shape& shape, uint64_t seed, const std::vector<uint64_t>& ids) {
    Tensor t(shape);
    const int64_t n = shape.empty() ? 1 : shape[0], per = t.numel() / std::max<int64_t>(n, 1);
    if (static_cast<int64_t>(ids.size()) != n)
        throw Error("random_attribution: " + std::to_string(ids.size()) + " sample ids for " + std::to_string(n) +
                    " samples " + shape_str(shape));
    for (int64_t i = 0; i < n; ++i) {
        std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(ids[i]),
                          static_cast<uint32_t>(ids[i] >> 32)};
        std::mt19937_64 rng(seq);
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        for (int64_t k = 0; k < per; ++k) t.data()[i * per + k] = u(rng);
    }
    return t;
}

namespace {

struct Geometry {
    int64_t n = 0, c = 0, h = 0, w = 0;
    int64_t pixels() const { return h * w; }
    int64_t sample() const { return c * h * w; }
};

Geometry geometry_of(const Tensor& inputs) {
    if (inputs.rank() != 4 || inputs.dim(0) < 1)
        throw Error("evaluate: the inputs must be images [N, C, H, W], not " + shape_str(inputs.shape()));
    return {inputs.dim(0), inputs.dim(1), inputs.dim(2), inputs.dim(3)};
}

// The pixels (y·W + x) of each unit: one pixel each, or patch×patch regions in row-major grid order.
std::vector<std::vector<int64_t>> units_of(const Geometry& g, PerturbationMetric metric, int64_t patch) {
    std::vector<std::vector<int64_t>> units;
    if (metric == PerturbationMetric::PixelFlipping) {
        for (int64_t p = 0; p < g.pixels(); ++p) units.push_back({p});
        return units;
    }
    for (int64_t y0 = 0; y0 < g.h; y0 += patch)
        for (int64_t x0 = 0; x0 < g.w; x0 += patch) {
            std::vector<int64_t>& u = units.emplace_back();
            for (int64_t y = y0; y < std::min(g.h, y0 + patch); ++y)
                for (int64_t x = x0; x < std::min(g.w, x0 + patch); ++x) u.push_back(y * g.w + x);
        }
    return units;
}

void check_geometry(const Geometry& g, PerturbationMetric metric, const EvaluateOptions& o) {
    if (o.step < 0) throw Error("evaluate: the step must be >= 1 (or 0 for one hundredth of the image)");
    if (o.batch_size < 1) throw Error("evaluate: the batch size must be >= 1, not " + std::to_string(o.batch_size));
    if (o.fill == PerturbationFill::Blur && !(o.blur_sigma > 0))
        throw Error("evaluate: the blur sigma must be > 0, not " + std::to_string(o.blur_sigma));
    if (metric == PerturbationMetric::PixelFlipping) {
        if (o.step > g.pixels())
            throw Error("evaluate: a step of " + std::to_string(o.step) + " pixels is larger than the image (" +
                        std::to_string(g.h) + "x" + std::to_string(g.w) + " = " + std::to_string(g.pixels()) +
                        " pixels)");
        return;
    }
    if (o.patch < 1 || o.patch > std::min(g.h, g.w))
        throw Error("evaluate: a patch of " + std::to_string(o.patch) + " pixels does not fit the " +
                    std::to_string(g.h) + "x" + std::to_string(g.w) + " image");
    const int64_t regions = ((g.h + o.patch - 1) / o.patch) * ((g.w + o.patch - 1) / o.patch);
    if (o.step > regions)
        throw Error("evaluate: a step of " + std::to_string(o.step) + " regions is more than the image's " +
                    std::to_string(regions) + " regions of " + std::to_string(o.patch) + "x" + std::to_string(o.patch));
}

// What the perturbed pixels of one sample [C, H, W] become; `id` seeds the uniform noise.
std::vector<float> fill_image(const float* x, const Geometry& g, uint64_t id, const EvaluateOptions& o) {
    std::vector<float> f(g.sample(), o.fill_value);
    const int64_t hw = g.pixels();
    if (o.fill == PerturbationFill::ChannelMean) {
        for (int64_t c = 0; c < g.c; ++c) {
            double s = 0;
            for (int64_t p = 0; p < hw; ++p) s += x[c * hw + p];
            std::fill(f.begin() + c * hw, f.begin() + (c + 1) * hw, static_cast<float>(s / hw));
        }
    } else if (o.fill == PerturbationFill::UniformNoise) {
        const auto [lo, hi] = std::minmax_element(x, x + g.sample());
        // The id's high half joins only when it is not 0: ids below 2^32 keep the earlier numbers.
        std::vector<uint32_t> words{static_cast<uint32_t>(o.seed), static_cast<uint32_t>(o.seed >> 32),
                                    static_cast<uint32_t>(id), 0x7e57u};
        if (id >> 32) words.push_back(static_cast<uint32_t>(id >> 32));
        std::seed_seq seq(words.begin(), words.end());
        std::mt19937_64 rng(seq);
        std::uniform_real_distribution<float> u(*lo, std::nextafter(*hi, *hi + 1.0f));
        for (float& v : f) v = u(rng);
    } else if (o.fill == PerturbationFill::Blur) {
        // Separable Gaussian, radius ⌈3σ⌉, the edge pixels repeated.
        const int64_t r = static_cast<int64_t>(std::ceil(3.0 * o.blur_sigma));
        std::vector<double> k(2 * r + 1);
        double ks = 0;
        for (int64_t i = -r; i <= r; ++i) ks += k[i + r] = std::exp(-0.5 * double(i * i) / (o.blur_sigma * o.blur_sigma));
        for (double& v : k) v /= ks;
        std::vector<double> tmp(g.sample());
        for (int64_t c = 0; c < g.c; ++c)
            for (int64_t y = 0; y < g.h; ++y)
                for (int64_t xx = 0; xx < g.w; ++xx) {
                    double s = 0;
                    for (int64_t i = -r; i <= r; ++i)
                        s += k[i + r] * x[c * hw + y * g.w + std::clamp<int64_t>(xx + i, 0, g.w - 1)];
                    tmp[c * hw + y * g.w + xx] = s;
                }
        for (int64_t c = 0; c < g.c; ++c)
            for (int64_t y = 0; y < g.h; ++y)
                for (int64_t xx = 0; xx < g.w; ++xx) {
                    double s = 0;
                    for (int64_t i = -r; i <= r; ++i)
                        s += k[i + r] * tmp[c * hw + std::clamp<int64_t>(y + i, 0, g.h - 1) * g.w + xx];
                    f[c * hw + y * g.w + xx] = static_cast<float>(s);
                }
    }
    return f;
}

void check_batch_dimension(const Model& model) {
    const Shape& declared = model.input_shape();
    if (!declared.empty() && declared[0] > 1)
        throw Error("evaluate: the model takes batches of exactly " + std::to_string(declared[0]) +
                    "; perturbation curves need a free batch dimension (or batch 1)");
}

// Forward passes of stacked perturbed inputs, `capacity` at a time; each result goes to its slot.
class ForwardQueue {
public:
    ForwardQueue(const Model& model, ExplainOutput output, const Geometry& g, int64_t capacity)
        : m_model(model),
          m_graph(explained_graph(model, output).graph),
          m_executor(*m_graph, model.backend()),
          m_geometry(g) {
        check_batch_dimension(model);
        m_capacity = copies_per_pass(model.graph(), 1, capacity);
        m_batch = Tensor({m_capacity, g.c, g.h, g.w});
    }

    // Queues one input [C, H, W]; its target logit goes to *slot once its batch has run.
    void push(const float* x, int64_t target, double* slot) {
        std::memcpy(m_batch.data() + m_count * m_geometry.sample(), x, sizeof(float) * m_geometry.sample());
        m_targets.push_back(target);
        m_slots.push_back(slot);
        if (++m_count == m_capacity) flush();
    }

    void flush() {
        if (m_count == 0) return;
        const Tensor x = m_count == m_capacity ? m_batch
                                               : Tensor::wrap({m_count, m_geometry.c, m_geometry.h, m_geometry.w},
                                                              m_batch.data());
        Tensor out;
        {
            const auto lock = EvaluateAccess::lock(m_model);
            out = m_executor.backend().download(m_executor.forward({x}).output());
        }
        if (out.rank() < 1 || out.dim(0) != m_count)
            throw Error("evaluate: the model's output " + shape_str(out.shape()) + " is not one row per input sample");
        const int64_t classes = out.numel() / m_count;
        for (int64_t i = 0; i < m_count; ++i) {
            if (m_targets[i] < 0 || m_targets[i] >= classes)
                throw Error("evaluate: target " + std::to_string(m_targets[i]) + " is out of range: the model has " +
                            std::to_string(classes) + " outputs per sample");
            *m_slots[i] = out[i * classes + m_targets[i]];
        }
        m_count = 0;
        m_targets.clear();
        m_slots.clear();
    }

    const Model& model() const { return m_model; }

private:
    const Model& m_model;
    std::shared_ptr<const Graph> m_graph;  // the model's, or it without its final Softmax
    Executor m_executor;
    Geometry m_geometry;
    int64_t m_capacity = 1, m_count = 0;
    Tensor m_batch;
    std::vector<int64_t> m_targets;
    std::vector<double*> m_slots;
};

void check_sample_ids(const EvaluateOptions& o, const Geometry& g) {
    if (!o.sample_ids.empty() && static_cast<int64_t>(o.sample_ids.size()) != g.n)
        throw Error("evaluate: " + std::to_string(o.sample_ids.size()) + " sample ids for " + std::to_string(g.n) +
                    " samples (give one per sample, or none)");
}

// Both curves (MoRF, LeRF) of sample i, queued on `queue`; the logits arrive when it flushes.
void queue_sample_curves(ForwardQueue& queue, const Tensor& inputs, const Tensor& relevance, const Geometry& g,
                         int64_t i, int64_t target, PerturbationMetric metric, const EvaluateOptions& o,
                         const std::string& method, std::vector<PerturbationCurve>& out) {
    const std::vector<std::vector<int64_t>> units = units_of(g, metric, o.patch);
    const int64_t count = static_cast<int64_t>(units.size());
    const int64_t step = o.step > 0 ? o.step : std::max<int64_t>(1, count / 100);
    const int64_t steps = (count + step - 1) / step;
    // Relevance per pixel (summed over the map's channels), then per unit.
    const int64_t rc = relevance.dim(1);
    const float* r = relevance.data() + i * rc * g.pixels();
    std::vector<double> score(count, 0.0);
    for (int64_t u = 0; u < count; ++u)
        for (int64_t p : units[u])
            for (int64_t c = 0; c < rc; ++c) score[u] += r[c * g.pixels() + p];
    const float* x = inputs.data() + i * g.sample();
    const std::vector<float> fill =
        fill_image(x, g, o.sample_ids.empty() ? static_cast<uint64_t>(i) : o.sample_ids[i], o);

    for (PerturbationOrder order : {PerturbationOrder::MoRF, PerturbationOrder::LeRF}) {
        PerturbationCurve& curve = out.emplace_back();
        curve.method = method;
        curve.metric = metric;
        curve.order = order;
        curve.sample = i;
        curve.target = target;
        curve.fraction.resize(steps + 1);
        curve.logit.resize(steps + 1);
    }
    // The slots are final now (no more emplace_back on `out` for this sample).
    PerturbationCurve* curves = &out[out.size() - 2];
    for (int o2 = 0; o2 < 2; ++o2) {
        std::vector<int64_t> rank(count);
        std::iota(rank.begin(), rank.end(), 0);
        if (o2 == 0)
            std::stable_sort(rank.begin(), rank.end(), [&](int64_t a, int64_t b) { return score[a] > score[b]; });
        else
            std::stable_sort(rank.begin(), rank.end(), [&](int64_t a, int64_t b) { return score[a] < score[b]; });
        std::vector<float> cur(x, x + g.sample());
        int64_t perturbed = 0;
        for (int64_t k = 0; k <= steps; ++k) {
            if (k > 0)
                for (int64_t u = (k - 1) * step; u < std::min(count, k * step); ++u)
                    for (int64_t p : units[rank[u]]) {
                        for (int64_t c = 0; c < g.c; ++c) cur[c * g.pixels() + p] = fill[c * g.pixels() + p];
                        ++perturbed;
                    }
            curves[o2].fraction[k] = static_cast<double>(perturbed) / static_cast<double>(g.pixels());
            queue.push(cur.data(), target, &curves[o2].logit[k]);
        }
    }
}

}  // namespace

std::vector<PerturbationCurve> perturbation_curves(const Model& model, const Tensor& inputs, const Tensor& relevance,
                                                   const std::vector<int64_t>& targets, PerturbationMetric metric,
                                                   const EvaluateOptions& options, const std::string& method) {
    const Geometry g = geometry_of(inputs);
    check_geometry(g, metric, options);
    if (relevance.rank() != 4 || relevance.dim(0) != g.n || relevance.dim(2) != g.h || relevance.dim(3) != g.w ||
        (relevance.dim(1) != g.c && relevance.dim(1) != 1))
        throw Error("evaluate: the attribution" + (method.empty() ? std::string() : " of '" + method + "'") + " is " +
                    shape_str(relevance.shape()) + " but the inputs are " + shape_str(inputs.shape()));
    if (static_cast<int64_t>(targets.size()) != g.n)
        throw Error("evaluate: " + std::to_string(targets.size()) + " targets for " + std::to_string(g.n) + " samples");
    check_sample_ids(options, g);
    // A NaN would break the ranking (no strict weak order): refused, counted.
    require_finite(relevance, "evaluate: the attribution" + (method.empty() ? std::string() : " of '" + method + "'"),
                   "replace the NaN/Inf values first");
    const Tensor x = inputs.device() == Device::CPU ? inputs : model.backend().download(inputs);
    std::vector<PerturbationCurve> curves;
    curves.reserve(2 * g.n);  // pointers into it are queued: no reallocation allowed
    ForwardQueue queue(model, options.explain_output, g, options.batch_size);
    for (int64_t i = 0; i < g.n; ++i) {
        queue_sample_curves(queue, x, relevance, g, i, targets[i], metric, options, method, curves);
        queue.flush();
    }
    return curves;
}

Evaluation evaluate(const Model& model, const Tensor& inputs, const std::vector<EvaluatedMethod>& methods,
                    const EvaluateOptions& options, const std::vector<int64_t>& targets) {
    const Geometry g = geometry_of(inputs);
    if (options.metrics.empty()) throw Error("evaluate: no metric asked for");
    if (methods.empty()) throw Error("evaluate: no method to evaluate");
    for (PerturbationMetric m : options.metrics) check_geometry(g, m, options);
    check_sample_ids(options, g);
    check_batch_dimension(model);
    const Tensor x = inputs.device() == Device::CPU ? inputs : model.backend().download(inputs);
    require_finite(x, "evaluate's inputs", "replace the NaN/Inf values first");

    // The attributors first: an unknown composite or a bad parameter fails before any work. They explain
    // the output the curves record.
    std::vector<std::unique_ptr<Attributor>> attributors;
    for (const EvaluatedMethod& m : methods) {
        AttributorOptions ao = m.attributor;
        ao.explain_output = options.explain_output;
        attributors.push_back(m.source == EvaluatedMethod::Source::Attributor ? std::make_unique<Attributor>(model, ao)
                                                                               : nullptr);
        if (m.source == EvaluatedMethod::Source::Given && !m.relevance.defined())
            throw Error("evaluate: method '" + m.name + "' has no attribution maps" +
                        (m.directory.empty() ? std::string() : " (load the files of " + m.directory + " first)"));
        const Tensor& r = m.relevance;
        if (m.source == EvaluatedMethod::Source::Given &&
            (r.rank() != 4 || r.dim(0) != g.n || r.dim(2) != g.h || r.dim(3) != g.w || (r.dim(1) != g.c && r.dim(1) != 1)))
            throw Error("evaluate: the attribution of '" + m.name + "' is " + shape_str(r.shape()) +
                        " but the inputs are " + shape_str(inputs.shape()));
    }

    // Samples per engine call: the batch size, or 1 for a model whose batch dimension is fixed at 1.
    const int64_t per_call = copies_per_pass(model.graph(), 1, options.batch_size);
    Evaluation ev;
    const ExplainedGraph explained = explained_graph(model, options.explain_output);
    ev.explained_output = explained.output_kind;
    {
        // The unperturbed logits give the targets (argmax where none is given).
        const Executor exec(*explained.graph, model.backend());
        Tensor logits;
        for (int64_t first = 0; first < g.n; first += per_call) {
            const int64_t count = std::min<int64_t>(per_call, g.n - first);
            const Tensor part = Tensor::wrap({count, g.c, g.h, g.w}, const_cast<float*>(x.data()) + first * g.sample());
            Tensor out;
            {
                const auto lock = EvaluateAccess::lock(model);
                out = model.backend().download(exec.forward({part}).output());
            }
            if (out.rank() < 1 || out.dim(0) != count)
                throw Error("evaluate: the model's output " + shape_str(out.shape()) + " is not one row per input sample");
            if (!logits.defined()) {
                Shape s = out.shape();
                s[0] = g.n;
                logits = Tensor(s);
            }
            std::memcpy(logits.data() + first * (out.numel() / count), out.data(), sizeof(float) * out.numel());
        }
        ev.targets = resolve_targets(logits, targets);
    }

    const int64_t total = static_cast<int64_t>(methods.size() * options.metrics.size()) * g.n;
    int64_t done = 0;
    for (size_t mi = 0; mi < methods.size(); ++mi) {
        const EvaluatedMethod& m = methods[mi];
        Tensor relevance;
        if (m.source == EvaluatedMethod::Source::Random) {
            relevance = options.sample_ids.empty() ? random_attribution(x.shape(), m.seed)
                                                   : random_attribution(x.shape(), m.seed, options.sample_ids);
        } else if (m.source == EvaluatedMethod::Source::Given) {
            relevance = m.relevance.device() == Device::CPU ? m.relevance : model.backend().download(m.relevance);
        } else {
            relevance = Tensor(x.shape());
            for (int64_t first = 0; first < g.n; first += per_call) {
                const int64_t count = std::min<int64_t>(per_call, g.n - first);
                const Tensor part =
                    Tensor::wrap({count, g.c, g.h, g.w}, const_cast<float*>(x.data()) + first * g.sample());
                const Result r = (*attributors[mi])(
                    part, std::vector<int64_t>(ev.targets.begin() + first, ev.targets.begin() + first + count));
                std::memcpy(relevance.data() + first * g.sample(), r.relevance.data(), sizeof(float) * r.relevance.numel());
            }
        }
        for (PerturbationMetric metric : options.metrics) {
            // One sample at a time, so that progress can be told; with its id (without ids, as before:
            // the position in this one-sample call, 0).
            EvaluateOptions one = options;
            for (int64_t i = 0; i < g.n; ++i) {
                if (!options.sample_ids.empty()) one.sample_ids = {options.sample_ids[i]};
                const int64_t rc = relevance.dim(1);
                const Tensor xi = Tensor::wrap({1, g.c, g.h, g.w}, const_cast<float*>(x.data()) + i * g.sample());
                const Tensor ri = Tensor::wrap({1, rc, relevance.dim(2), relevance.dim(3)},
                                               relevance.data() + i * rc * relevance.dim(2) * relevance.dim(3));
                std::vector<PerturbationCurve> c =
                    perturbation_curves(model, xi, ri, {ev.targets[i]}, metric, one, m.name);
                for (PerturbationCurve& curve : c) curve.sample = i;
                ev.scores.push_back({m.name, metric, i, score_curves(c[0], c[1])});
                for (PerturbationCurve& curve : c) ev.curves.push_back(std::move(curve));
                if (options.progress) options.progress(++done, total);
            }
        }
    }
    ev.summary = summarize(ev.scores);
    return ev;
}

}  // namespace relprop
