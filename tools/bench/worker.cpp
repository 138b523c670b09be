#include "tools/bench/worker.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "relprop/error.hpp"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"

namespace relprop::bench {

Worker::Worker(const std::vector<std::string>& argv) : m_name(argv.at(0)) {
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0) throw Error("pipe failed: " + std::string(std::strerror(errno)));
    m_pid = fork();
    if (m_pid < 0) throw Error("fork failed: " + std::string(std::strerror(errno)));
    if (m_pid == 0) {
        dup2(to[0], STDIN_FILENO);
        dup2(from[1], STDOUT_FILENO);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        std::printf("error cannot run %s: %s\n", args[0], std::strerror(errno));
        std::fflush(stdout);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    m_to = fdopen(to[1], "w");
    m_from = fdopen(from[0], "r");
}

Worker::~Worker() {
    if (m_to) std::fclose(m_to);
    if (m_from) std::fclose(m_from);
    if (m_pid > 0) waitpid(m_pid, nullptr, 0);
}

std::string Worker::read_line() {
    char buf[4096];
    if (!std::fgets(buf, sizeof buf, m_from)) throw Error(m_name + " worker ended unexpectedly");
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.rfind("error", 0) == 0) throw Error(m_name + " worker: " + line);
    return line;
}

void Worker::send(const std::string& line) {
    std::fprintf(m_to, "%s\n", line.c_str());
    std::fflush(m_to);
}

void Worker::wait_ready() {
    for (std::string line = read_line(); line != "ready"; line = read_line()) {
    }
}

double Worker::run() {
    send("run");
    const std::string line = read_line();
    if (line.rfind("time ", 0) != 0) throw Error(m_name + " worker answered '" + line + "' to run");
    return std::stod(line.substr(5));
}

long Worker::quit() {
    send("quit");
    const std::string line = read_line();
    if (line.rfind("peak_rss_kb ", 0) != 0) throw Error(m_name + " worker answered '" + line + "' to quit");
    return std::stol(line.substr(12));
}

namespace {

// The first sample of `input`, repeated `batch` times.
Tensor repeat_batch(const Tensor& input, int batch) {
    if (input.rank() < 1 || input.dim(0) < 1) throw Error("the input " + shape_str(input.shape()) + " has no sample");
    const int64_t per = input.numel() / input.dim(0);
    Shape s = input.shape();
    s[0] = batch;
    Tensor t(s);
    for (int b = 0; b < batch; ++b) std::memcpy(t.data() + b * per, input.data(), sizeof(float) * per);
    return t;
}

}  // namespace

int relprop_worker(const std::string& model, const std::string& dir, int batch, const std::string& method,
                   const std::string& device) {
    try {
        const OnnxModel m = load_onnx(dir + "/" + model + ".onnx");
        auto graph = std::make_shared<const Graph>(canonize(m.graph, "auto").graph);
        // One run ends with the output and relevance downloaded: on a GPU the time includes all its work.
        auto backend = make_backend(device);
        const Tensor x = repeat_batch(read_npy(dir + "/" + model + ".input.npy"), batch);
        Explainer explainer(graph, *backend);
        std::unique_ptr<Plan> plan;
        if (method != "forward" && method != "gradient") {
            CompositeOptions o;  // ImageNet-normalized pixel 0 and 1, per channel
            const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
            for (int c = 0; c < 3; ++c) {
                o.low.push_back(-mean[c] / sd[c]);
                o.high.push_back((1.0f - mean[c]) / sd[c]);
            }
            plan = std::make_unique<Plan>(graph, assign_rules(*graph, method, o), *backend);
        }
        auto once = [&] {
            const Recording rec = explainer.forward(x);
            if (method == "gradient") explainer.gradient(rec);
            if (plan) explainer.explain(rec, *plan);
        };
        once();
        once();
        std::cout << "ready" << std::endl;
        for (std::string line; std::getline(std::cin, line);) {
            if (line == "quit") break;
            const auto t0 = std::chrono::steady_clock::now();
            once();
            std::cout << "time " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                      << std::endl;
        }
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        std::cout << "peak_rss_kb " << usage.ru_maxrss << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::string msg = e.what();
        for (char& c : msg)
            if (c == '\n') c = ' ';
        std::cout << "error " << msg << std::endl;
        return 1;
    }
}

}  // namespace relprop::bench
