/// @file
/// relprop::evaluate — how faithful is an attribution: perturbation curves (pixel flipping and region
/// perturbation, MoRF and LeRF orders), AOPC, ABPC and the area under the curve, per sample and as a
/// mean ± standard error per method.
///
/// Pixel flipping (Bach et al. 2015; Samek et al. 2017): the relevance of each pixel is summed over
/// the channels; pixels are ranked by it (MoRF: most relevant first, LeRF: least relevant first; ties
/// in pixel order); step k replaces the first k·step pixels (every channel) with the fill, and the
/// curve records the target logit after each step, from step 0 (the unperturbed input) until every
/// pixel is replaced. Region perturbation: the same with the image cut into a grid of patch×patch
/// regions (smaller at the right and bottom edges) ranked by their summed relevance, `step` regions
/// per step. Every perturbed input of a sample goes through the engine `batch_size` at a time.
///
/// With f_k the target logit after step k (k = 0 … L):
///   AOPC = 1/(L+1) · Σ_k (f_0 − f_k)                 (Samek et al. 2017), for MoRF and for LeRF;
///   ABPC = AOPC(MoRF) − AOPC(LeRF)                    (the mean gap between the LeRF and MoRF curves);
///   AUC  = trapezoidal area under f over the fraction of pixels perturbed (0 … 1).
/// A faithful attribution has a large AOPC(MoRF), a small AOPC(LeRF), a large ABPC and a small AUC(MoRF).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attributor.hpp"
#include "model.hpp"
#include "tensor.hpp"

