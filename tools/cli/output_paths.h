// What `relprop explain` checks about its output paths before it writes anything: no output may be an
// input or (a folder) hold one, and no two samples may get the same output name.
#pragma once

#include <string>
#include <vector>

#include "tools/cli/commands.h"

namespace relprop::cli {

// `files`: the input files (list_inputs). Refused, with a message naming both paths:
//  - --out FILE or --heatmap FILE that is an input: the model, an input as given (file or folder), a
//    file listed from an input folder, or the --baseline .npy;
//  - --out-dir DIR or --heatmap DIR that is such an input or directly holds one (outputs are written
//    only directly into DIR, so inputs in its subfolders are safe);
//  - for --out-dir and --heatmap DIR: two inputs whose samples would write the same output name
//    (check_output_names).
// Paths are compared after resolving symlinks and '..' (fs::weakly_canonical), and as the same file
// when they are hard links to one inode; an input that is itself a symlink is protected both where it
// lies and where it points.
void check_outputs(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo, const OutputOptions& oo,
                   const std::vector<std::string>& files);

// The same checks for any command's outputs (relprop evaluate): each entry is an option, its path and
// whether it names a folder (refused when it is or directly holds an input) or a file (refused when it
// is one). `extra_inputs` are more input folders the command reads (evaluate's file:DIR maps).
struct OutputLocation {
    std::string option, path;
    bool folder = false;
};
void check_output_locations(const ModelOptions& mo, const InputOptions& io, const ExplainOptions& eo,
                            const std::vector<std::string>& files, const std::vector<std::string>& extra_inputs,
                            const std::vector<OutputLocation>& outputs);

// Output names are the input's stem, or stem_i for sample i of a .npy batch. Refused: two inputs with
// the same stem, and an input whose stem is a .npy input's stem followed by _<digits> (checked from the
// names alone, before any file is read, so even when that .npy holds a single sample).
void check_output_names(const std::vector<std::string>& files, const std::string& option);

}  // namespace relprop::cli
