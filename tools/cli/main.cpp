// relprop: explain the predictions of an ONNX model with LRP from the command line.
//   relprop explain MODEL.onnx INPUT... [options]   relevance, heatmaps, a summary or JSON
//   relprop check   MODEL.onnx INPUT... [options]   per-node relevance and conservation
//   relprop inspect MODEL.onnx [options]            nodes, rules and what canonization did
//   relprop evaluate MODEL.onnx INPUT... [options]  perturbation curves, AOPC/ABPC/AUC, plots
//   relprop merge DIR                               the index (or evaluation) of a sharded --out-dir
// Exit codes: 0 success, 2 usage error, 1 model or input error (always with a one-line message).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "relprop/error.hpp"
#include "tools/cli/commands.h"
#include "tools/cli/evaluate.h"
#include "tools/cli/merge.h"
#include "tools/openmp_env.h"

namespace {

// A closed standard output or error must not be handed out again by open(): relprop would then print
// its summary into an output file. Both are taken by /dev/null opened read-only, so that writes to a
// closed stdout still fail (EBADF) and are reported by stdout_written.
void reserve_standard_streams() {
    for (int fd : {STDOUT_FILENO, STDERR_FILENO})
        if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            const int null = ::open("/dev/null", O_RDONLY);
            if (null >= 0 && null != fd) {
                ::dup2(null, fd);
                ::close(null);
            }
        }
}

// Whatever went to stdout (--json, summaries) must have arrived: a full disk, /dev/full or a closed
// stdout is an error (exit 1), not a silent loss.
int stdout_written(int code) {
    errno = 0;
    const bool flush_failed = std::fflush(stdout) != 0;
    const int err = errno;
    if (!flush_failed && !std::ferror(stdout)) return code;
    std::fprintf(stderr, "relprop: error: cannot write to standard output%s\n",
                 flush_failed && err ? (std::string(": ") + std::strerror(err)).c_str() : "");
    return code == 0 ? 1 : code;
}

}  // namespace

int main(int argc, char** argv) {
    relprop::tools::default_to_passive_openmp(argv);  // OMP_WAIT_POLICY=PASSIVE unless OMP_* is set
    using namespace relprop::cli;
    reserve_standard_streams();
    CLI::App app{"relprop: Layer-wise Relevance Propagation for ONNX models (zennit's rules, in C++)", "relprop"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "all subcommands' options");

    ModelOptions model;
    InputOptions inputs;
    ExplainOptions explain;
    OutputOptions output;

    CLI::App* ex = app.add_subcommand("explain", "explain inputs: relevance (.npy), heatmaps (PNG), a summary or JSON");
    add_model_options(*ex, model, true);
    add_input_options(*ex, inputs);
    add_explain_options(*ex, explain);
    ex->add_option("--out", output.out, "write the input relevance (float32, shaped like the input batch) to FILE.npy");
    ex->add_option("--out-dir", output.out_dir,
                   "batch mode: write DIR/<input>.npy and DIR/<input>.png per input and DIR/index.csv/.json, "
                   "--batch-size inputs at a time; a rerun skips inputs already done");
    ex->add_option("--shard", output.shard,
                   "with --out-dir: explain one share of the inputs, K/N (0 <= K < N), or auto / auto/N from a "
                   "Slurm array, Slurm steps or a Kubernetes Indexed Job (see README, Cluster runs)");
    ex->add_option("--heatmap", output.heatmap,
                   "write relevance summed over channels as a PNG (FILE.png for one input, else a folder: one PNG per input)");
    ex->add_option("--cmap", output.cmap, "heatmap colormap: bwr, coldnhot, seismic, gray, hot (default bwr)");
    ex->add_flag("--asymmetric", output.asymmetric, "heatmap: scale [min, max] instead of the symmetric [-max|R|, max|R|]");
    ex->add_flag("--overlay", output.overlay, "heatmap: blend over the (preprocessed) input");
    ex->add_option("--heatmap-scale", output.heatmap_scale, "heatmap: enlarge by this factor (nearest neighbour)");
    ex->add_flag("--json", output.json, "print a JSON summary (logits, prediction, target, relevance sum, timing)");

    CLI::App* ck = app.add_subcommand("check", "per-node relevance (sum, min, max) and conservation for inputs");
    add_model_options(*ck, model, true);
    add_input_options(*ck, inputs);
    add_explain_options(*ck, explain);

    CLI::App* in = app.add_subcommand("inspect", "list the nodes, the rule each gets, and what canonization did");
    add_model_options(*in, model, true);

    std::string merge_dir;
    CLI::App* mg = app.add_subcommand("merge", "build index.csv/index.json of a --shard --out-dir from its shards' rows "
                                               "(an evaluate --shard folder: curves.csv, summary.json, plots)");
    mg->add_option("dir", merge_dir, "the --out-dir of the sharded runs")->required();

    EvaluateCommand evaluate;
    CLI::App* ev = add_evaluate_command(app, evaluate);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "relprop: usage error: %s (see relprop --help)\n", e.what());
        return 2;
    }
    try {
        if (ex->parsed()) return stdout_written(run_explain(model, inputs, explain, output));
        if (ck->parsed()) return stdout_written(run_check(model, inputs, explain));
        if (ev->parsed()) {
            int at = 1;
            while (at < argc && std::string(argv[at]) != "evaluate") ++at;
            evaluate.arguments.assign(argv + std::min(at + 1, argc), argv + argc);
            return stdout_written(run_evaluate(evaluate));
        }
        if (mg->parsed()) return stdout_written(run_merge(merge_dir));
        return stdout_written(run_inspect(model));
    } catch (const relprop::Error& e) {
        std::fprintf(stderr, "relprop: error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "relprop: error: out of memory (try a smaller --batch-size or smaller inputs)\n");
        return 1;
    } catch (const std::exception& e) {  // e.g. std::filesystem errors, which quote paths as they are
        std::fprintf(stderr, "relprop: error: %s\n", relprop::printable(e.what()).c_str());
        return 1;
    }
}
