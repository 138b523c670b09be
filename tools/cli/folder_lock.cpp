#include "tools/cli/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "relprop/error.hpp"

namespace relprop::cli {

FolderLock::FolderLock(const std::string& folder, const std::string& file, const std::string& scope, LockMode mode) {
    const std::string path = (std::filesystem::path(folder) / file).string();
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (m_fd < 0) throw Error(path + ": cannot create the lock file: " + std::strerror(errno));
    int rc;
    do rc = ::flock(m_fd, (mode == LockMode::Shared ? LOCK_SH : LOCK_EX) | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno == EWOULDBLOCK && mode == LockMode::Wait) {
        // Said once, so that a wait on a stuck holder (a suspended job) does not look like a hang.
        std::fprintf(stderr, "relprop: waiting for %s (another relprop run holds it)\n", printable(path).c_str());
        do rc = ::flock(m_fd, LOCK_EX);
        while (rc != 0 && errno == EINTR);
    }
    if (rc == 0) return;
    const int err = errno;
    ::close(m_fd);
    m_fd = -1;
    if (err == EWOULDBLOCK && mode == LockMode::Shared)  // only a run holding it alone blocks a shared holder
        throw Error(folder + scope + " is in use by a relprop run without --shard (it holds " + path +
                    "); wait for it to finish, or use another --out-dir");
    if (err == EWOULDBLOCK)
        throw Error(folder + scope + " is in use by another relprop run (it holds " + path +
                    "); wait for it to finish, or use another --out-dir");
    throw Error(path + ": cannot lock: " + std::strerror(err));
}

FolderLock::~FolderLock() {
    if (m_fd >= 0) ::close(m_fd);
}

}  // namespace relprop::cli
