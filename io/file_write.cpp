#include "io/file_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/error.h"

namespace relprop {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& what, const std::string& step, int err) {
    throw Error(path + ": cannot write " + what + ": " + std::strerror(err) + " (" + step + ")");
}

// Writes all of `bytes` to `fd`; returns 0 or the errno of the failed write.
int write_all(int fd, std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;
        done += static_cast<size_t>(n);
    }
    return 0;
}

// fsync of the folder that holds `path` (so the rename itself survives a crash). Filesystems that
// cannot sync a folder answer EINVAL; that is not an error of ours.
int sync_folder(const fs::path& folder) {
    const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    int err = 0;
    if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    ::close(fd);
    return err;
}

std::string temp_name() {
    static std::atomic<unsigned long long> counter{0};
    return std::string(kTempPrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tmp";
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& what) {
    const fs::path folder = fs::path(path).parent_path();
    const fs::path tmp = folder / temp_name();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) fail(path, what, "creating the temporary file " + tmp.filename().string(), errno);
    auto abandon = [&](const std::string& step, int err) {
        ::unlink(tmp.c_str());
        fail(path, what, step, err);
    };
    if (int err = write_all(fd, bytes)) {
        ::close(fd);
        abandon("write", err);
    }
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        abandon("fsync", err);
    }
    if (::close(fd) != 0) abandon("close", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) abandon("rename", errno);
    if (int err = sync_folder(folder)) fail(path, what, "fsync of the folder", err);
}

void append_file_durable(const std::string& path, std::string_view bytes, const std::string& what) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) fail(path, what, "open", errno);
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
        const int err = errno;
        ::close(fd);
        fail(path, what, "seek", err);
    }
    int err = write_all(fd, bytes);
    const char* step = "write";
    if (!err && ::fsync(fd) != 0) {
        err = errno;
        step = "fsync";
    }
    if (err) {
        // Cut off whatever part did get written; shrinking a file is allowed even when it may not grow.
        const bool cut = ::ftruncate(fd, end) == 0;
        ::close(fd);
        fail(path, what, std::string(step) + (cut ? "" : "; the partial write could not be removed"), err);
    }
    if (::close(fd) != 0) fail(path, what, "close", errno);
}

}  // namespace relprop
