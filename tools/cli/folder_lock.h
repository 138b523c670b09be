// One writer per output folder (per shard of it): `relprop explain --out-dir DIR` holds an advisory
// lock (flock) on DIR/.relprop.lock while it runs; with --shard it holds that lock shared (so an
// unsharded run and shards never write one folder at once) and DIR/.relprop.shard-K-of-N.lock alone.
// The kernel drops the lock when the process ends in any way (exit, crash, kill -9), so a dead run
// never leaves the folder locked; the file itself stays (removing it would race with a process that
// has just opened it).
#pragma once

#include <string>

namespace relprop::cli {

inline constexpr const char* kLockFileName = ".relprop.lock";

// Exclusive: the only holder, else an Error at once. Shared: one of many shared holders (the shards
// of a folder), else an Error at once. Wait: the only holder, waiting for the others to let go
// (and saying so on stderr when it has to wait).
enum class LockMode { Exclusive, Shared, Wait };

class FolderLock {
public:
    // Takes the lock or throws relprop::Error at once when another process holds it: a second run on
    // the same folder stops rather than waits (see README, --out-dir). `file`: the lock file in the
    // folder (sharded runs lock one file per shard, `.relprop.shard-K-of-N.lock`, so different shards
    // run together and the same shard twice does not); `scope` names what is locked in the message.
    // LockMode::Wait blocks until the lock is free instead (the short merge step of sharded runs).
    explicit FolderLock(const std::string& folder, const std::string& file = kLockFileName,
                        const std::string& scope = "", LockMode mode = LockMode::Exclusive);
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int m_fd = -1;
};

}  // namespace relprop::cli
