/// @file
/// relprop::Attributor — one attribution method (LRP with a composite, or a gradient-family method)
/// set up once for a relprop::Model and called per batch.
///
/// Thread safety: operator() is const and may be called from several threads at once on one
/// Attributor (or on several sharing a Model). On the CPU the calls run concurrently; on a CUDA
/// device they are serialized (one stream per model). Creating an Attributor prepares the rules'
/// modified parameters once; make it once and reuse it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "method_options.hpp"
#include "model.hpp"
#include "tensor.hpp"

namespace relprop {

struct RuleAssignment;  // the rule of every node (rules/composite.h, internal): see Attributor::rule_listing

/// The attribution methods.
enum class Method {
    Lrp,                  ///< Layer-wise Relevance Propagation with a composite and rule overrides
    Gradient,             ///< ∂f_target/∂x
    GradientXInput,       ///< x ⊙ ∂f_target/∂x
    SmoothGrad,           ///< mean gradient under input noise (AttributorOptions::smoothgrad)
    IntegratedGradients,  ///< path-integrated gradient from a baseline (AttributorOptions::integrated_gradients)
    Occlusion,            ///< output change when windows of the input are occluded (AttributorOptions::occlusion)
};

/// "lrp", "gradient", "input-x-gradient", "smoothgrad", "integrated-gradients", "occlusion".
std::string method_name(Method method);
/// The inverse of method_name; throws relprop::Error listing the known names.
Method parse_method(const std::string& name);
/// Every method's name, in the order of the enum.
std::vector<std::string> method_names();

/// Where a model that ends in a Softmax is explained.
enum class ExplainOutput {
    Logits,         ///< at the Softmax's input, its logits (the Softmax is left out; the default)
    Probabilities,  ///< at the Softmax's output (the Softmax is kept and gets the gradient)
};

/// The graph an Attributor explains and what its output is.
struct ExplainedGraph {
    std::shared_ptr<const Graph> graph;  ///< the model's graph, or it without its final Softmax
    /// "logits" (a final Softmax left out), "probabilities" (a final Softmax kept) or "output" (no final Softmax).
    std::string output_kind;
    std::string value;        ///< the name of the value explained
    std::string description;  ///< in words, for messages ("the logits: the input of the final Softmax 'prob'")
};

/// The graph explained for `output`: when the model's output is computed by a Softmax (the last node) and
/// `output` is Logits, the graph up to that Softmax's input; otherwise the model's graph. A Softmax anywhere
/// else is always kept (its category's rule is the gradient).
ExplainedGraph explained_graph(const Model& model, ExplainOutput output);

/// What an Attributor computes. Fields a method does not use are ignored.
struct AttributorOptions {
    Method method = Method::Lrp;
    /// LRP: the composite (epsilon-plus-flat, epsilon-gamma-box, ...: README, "Composites") ...
    std::string composite = "epsilon-plus-flat";
    /// ... its parameters (epsilon, gamma, the ZBox bounds low/high, zero_bias) ...
    CompositeOptions composite_options;
    /// ... and rule overrides "SELECTOR=RULE", later ones winning ("Linear=epsilon:0.1",
    /// "features.0=zbox", "#3=flat", "first=wsquare").
    std::vector<std::string> rules;
    /// SmoothGrad / IntegratedGradients: average the composite's modified gradient (LRP) instead of
    /// the plain gradient, as zennit does when those attributors get a composite.
    bool use_rules = false;
    /// LRP, Gradient, GradientXInput: what the reverse pass starts from at the target.
    RelevanceInit init = RelevanceInit::OneHot;
    /// LRP, Gradient, GradientXInput: also return the relevance at every node's output.
    bool keep_node_relevance = false;
    SmoothGradOptions smoothgrad;
    IntegratedGradientsOptions integrated_gradients;
    OcclusionOptions occlusion;
    /// Accept inputs with NaN/Inf values (by default they are an Error saying how many and where).
    bool allow_nonfinite = false;
    /// A model ending in a Softmax: explain its logits (default) or its probabilities (explained_graph()).
    ExplainOutput explain_output = ExplainOutput::Logits;
};

/// One batch explained.
struct Result {
    Tensor logits;                 ///< the output explained for the batch, [N, classes] (host): the model's
                                   ///< output, or the logits before a final Softmax (see explained_output)
    /// What `logits` and the targets refer to: "logits" (the input of the model's final Softmax, which was
    /// left out), "probabilities" (the final Softmax kept) or "output" (the model has no final Softmax).
    std::string explained_output;
    std::vector<int64_t> targets;  ///< the class explained, per sample
    Tensor relevance;              ///< the attribution, shaped like the input (host)
    /// With keep_node_relevance: the relevance arriving at each node's output, by node name (host;
    /// absent where none arrived, e.g. nodes the target does not depend on).
    std::map<std::string, Tensor> node_relevance;
};

/// An attribution method bound to a model. Cheap to call repeatedly; see the file comment for threads.
class Attributor {
public:
    /// Validates the options and prepares the rules (LRP). Throws relprop::Error with the reason
    /// (an unknown composite or rule, an override matching no node, a bad method parameter).
    Attributor(Model model, AttributorOptions options = {});
    ~Attributor();
    Attributor(Attributor&&) noexcept;
    Attributor& operator=(Attributor&&) noexcept;

    /// Explains a batch [N, ...] shaped like the model's input (host or device tensor; wrap your own
    /// memory with Tensor::wrap to avoid a copy). targets: one per sample or one for all; empty or -1
    /// means each sample's highest output. A model whose ONNX file fixes the batch at 1 (an export
    /// without a dynamic batch) explains a batch of N one sample at a time, with the same results.
    Result operator()(const Tensor& batch, const std::vector<int64_t>& targets = {}) const;

    const Model& model() const;
    const AttributorOptions& options() const;
    /// LRP: the rule of every node (by node index of explained().graph); null for the other methods.
    /// RuleAssignment is the engine's (rules/composite.h): code inside relprop's source tree reads it.
    const RuleAssignment* rules() const;
    /// LRP: the rule each node got, as a table (index, node, op, output shape, rule, where the rule
    /// came from), one line per node after a header line; empty for the other methods.
    std::string rule_listing() const;
    /// The graph explained (the model's, or it without its final Softmax) and what its output is.
    const ExplainedGraph& explained() const;

private:
    Result explain_each(const Tensor& batch, const std::vector<int64_t>& targets) const;

    struct State;
    std::unique_ptr<State> m_state;
};

}  // namespace relprop
