// Running the relprop command line (RELPROP_CLI, set by meson) from tests as a user runs it, and a
// per-process scratch folder for the files those runs read and write.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

namespace relprop::test {

struct CliResult {
    int code = -1;       // exit code; -1 if killed by a signal
    std::string output;  // stdout and stderr
};

// A shell command line: what it prints on stdout (stderr too where the command redirects it there)
// and its exit code.
inline CliResult run_shell(const std::string& command) {
    CliResult r;
    FILE* p = popen(command.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// `relprop ARGS` through the shell (ARGS may hold shell syntax: quotes, redirections).
inline CliResult relprop_cli(const std::string& args, const std::string& shell_prefix = "") {
    return run_shell(shell_prefix + std::string(RELPROP_CLI) + " " + args + " 2>&1");
}

inline std::filesystem::path temp_dir() {
    static const std::filesystem::path dir = [] {
        std::filesystem::path d = std::filesystem::temp_directory_path() / ("relprop-cli-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

// temp_dir()/name, created.
inline std::filesystem::path scratch_dir(const std::string& name) {
    const std::filesystem::path d = temp_dir() / name;
    std::filesystem::create_directories(d);
    return d;
}

}  // namespace relprop::test
