// Conservation report: per node, how much relevance arrives at its output and leaves through its
// inputs (sum, min, max) — what zennit users print by hand with hooks to find where an attribution
// gains or loses relevance (bias absorption, stabilizers, unstable residual splits).
#pragma once

#include <string>
#include <vector>

#include "rules/explainer.h"

namespace relprop {

struct NodeRelevance {
    int node = 0;
    std::string name;
    std::string op;
    double out_sum = 0, out_min = 0, out_max = 0;  // relevance at the node's output
    double in_sum = 0, in_min = 0, in_max = 0;     // relevance the node sends to its inputs (all of them)
    // in_sum / out_sum (1 = conserved; 0 when nothing arrived).
    double ratio() const { return out_sum != 0 ? in_sum / out_sum : 0.0; }
    // in_sum − out_sum: negative where the node loses relevance (a bias, a stabilizer, a gradient), positive
    // where it creates some (the gradient of a product, Σ R·g + Σ R·s ≠ Σ R).
    double change() const { return in_sum - out_sum; }
    // Whether |change| exceeds `tolerance` × the largest of |out_sum|, |out_min|, |out_max| (rounding aside).
    bool conserves(double tolerance = kConservationTolerance) const;
    static constexpr double kConservationTolerance = 1e-3;
};

// Needs an explanation made with keep_values = true.
std::vector<NodeRelevance> conservation_report(const Graph& graph, const Plan& plan, const Recording& recording,
                                               const Explanation& explanation);

// A table, one line per node; its last column says "loses X%" or "creates X%" where a node does not conserve
// relevance (NodeRelevance::conserves), and a closing line lists those nodes.
std::string format_conservation(const std::vector<NodeRelevance>& report);

}  // namespace relprop
