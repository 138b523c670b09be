// SHA-256 (FIPS 180-4) of a file, as hex: what `sha256sum` prints. `--out-dir` records the model's in
// run.json, so that a model file replaced between runs is noticed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace relprop::cli {

struct FileDigest {
    uint64_t size = 0;
    std::string sha256;  // 64 lowercase hex digits
};

// Reads `path` in blocks (memory stays small for any size); an unreadable file is an Error naming it.
FileDigest digest_file(const std::string& path);

// SHA-256 of bytes in memory, as 64 lowercase hex digits (--shard's stable hash of input names).
std::string sha256_hex(std::string_view bytes);

}  // namespace relprop::cli
