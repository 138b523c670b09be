// remove-identity: Identity (and Dropout) nodes, and Reshape/Flatten nodes that do not change the
// shape, are removed; their consumers read the input directly.
#include "canonize/graph_editor.h"
#include "canonize/passes.h"

namespace relprop {

namespace {

// Whether a reshape leaves its input's shape as it is, for this batch size and another.
bool keeps_shape(const Op& op, Shape s) {
    try {
        if (op.infer_shape({s}) != s) return false;
        s[0] += 1;
        return op.infer_shape({s}) == s;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

PassResult remove_identity(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& n = ed.nodes()[i];
        const OpType t = n.op->type();
        const bool identity = t == OpType::Identity;
        const bool noop_reshape =
            (t == OpType::Reshape || t == OpType::Flatten) && keeps_shape(*n.op, ed.shape(n.inputs[0]));
        if (!identity && !noop_reshape) continue;
        // A graph input read directly as the graph output would leave no node: keep it then.
        if (ed.is_graph_output(n.output) && ed.producer(n.inputs[0]) < 0) continue;
        r.changes.push_back("removed " + std::string(op_name(t)) + " '" + n.name + "'");
        const std::string from = n.output, to = n.inputs[0];
        ed.remove(i);
        ed.replace_uses(from, to);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
