#include "rules/conservation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "relprop/error.hpp"

namespace relprop {

namespace {

void stats(const Tensor& t, double& sum, double& lo, double& hi) {
    for (int64_t i = 0; i < t.numel(); ++i) {
        sum += t[i];
        lo = std::min(lo, static_cast<double>(t[i]));
        hi = std::max(hi, static_cast<double>(t[i]));
    }
}

}  // namespace

std::vector<NodeRelevance> conservation_report(const Graph& graph, const Plan& plan, const Recording& recording,
                                               const Explanation& explanation) {
    if (plan.graph().get() != &graph || recording.graph.get() != &graph)
        throw Error("conservation report: the plan and the recording must be of this graph");
    if (explanation.at_value.size() != graph.values().size())
        throw Error("conservation report: the explanation has no per-value relevance (use keep_values = true)");
    Backend& backend = plan.backend();
    const Propagator propagate = plan.propagator();
    std::vector<NodeRelevance> report;
    for (size_t n = 0; n < graph.nodes().size(); ++n) {
        const Node& node = graph.nodes()[n];
        NodeRelevance r;
        r.node = static_cast<int>(n);
        r.name = node.name;
        r.op = op_name(node.op->type());
        const Tensor& out = explanation.at_value[node.output];
        if (out.defined()) {
            constexpr double inf = std::numeric_limits<double>::infinity();
            r.out_min = r.in_min = inf;
            r.out_max = r.in_max = -inf;
            stats(out, r.out_sum, r.out_min, r.out_max);
            std::vector<Tensor> inputs;
            for (int v : node.inputs) inputs.push_back(recording.activations[v]);
            const std::vector<Tensor> sent =
                propagate(static_cast<int>(n), inputs, recording.activations[node.output], backend.upload(out));
            for (const Tensor& s : sent) stats(backend.download(s), r.in_sum, r.in_min, r.in_max);
        }
        report.push_back(r);
    }
    return report;
}

bool NodeRelevance::conserves(double tolerance) const {
    const double scale = std::max({std::abs(out_sum), std::abs(out_min), std::abs(out_max)});
    return std::abs(change()) <= tolerance * scale;
}

std::string format_conservation(const std::vector<NodeRelevance>& report) {
    std::string text =
        "  #  node                            op              out sum      in sum   in/out     in min      in max  "
        "conservation\n";
    std::string offenders;
    char line[320];
    for (const NodeRelevance& r : report) {
        std::string note;
        if (!r.conserves()) {
            const double scale = r.out_sum != 0 ? std::abs(r.out_sum) : 1.0;
            std::snprintf(line, sizeof line, "%s %.3g%s", r.change() < 0 ? "loses" : "creates",
                          100.0 * std::abs(r.change()) / scale, r.out_sum != 0 ? "%" : " (of nothing)");
            note = line;
            offenders += (offenders.empty() ? "" : ", ") + ("#" + std::to_string(r.node) + " '" + printable(r.name) +
                                                             "' (" + r.op + ") " + note);
        }
        std::snprintf(line, sizeof line, "%3d  %-30.30s  %-13.13s %10.5g  %10.5g  %7.4f  %10.4g  %10.4g  %s\n", r.node,
                      printable(r.name).c_str(), r.op.c_str(), r.out_sum, r.in_sum, r.ratio(), r.in_min, r.in_max,
                      note.empty() ? "ok" : note.c_str());
        text += line;
    }
    text += offenders.empty() ? "every node conserves relevance (|in - out| <= 0.1% of what arrives)\n"
                              : "nodes that lose or create relevance: " + offenders + "\n";
    return text;
}

}  // namespace relprop
