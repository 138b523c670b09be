#include "canonize/pipeline.h"

#include <algorithm>
#include <sstream>

#include "canonize/passes.h"
#include "relprop/error.hpp"

namespace relprop {

namespace {

struct NamedPass {
    const char* name;
    PassResult (*run)(const Graph&);
    bool in_auto;
};

// fold-batchnorm is not in "auto": it keeps the forward function but changes what the next layer's
// rule sees (x instead of BN(x)), so its numbers differ from zennit's, which keeps such a BatchNorm.
const NamedPass kPasses[] = {
    {"remove-identity", remove_identity, true},
    {"cancel-transposes", cancel_transposes, true},
    {"fuse-activations", fuse_activations, true},
    {"fuse-layernorm", fuse_layernorm, true},
    {"affine-to-batchnorm", affine_to_batchnorm, true},
    {"input-affine", input_affine, true},
    {"merge-batchnorm", merge_batchnorm, true},
    {"fold-batchnorm", fold_batchnorm, false},
    {"densenet", densenet_threshold_relu, true},
};

}  // namespace

std::vector<std::string> canonize_pass_names() {
    std::vector<std::string> names;
    for (const NamedPass& p : kPasses) names.push_back(p.name);
    return names;
}

CanonizeResult canonize(const Graph& graph, const std::string& spec) {
    std::vector<std::string> selected;
    std::istringstream in(spec);
    for (std::string item; std::getline(in, item, ',');) {
        if (item.empty() || item == "none") continue;
        const bool remove = item[0] == '-';
        const std::string name = remove ? item.substr(1) : item;
        const auto known = canonize_pass_names();
        if (name == "auto") {
            for (const NamedPass& p : kPasses)
                if (p.in_auto && std::find(selected.begin(), selected.end(), p.name) == selected.end())
                    selected.push_back(p.name);
            continue;
        }
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            std::string list;
            for (const std::string& k : known) list += ", " + k;
            throw Error("canonization pass '" + name + "' not found; known: auto, none" + list);
        }
        if (remove)
            selected.erase(std::remove(selected.begin(), selected.end(), name), selected.end());
        else if (std::find(selected.begin(), selected.end(), name) == selected.end())
            selected.push_back(name);
    }
    CanonizeResult result{graph, {}};
    for (const NamedPass& p : kPasses) {  // always in pipeline order
        if (std::find(selected.begin(), selected.end(), p.name) == selected.end()) continue;
        PassResult r = p.run(result.graph);
        for (const std::string& c : r.changes) result.changes.push_back(std::string(p.name) + ": " + c);
        result.graph = std::move(r.graph);
    }
    return result;
}

}  // namespace relprop
