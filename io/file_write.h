/// @file
/// Writing files so that a failure never leaves a broken file at the final name: the one place where
/// relprop writes bytes to disk (write_npy, write_png and every output of the command line use it).
///
/// write_file_atomic: the bytes go to a temporary file in the same folder, named
/// `.relprop-<pid>-<host>-<counter>.tmp` (a leading dot, the process id, the host — the host name with
/// letters, digits, '.' and '_' kept, anything else '_', then '_' and the inode of the process's PID
/// namespace — and a per-process counter: no output name, which always ends in its own extension, can
/// equal it, and two processes or two writes never share one, also when processes on several machines,
/// or containers that all run as pid 1 — with their own host names or, as Kubernetes hostNetwork pods,
/// the node's — write into one shared folder); every step is checked — each write(2), fsync of the file, close, the rename onto the
/// final name, and fsync of the folder — and on any failure the temporary file is removed and an
/// Error names the final path and the system's reason (e.g. "No space left on device", "File too
/// large"). A file already at the final name stays as it was until the rename replaces it whole.
///
/// append_file_durable: bytes added at the end of a file (created if missing), each write checked and
/// fsync'ed; on failure the file is cut back to its previous length, so it never ends in half a line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace relprop {

/// Replaces (or creates) `path` with exactly `bytes`, all or nothing (see above). Throws relprop::Error
/// "PATH: cannot write WHAT: REASON (STEP)", e.g. "r.npy: cannot write .npy file: File too large (write)".
void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& what = "the file");

/// Several files (a batch of outputs), each as write_file_atomic writes it, in groups of up to 64:
/// all of a group's temporary files are written and fsync'ed before the first is renamed, and each
/// folder is fsync'ed once at the end. A failed write or fsync leaves none of its group's files (nor
/// those of later groups) at their names; earlier groups, and the files renamed before a failed
/// rename, are complete at theirs.
/// Creates `path` with exactly `bytes` only if nothing is at that name: written and fsync'ed as above
/// under a temporary name, then published with link(2), which fails when the name exists (atomic on
/// local file systems and NFS). Returns false, leaving the existing file as it is, when the name was
/// taken; other failures throw as write_file_atomic does. Many processes may race: one creates it.
/// Where the file system has no hard links (link fails with EPERM, EOPNOTSUPP or ENOSYS: FAT, some
/// FUSE and SMB mounts) the name is checked and then renamed onto: right for one writer, not atomic
/// against a second one racing on such a file system.
bool create_file_once(const std::string& path, std::string_view bytes, const std::string& what = "the file");

/// The host part of temporary names (see above): a process id means something only to processes with the
/// same host part.
std::string temp_host();

struct FileBytes {
    std::string path;
    std::string bytes;
    std::string what = "the file";  // for messages: "cannot write WHAT"
};
void write_files_atomic(const std::vector<FileBytes>& files);

/// Appends `bytes` to `path` (created if missing) and fsyncs it; on failure the file keeps its old
/// length and an Error names the path and the system's reason.
void append_file_durable(const std::string& path, std::string_view bytes, const std::string& what = "the file");

/// The name write_file_atomic's temporary files start with (".relprop-"); they end in ".tmp".
inline constexpr std::string_view kTempPrefix = ".relprop-";

}  // namespace relprop
