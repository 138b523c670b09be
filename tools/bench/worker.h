// A benchmark worker process: started with arguments, it loads a model and warms up, says "ready",
// then answers each "run" with "time <seconds>" and "quit" with "peak_rss_kb <n>". The relprop worker
// is this program (--worker); the zennit worker is tools/bench_zennit.py.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

namespace relprop::bench {

class Worker {
public:
    explicit Worker(const std::vector<std::string>& argv);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // The next line the worker prints (without the newline); throws relprop::Error on "error ..." or EOF.
    std::string read_line();
    void wait_ready();
    double run();
    long quit();  // peak RSS in kB

private:
    void send(const std::string& line);

    std::string m_name;
    pid_t m_pid = -1;
    FILE* m_to = nullptr;
    FILE* m_from = nullptr;
};

// The worker side of the protocol for relprop, on `device` ("cpu", "cuda", "cuda:N"; make_backend's names).
int relprop_worker(const std::string& model, const std::string& dir, int batch, const std::string& method,
                   const std::string& device = "cpu");

}  // namespace relprop::bench
