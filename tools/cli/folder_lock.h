// One writer per output folder: `relprop explain --out-dir DIR` holds an advisory lock (flock) on
// DIR/.relprop.lock while it runs. The kernel drops the lock when the process ends in any way (exit,
// crash, kill -9), so a dead run never leaves the folder locked; the file itself stays (removing it
// would race with a process that has just opened it).
#pragma once

#include <string>

namespace relprop::cli {

inline constexpr const char* kLockFileName = ".relprop.lock";

class FolderLock {
public:
    // Takes the lock or throws relprop::Error at once when another process holds it: a second run on
    // the same folder stops rather than waits (see README, --out-dir).
    explicit FolderLock(const std::string& folder);
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int m_fd = -1;
};

}  // namespace relprop::cli
