// relprop-bench: relprop's forward, gradient and LRP (each composite) on the full torchvision exports
// (vgg16, resnet18, densenet121, resnet50, mobilenet_v2, efficientnet_b0 by default), batch 1 and 8: warm-up, then median/min/max of N runs, images per second and peak RSS, each
// configuration in a fresh worker process. With --vs-zennit, zennit (tools/bench_zennit.py) runs the
// same model, input and composite in the same invocation, runs alternating with relprop's, and the
// table shows both side by side. Writes a Markdown table and a JSON file.
// --device cuda runs relprop on the CUDA backend and zennit on torch's CUDA device (TF32 off on both);
// its defaults are the GPU set: resnet50, vgg16, densenet121 at batch 1, 16 and 64.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <map>
#include <csignal>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "relprop/error.hpp"
#include "tools/bench/worker.h"
#include "tools/cli/json.h"
#include "tools/openmp_env.h"

using namespace relprop;
using namespace relprop::bench;

namespace {

struct Stats {
    double median = 0, min = 0, max = 0;
    long rss_kb = 0;
    bool ok = false;
};

Stats stats_of(std::vector<double> t, long rss) {
    std::sort(t.begin(), t.end());
    Stats s;
    s.median = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
    s.min = t.front();
    s.max = t.back();
    s.rss_kb = rss;
    s.ok = true;
    return s;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

std::string self_path() {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw Error("cannot find this program's path");
    buf[n] = 0;
    return buf;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// `n` processes that keep one core busy each (a loaded, shared machine), stopped when this goes.
class BusyLoad {
public:
    explicit BusyLoad(int n) {
        for (int i = 0; i < n; ++i) {
            const pid_t pid = fork();
            if (pid < 0) throw Error("fork failed for the busy-loop load");
            if (pid == 0) {
                volatile unsigned long x = 0;
                for (;;) x = x + 1;
            }
            m_pids.push_back(pid);
        }
    }
    ~BusyLoad() {
        for (pid_t pid : m_pids) kill(pid, SIGKILL);
        for (pid_t pid : m_pids) waitpid(pid, nullptr, 0);
    }

private:
    std::vector<pid_t> m_pids;
};

// The workers' OpenMP wait policy: "passive" or "active" (OMP_WAIT_POLICY), "libgomp" (libgomp's own
// default without relprop's: spin 300,000 iterations, GOMP_SPINCOUNT=300000), or "" (inherit).
void set_openmp_policy(const std::string& policy) {
    if (policy.empty()) return;
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("GOMP_SPINCOUNT");
    if (policy == "passive" || policy == "active")
        setenv("OMP_WAIT_POLICY", policy == "passive" ? "PASSIVE" : "ACTIVE", 1);
    else if (policy == "libgomp")
        setenv("GOMP_SPINCOUNT", "300000", 1);
    else
        throw Error("--omp-wait-policy '" + policy + "': expected passive, active or libgomp");
}

struct Row {
    std::string model, method;
    int batch = 0;
    Stats relprop, zennit;
    std::string zennit_error;
};

}  // namespace

int main(int argc, char** argv) {
    relprop::tools::default_to_passive_openmp(argv);  // as the command line: OMP_WAIT_POLICY=PASSIVE unless OMP_* is set
    CLI::App app{"relprop-bench: relprop (and zennit) on the full torchvision exports"};
    bool worker = false, vs_zennit = false;
    std::string model, method, dir = "tests/fixtures/full", models = "vgg16,resnet18,densenet121,resnet50,mobilenet_v2,efficientnet_b0",
                                   batches = "1,8",
                                   methods = "forward,gradient,epsilon-plus,epsilon-plus-flat,epsilon-gamma-box,"
                                             "epsilon-alpha2-beta1,epsilon-alpha2-beta1-flat",
                                   python = "python3", zennit_script = "tools/bench_zennit.py", out_json = "bench.json",
                                   out_md = "bench.md";
    std::string device = "cpu";
    std::string omp_policy;
    int batch = 1, runs = 5, load = 0;
    app.add_flag("--worker", worker, "internal: run one configuration as a worker process");
    app.add_option("--model", model, "internal (worker)");
    app.add_option("--batch", batch, "internal (worker)");
    app.add_option("--method", method, "internal (worker)");
    app.add_option("--dir", dir, "folder with NAME.onnx and NAME.input.npy (tools/make_onnx_fixtures.py --full DIR)");
    app.add_option("--models", models, "comma-separated model names");
    app.add_option("--batches", batches, "comma-separated batch sizes");
    app.add_option("--methods", methods, "forward, gradient and/or composites, comma-separated");
    app.add_option("--device", device, "cpu, cuda or cuda:N: relprop's backend and zennit's torch device (default cpu)");
    app.add_option("--runs", runs, "timed runs per configuration (after 2 warm-up runs)")->check(CLI::Range(1, 1000));
    app.add_flag("--vs-zennit", vs_zennit, "also run zennit (Python), alternating runs");
    app.add_option("--python", python, "the Python interpreter with torch and zennit (default python3)");
    app.add_option("--zennit-script", zennit_script, "the zennit worker script");
    app.add_option("--json", out_json, "write the results as JSON here (default bench.json)");
    app.add_option("--markdown", out_md, "write the Markdown table here (default bench.md)");
    app.add_option("--omp-wait-policy", omp_policy,
                   "the workers' OpenMP waiting: passive (relprop's default), active, or libgomp (its own default)");
    app.add_option("--load", load, "keep N other processes busy (one busy loop each) during the timed runs")
        ->check(CLI::Range(0, 1024));
    CLI11_PARSE(app, argc, argv);
    if (worker) return relprop_worker(model, dir, batch, method, device);
    if (device != "cpu") {  // the GPU benchmark's defaults
        if (!app.count("--models")) models = "resnet50,vgg16,densenet121";
        if (!app.count("--batches")) batches = "1,16,64";
    }

    try {
        set_openmp_policy(omp_policy);
        const BusyLoad busy(load);
        const std::string self = self_path();
        std::vector<Row> rows;
        std::string md = device == "cpu" ? "" : "device: " + device + " (relprop and zennit)\n\n";
        if (load || !omp_policy.empty())
            md += "load: " + std::to_string(load) + " busy-loop process(es); OpenMP wait policy: " +
                  (omp_policy.empty() ? "inherited" : omp_policy) + "\n\n";
        md += "| model | batch | method | relprop median s (min–max) | img/s | peak RSS MB |";
        if (vs_zennit) md += " zennit median s (min–max) | zennit peak RSS MB | speed-up |";
        md += "\n|---|---|---|---|---|---|" + std::string(vs_zennit ? "---|---|---|" : "") + "\n";
        std::fputs(md.c_str(), stdout);
        for (const std::string& m : split(models))
            for (const std::string& b : split(batches))
                for (const std::string& meth : split(methods)) {
                    Row row{m, meth, std::stoi(b), {}, {}, {}};
                    Worker ours({self, "--worker", "--model", m, "--dir", dir, "--batch", b, "--method", meth,
                                 "--device", device});
                    std::unique_ptr<Worker> theirs;
                    if (vs_zennit)
                        theirs = std::make_unique<Worker>(std::vector<std::string>{
                            python, zennit_script, "--model", m, "--dir", dir, "--batch", b, "--method", meth,
                            "--device", device});
                    ours.wait_ready();
                    try {
                        if (theirs) theirs->wait_ready();
                    } catch (const Error& e) {
                        row.zennit_error = e.what();
                        std::fprintf(stderr, "relprop-bench: zennit failed on %s batch %s %s: %s\n", m.c_str(),
                                     b.c_str(), meth.c_str(), e.what());
                        theirs.reset();
                    }
                    std::vector<double> t_ours, t_theirs;
                    for (int r = 0; r < runs; ++r) {  // alternating
                        t_ours.push_back(ours.run());
                        if (theirs) t_theirs.push_back(theirs->run());
                    }
                    row.relprop = stats_of(t_ours, ours.quit());
                    if (theirs) row.zennit = stats_of(t_theirs, theirs->quit());
                    std::string line = "| " + m + " | " + b + " | " + meth + " | " + fmt("%.3f", row.relprop.median) +
                                       " (" + fmt("%.3f", row.relprop.min) + "–" + fmt("%.3f", row.relprop.max) + ") | " +
                                       fmt("%.1f", row.batch / row.relprop.median) + " | " +
                                       fmt("%.0f", row.relprop.rss_kb / 1024.0) + " |";
                    if (vs_zennit) {
                        if (row.zennit.ok)
                            line += " " + fmt("%.3f", row.zennit.median) + " (" + fmt("%.3f", row.zennit.min) + "–" +
                                    fmt("%.3f", row.zennit.max) + ") | " + fmt("%.0f", row.zennit.rss_kb / 1024.0) +
                                    " | " + fmt("%.2f×", row.zennit.median / row.relprop.median) + " |";
                        else
                            line += " failed | | |";
                    }
                    std::printf("%s\n", line.c_str());
                    std::fflush(stdout);
                    md += line + "\n";
                    rows.push_back(row);
                }
        // LRP and gradient time relative to relprop's own forward pass.
        std::map<std::pair<std::string, int>, double> forward;
        for (const Row& r : rows)
            if (r.method == "forward") forward[{r.model, r.batch}] = r.relprop.median;
        md += "\nrelprop time / relprop forward time:\n\n| model | batch | method | ratio |\n|---|---|---|---|\n";
        for (const Row& r : rows)
            if (r.method != "forward" && forward.count({r.model, r.batch}))
                md += "| " + r.model + " | " + std::to_string(r.batch) + " | " + r.method + " | " +
                      fmt("%.2f", r.relprop.median / forward[{r.model, r.batch}]) + " |\n";
        std::ofstream(out_md) << md;
        std::ofstream js(out_json);
        js << "[\n";
        for (size_t i = 0; i < rows.size(); ++i) {
            const Row& r = rows[i];
            auto stats = [](const Stats& s) {
                return "{\"median_s\": " + fmt("%.6f", s.median) + ", \"min_s\": " + fmt("%.6f", s.min) +
                       ", \"max_s\": " + fmt("%.6f", s.max) + ", \"peak_rss_kb\": " + std::to_string(s.rss_kb) + "}";
            };
            js << "  {\"model\": \"" << r.model << "\", \"device\": \"" << device << "\", \"load\": " << load
               << ", \"omp_wait_policy\": \"" << (omp_policy.empty() ? "inherited" : omp_policy) << "\", \"batch\": " << r.batch
               << ", \"method\": \"" << r.method << "\", \"runs\": " << runs << ", \"relprop\": " << stats(r.relprop);
            if (r.zennit.ok) js << ", \"zennit\": " << stats(r.zennit);
            if (!r.zennit_error.empty()) js << ", \"zennit_error\": " << cli::json_string(r.zennit_error);
            js << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
        }
        js << "]\n";
        std::printf("\n%s", md.substr(md.find("relprop time / relprop forward")).c_str());
        std::printf("written: %s, %s\n", out_md.c_str(), out_json.c_str());
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "relprop-bench: error: %s\n", e.what());
        return 1;
    }
}