namespace relprop {

enum class PerturbationMetric { PixelFlipping, RegionPerturbation };
enum class PerturbationOrder { MoRF, LeRF };
/// What a perturbed pixel becomes: a value, the sample's channel mean, the sample blurred (Gaussian,
/// EvaluateOptions::blur_sigma), or uniform noise over the sample's [min, max] (EvaluateOptions::seed).
enum class PerturbationFill { Value, ChannelMean, Blur, UniformNoise };

/// "pixel-flipping", "region-perturbation"; "morf", "lerf"; "value", "mean", "blur", "uniform".
std::string metric_name(PerturbationMetric m);
std::string order_name(PerturbationOrder o);
std::string fill_name(PerturbationFill f);

/// Where a method's attribution comes from.
struct EvaluatedMethod {
    enum class Source { Attributor, Random, Given };
    std::string name;      ///< the label in curves and summaries (the SPEC it was parsed from)
    Source source = Source::Attributor;
    AttributorOptions attributor;  ///< Source::Attributor
    uint64_t seed = 0;             ///< Source::Random: sample i's map is uniform(0, 1) noise from (seed, its id)
    Tensor relevance;              ///< Source::Given: the maps, shaped like the inputs
    std::string directory;         ///< set by parse for "file:DIR" (the caller loads the maps into relevance)
};

/// "lrp" or "lrp:COMPOSITE", "gradient", "input-x-gradient", "integrated-gradients", "smoothgrad",
/// "occlusion" (an Attributor made from `base` with that method and composite), "random" or
/// "random:SEED", "file:DIR" (Source::Given with `directory` set). Anything else is an Error listing these.
EvaluatedMethod parse_evaluated_method(const std::string& spec, const AttributorOptions& base = {});

struct EvaluateOptions {
    std::vector<PerturbationMetric> metrics = {PerturbationMetric::PixelFlipping};
    /// Pixels (pixel flipping) or regions (region perturbation) replaced per step; 0 = one hundredth
    /// of them (at least 1), so that a curve has about 100 steps.
    int64_t step = 0;
    int64_t patch = 4;  ///< region perturbation: the regions' side
    PerturbationFill fill = PerturbationFill::Value;
    float fill_value = 0.0f;   ///< PerturbationFill::Value
    float blur_sigma = 2.0f;   ///< PerturbationFill::Blur (pixels)
    uint64_t seed = 0;         ///< PerturbationFill::UniformNoise
    /// One id per sample, or empty. A sample's random numbers (its map for Source::Random, its
    /// PerturbationFill::UniformNoise) come from (seed, its id) alone, so a sample keeps them whatever
    /// the batch it is in or its place there: give a stable id (the CLI hashes each input's file name)
    /// where samples are evaluated in parts or the set of samples grows. Empty keeps the numbers of
    /// earlier versions: the id is the position (random maps; perturbation_curves' noise), and
    /// evaluate(), which runs perturbation_curves one sample at a time, gives every sample id 0's noise.
    std::vector<uint64_t> sample_ids;
    int64_t batch_size = 32;   ///< perturbed inputs (and samples explained) per engine call
    /// A model ending in a Softmax: the curves record its logits (the Softmax's input; the default, as
    /// explanations are of the logits) or its probabilities (explained_graph()). Every method's attributor
    /// is run with the same choice, so that the curves perturb by the output that was explained.
    ExplainOutput explain_output = ExplainOutput::Logits;
    /// Called after each sample with (methods × samples done, methods × samples in all).
    std::function<void(int64_t, int64_t)> progress;
};

struct PerturbationCurve {
    std::string method;
    PerturbationMetric metric = PerturbationMetric::PixelFlipping;
    PerturbationOrder order = PerturbationOrder::MoRF;
    int64_t sample = 0;
    int64_t target = 0;
    std::vector<double> fraction;  ///< of pixels perturbed after each step (0 first, 1 last)
    std::vector<double> logit;     ///< the target logit (see Evaluation::explained_output) after each step
};

/// The scores of one sample (or their means / standard errors).
struct PerturbationScores {
    double aopc_morf = 0, aopc_lerf = 0, abpc = 0, auc_morf = 0, auc_lerf = 0;
};

struct SampleScores {
    std::string method;
    PerturbationMetric metric = PerturbationMetric::PixelFlipping;
    int64_t sample = 0;
    PerturbationScores scores;
};

struct MethodSummary {
    std::string method;
    PerturbationMetric metric = PerturbationMetric::PixelFlipping;
    int64_t samples = 0;
    PerturbationScores mean;
    PerturbationScores standard_error;  ///< sample standard deviation / √samples (0 for one sample)
};

struct Evaluation {
    /// What the curves record: "logits" (the input of the model's final Softmax, which was left out),
    /// "probabilities" (the final Softmax kept) or "output" (the model has no final Softmax).
    std::string explained_output;
    std::vector<int64_t> targets;           ///< per sample
    std::vector<PerturbationCurve> curves;  ///< per method, metric, sample, order
    std::vector<SampleScores> scores;       ///< per method, metric, sample
    std::vector<MethodSummary> summary;     ///< per method and metric
};

/// AOPC, ABPC and AUC of one sample's MoRF and LeRF curves (same length, fraction from 0 to 1).
PerturbationScores score_curves(const PerturbationCurve& morf, const PerturbationCurve& lerf);
/// Means and standard errors over samples, one entry per (method, metric) in order of appearance.
std::vector<MethodSummary> summarize(const std::vector<SampleScores>& scores);
/// A seeded uniform(0, 1) map shaped like `shape`; sample i depends only on (seed, i).
Tensor random_attribution(const Shape& shape, uint64_t seed);
/// The same with sample i's map from (seed, ids[i]) (one id per sample, else an Error); ids 0 … N−1
/// give the overload above.
Tensor random_attribution(const Shape& shape, uint64_t seed, const std::vector<uint64_t>& ids);

/// Evaluates each method on `inputs` [N, C, H, W]: its attribution of each sample's target (targets:
/// one per sample, one for all, or empty = each sample's highest logit), then the perturbation curves
/// and their scores. Throws relprop::Error for an input that is not image-shaped, a step or patch
/// larger than the image, a given map of another shape, or a model whose output is not one row per sample.
Evaluation evaluate(const Model& model, const Tensor& inputs, const std::vector<EvaluatedMethod>& methods,
                    const EvaluateOptions& options = {}, const std::vector<int64_t>& targets = {});

/// The perturbation curves of one attribution (relevance shaped like inputs) for given targets (one
/// per sample), without scores: what evaluate() runs per method and metric (options.explain_output says
/// which output of a model ending in a Softmax they record; options.sample_ids, one per sample or
/// empty, seed the uniform noise).
std::vector<PerturbationCurve> perturbation_curves(const Model& model, const Tensor& inputs, const Tensor& relevance,
                                                   const std::vector<int64_t>& targets, PerturbationMetric metric,
                                                   const EvaluateOptions& options = {},
                                                   const std::string& method = "");

}  // namespace relprop
