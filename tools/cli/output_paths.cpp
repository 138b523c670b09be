#include "tools/cli/output_paths.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "relprop/error.hpp"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

fs::path resolved(const fs::path& p) {
    std::error_code ec;
    const fs::path abs = fs::absolute(p, ec);
    fs::path r = fs::weakly_canonical(abs, ec);
    return ec ? abs.lexically_normal() : r;
}

// Where an input lies: its own path with only the folder resolved (a symlink input is replaced where
// it lies), and the file it finally names.
std::vector<fs::path> places_of(const fs::path& input) {
    const fs::path abs = fs::absolute(input);
    fs::path lying = resolved(abs.parent_path()) / abs.filename();
    fs::path target = resolved(abs);
    if (lying == target) return {target};
    return {lying, target};
}

bool same_file(const fs::path& a, const fs::path& b) {
    if (resolved(a) == resolved(b)) return true;
    std::error_code ec;
    return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

struct Input {
    std::string path;
    std::string what;  // "the input", "the model", ...
};

std::vector<Input> inputs_of(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo,
                             const std::vector<std::string>& files) {
    std::vector<Input> in = {{mo.model, "the model"}};
    for (const std::string& f : io.inputs) {
        std::error_code ec;
        in.push_back({f, fs::is_directory(f, ec) ? "the input folder" : "the input"});
    }
    for (const std::string& f : files) in.push_back({f, "the input"});
    if (fs::path(eo.baseline).extension() == ".npy") in.push_back({eo.baseline, "the --baseline"});
    return in;
}

void check_file(const std::string& option, const std::string& path, const std::vector<Input>& inputs) {
    for (const Input& in : inputs)
        if (same_file(path, in.path))
            throw Error(option + " " + path + " is " + in.what + " " + in.path +
                        " (compared after resolving symlinks and '..'); writing it would destroy that input: "
                        "choose another path");
}

void check_folder(const std::string& option, const std::string& path, const std::vector<Input>& inputs) {
    check_file(option, path, inputs);
    const fs::path folder = resolved(path);
    for (const Input& in : inputs)
        for (const fs::path& place : places_of(in.path))
            if (place.parent_path() == folder)
                throw Error(option + " " + path + " holds " + in.what + " " + in.path +
                            " (compared after resolving symlinks and '..'); its outputs could overwrite inputs: "
                            "choose a folder that holds none");
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void check_output_names(const std::vector<std::string>& files, const std::string& option) {
    std::map<std::string, std::string> by_stem;
    for (const std::string& f : files) {
        const std::string stem = fs::path(f).stem().string();
        const auto [it, fresh] = by_stem.emplace(stem, f);
        if (!fresh)
            throw Error(option + ": " + it->second + " and " + f + " would both write '" + stem +
                        "' outputs; give inputs with different file names");
    }
    for (const auto& [stem, file] : by_stem) {
        const size_t cut = stem.rfind('_');
        if (cut == std::string::npos || !all_digits(stem.substr(cut + 1))) continue;
        const auto batch = by_stem.find(stem.substr(0, cut));
        if (batch == by_stem.end() || fs::path(batch->second).extension() != ".npy" || batch->second == file) continue;
        throw Error(option + ": " + file + " and sample " + stem.substr(cut + 1) + " of " + batch->second +
                    " (the samples of a .npy batch are named " + batch->first + "_0, " + batch->first +
                    "_1, ...) would both write '" + stem + "' outputs; give inputs with different file names");
    }
}

void check_output_locations(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo,
                            const std::vector<std::string>& files, const std::vector<std::string>& extra_inputs,
                            const std::vector<OutputLocation>& outputs) {
    std::vector<Input> inputs = inputs_of(mo, io, eo, files);
    for (const std::string& folder : extra_inputs) inputs.push_back({folder, "the input folder"});
    for (const OutputLocation& o : outputs) {
        if (o.path.empty()) continue;
        if (o.folder)
            check_folder(o.option, o.path, inputs);
        else
            check_file(o.option, o.path, inputs);
    }
}

void check_outputs(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo,
                   const std::vector<std::string>& files) {
    const std::vector<Input> inputs = inputs_of(mo, io, eo, files);
    if (!oo.out.empty()) check_file("--out", oo.out, inputs);
    if (!oo.out_dir.empty()) {
        check_folder("--out-dir", oo.out_dir, inputs);
        check_output_names(files, "--out-dir");
    }
    if (!oo.heatmap.empty()) {
        check_file("--heatmap", oo.heatmap, inputs);
        // A folder of heatmaps unless it is FILE.png for a single sample (a .npy input may hold several).
        const bool maybe_folder = fs::path(oo.heatmap).extension() != ".png" || files.size() > 1 ||
                                  std::any_of(files.begin(), files.end(),
                                              [](const std::string& f) { return fs::path(f).extension() == ".npy"; });
        if (maybe_folder) {
            check_folder("--heatmap", oo.heatmap, inputs);
            check_output_names(files, "--heatmap");
        }
    }
}

}  // namespace relprop::cli
