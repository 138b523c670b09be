// The command line starts OpenMP with passive waiting (OMP_WAIT_POLICY=PASSIVE, tools/openmp_env.h)
// unless the user configured OpenMP. Observed from outside: the environment of the running `relprop`
// process (/proc/PID/environ, which shows the environment of its latest exec) while it explains.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/fixtures.h"

namespace {

// Starts `relprop explain` (a run of a second or more) with the given OMP_*/GOMP_* variables and no
// others; returns its OMP_WAIT_POLICY as seen after `settle` ("" if unset, "exited" if it ended first).
std::string wait_policy_of_cli(const std::vector<std::string>& omp_env, std::chrono::milliseconds settle,
                               bool wait_for_any = false) {
    const std::filesystem::path root = std::filesystem::path(RELPROP_FIXTURES_DIR).parent_path().parent_path();
    const std::string model = (root / "tools/demo/digits.onnx").string(), input = (root / "tools/demo/digits_batch.npy").string();
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (const char* v : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "OMP_PROC_BIND"}) unsetenv(v);
        for (const std::string& e : omp_env) putenv(const_cast<char*>(e.c_str()));
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(RELPROP_CLI, RELPROP_CLI, "explain", model.c_str(), input.c_str(), "--method", "smoothgrad", "--samples",
              "400", static_cast<char*>(nullptr));
        _exit(127);
    }
    std::string policy = "exited";
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
        if (waitpid(pid, nullptr, WNOHANG) == pid) return "exited";
        std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
        const std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const size_t at = env.find(std::string("OMP_WAIT_POLICY=", 16));
        policy = at == std::string::npos ? "" : env.substr(at + 16, env.find('\0', at) - at - 16);
        if ((wait_for_any && !policy.empty()) || std::chrono::steady_clock::now() - start >= settle) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return policy;
}

}  // namespace

TEST_CASE("openmp default: the command line waits passively unless the user configured OpenMP") {
    // Nothing set: relprop executes itself again with OMP_WAIT_POLICY=PASSIVE.
    CHECK(wait_policy_of_cli({}, std::chrono::milliseconds(5000), true) == "PASSIVE");
    // The user's own choice, or any other OpenMP variable, is left as it is.
    CHECK(wait_policy_of_cli({"OMP_WAIT_POLICY=ACTIVE"}, std::chrono::milliseconds(500)) == "ACTIVE");
    CHECK(wait_policy_of_cli({"GOMP_SPINCOUNT=300000"}, std::chrono::milliseconds(500)) == "");
    CHECK(wait_policy_of_cli({"OMP_NUM_THREADS=2"}, std::chrono::milliseconds(500)) == "");
}
