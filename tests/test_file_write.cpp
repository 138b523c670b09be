// io/file_write.h: all-or-nothing writes and appends that never leave half a file, checked under a
// file size limit (RLIMIT_FSIZE with SIGXFSZ ignored: writes fail with EFBIG, as on a full disk) in a
// forked child so the limit does not touch the test process.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "relprop/error.hpp"
#include "io/file_write.h"
#include "tests/cli_run.h"
#include "tests/onnx_edit.h"

using namespace relprop;
using relprop::test::read_file;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
    const fs::path d = test::temp_dir() / "file-write" / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// Runs `body` in a child whose files may not grow past `limit` bytes; the child's exit code: 0 if
// body returned, 1 if it threw relprop::Error with `expected` in its message, 2 otherwise.
int with_size_limit(size_t limit, const std::string& expected, const std::function<void()>& body) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit rl{limit, limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        try {
            body();
        } catch (const Error& e) {
            _exit(std::string(e.what()).find(expected) != std::string::npos ? 1 : 2);
        } catch (...) {
            _exit(2);
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t entries(const fs::path& dir) { return static_cast<size_t>(std::distance(fs::directory_iterator(dir), {})); }

}  // namespace

TEST_CASE("file_write: write_file_atomic replaces a file whole, or leaves it as it was") {
    const fs::path dir = scratch("atomic");
    const std::string path = (dir / "out.bin").string();
    write_file_atomic(path, "first version");
    CHECK(read_file(path) == "first version");
    write_file_atomic(path, std::string(3000, 'x'));
    CHECK(read_file(path) == std::string(3000, 'x'));
    CHECK(entries(dir) == 1);  // no temporary file left

    // 5000 bytes under a 4096-byte limit: EFBIG; the 3000-byte file stays, no temporary file remains.
    const std::string path_for_child = path;
    CHECK(with_size_limit(4096, path + ": cannot write the file: File too large (write)",
                          [&] { write_file_atomic(path_for_child, std::string(5000, 'y')); }) == 1);
    CHECK(read_file(path) == std::string(3000, 'x'));
    CHECK(entries(dir) == 1);
    // A missing folder names the path and the reason.
    CHECK_THROWS_WITH_AS(write_file_atomic((dir / "no" / "f").string(), "z"),
                         doctest::Contains(((dir / "no" / "f").string() + ": cannot write the file: No such file or directory").c_str()),
                         Error);
}

TEST_CASE("file_write: append_file_durable cuts a failed append back to the old length") {
    const fs::path dir = scratch("append");
    const std::string path = (dir / "index.csv").string();
    append_file_durable(path, "header\n");
    append_file_durable(path, "row 1\n");
    CHECK(read_file(path) == "header\nrow 1\n");
    // The next append would cross a 20-byte limit: part of it is written, then EFBIG; the part is removed.
    CHECK(with_size_limit(20, "File too large", [&] { append_file_durable(path, "row 2 is long enough\n"); }) == 1);
    CHECK(read_file(path) == "header\nrow 1\n");
    CHECK(with_size_limit(20, "", [&] { append_file_durable(path, "row 2\n"); }) == 0);
    CHECK(read_file(path) == "header\nrow 1\nrow 2\n");
}

TEST_CASE("file_write: write_files_atomic renames a group only once every file of it is written") {
    const fs::path dir = scratch("group");
    const std::string a = (dir / "a.npy").string(), b = (dir / "b.png").string();
    write_files_atomic({{a, "old a", ".npy file"}, {b, "old b", "the PNG"}});
    CHECK(read_file(a) == "old a");
    CHECK(read_file(b) == "old b");
    // The second file does not fit under the limit: neither is replaced, no temporary file remains.
    CHECK(with_size_limit(1024, b + ": cannot write the PNG: File too large (write)", [&] {
              write_files_atomic({{a, "new a", ".npy file"}, {b, std::string(2000, 'b'), "the PNG"}});
          }) == 1);
    CHECK(read_file(a) == "old a");
    CHECK(read_file(b) == "old b");
    CHECK(entries(dir) == 2);
    // 150 files (three groups of at most 64 open files): all written.
    std::vector<FileBytes> many;
    for (int i = 0; i < 150; ++i) many.push_back({(dir / (std::to_string(i) + ".f")).string(), std::to_string(i * i)});
    write_files_atomic(many);
    CHECK(entries(dir) == 152);
    CHECK(read_file((dir / "149.f").string()) == std::to_string(149 * 149));
}
