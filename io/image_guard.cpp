#include "io/image_guard.h"

#include <algorithm>
#include <cstdint>

#include "relprop/error.hpp"

namespace relprop {

namespace {

[[noreturn]] void corrupt(const std::string& source, const std::string& what) {
    throw Error(source + ": not a readable image (corrupt JPEG: " + what + ")");
}

// Huffman tables defined so far: [class][id], class 0 = DC, 1 = AC.
using Defined = bool[2][4];

// The tables of one DHT segment's payload [at, end): per table 1 byte class/id, 16 code counts, then
// as many symbol bytes as codes. Like stb, a table's 16 counts are read whole even when the segment
// ends first (from the bytes that follow; past the end of the file they read as 0).
void check_dht(const std::string& b, size_t at, size_t end, Defined& defined, const std::string& source) {
    while (at < end) {
        int codes = 0;
        for (size_t i = 1; i <= 16 && at + i < b.size(); ++i) codes += static_cast<unsigned char>(b[at + i]);
        if (codes > 256)
            corrupt(source, "a Huffman table (DHT) declares " + std::to_string(codes) + " codes, at most 256 are allowed");
        const unsigned char q = static_cast<unsigned char>(b[at]);
        if ((q >> 4) <= 1 && (q & 15) <= 3) defined[q >> 4][q & 15] = true;
        at += 17 + static_cast<size_t>(codes);
    }
}

// A scan (SOS payload [at, end)) may only use Huffman tables a DHT defined before it: stb decodes with
// whatever its (uninitialized) table memory holds otherwise. Baseline scans use each component's DC
// and AC table; progressive ones the DC table in a first DC scan (Ss = 0, Ah = 0), none in a DC
// refinement, the AC table in an AC scan (Ss > 0).
void check_sos(const std::string& b, size_t at, size_t end, bool progressive, const Defined& defined,
               const std::string& source) {
    if (at >= end) return;
    const size_t n = static_cast<unsigned char>(b[at]);
    const size_t tail = at + 1 + 2 * n;  // Ss, Se, Ah/Al follow the component list
    if (tail + 3 > end) return;          // stb reports a short scan header
    const int ss = static_cast<unsigned char>(b[tail]), ah = static_cast<unsigned char>(b[tail + 2]) >> 4;
    const bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss > 0;
    for (size_t c = 0; c < n; ++c) {
        const int q = static_cast<unsigned char>(b[at + 2 + 2 * c]), td = q >> 4, ta = q & 15;
        if (td > 3 || ta > 3) return;  // stb refuses these itself
        if ((dc && !defined[0][td]) || (ac && !defined[1][ta]))
            corrupt(source, "a scan uses Huffman table " + std::string(dc && !defined[0][td] ? "DC " : "AC ") +
                                std::to_string(dc && !defined[0][td] ? td : ta) + ", which no DHT segment defines");
    }
}

}  // namespace

void check_jpeg_segments(const std::string& b, const std::string& source) {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(b[i]); };
    if (b.size() < 4 || byte(0) != 0xff || byte(1) != 0xd8) return;
    Defined defined = {};
    bool progressive = false;
    size_t at = 2;
    while (at + 1 < b.size()) {
        if (byte(at) != 0xff) {  // entropy-coded data of a scan: skip to the next marker
            ++at;
            continue;
        }
        const unsigned char m = byte(at + 1);
        // 0xff fill bytes, stuffed 0xff00 and restart markers belong to the scan data.
        if (m == 0xff || m == 0x00 || (m >= 0xd0 && m <= 0xd7)) {
            at += m == 0xff ? 1 : 2;
            continue;
        }
        if (m == 0xd9) return;  // end of image
        if (m == 0xd8 || m == 0x01) {  // markers without a length
            at += 2;
            continue;
        }
        if (at + 3 >= b.size()) return;
        const size_t length = (size_t(byte(at + 2)) << 8) | byte(at + 3);  // includes its own 2 bytes
        if (length < 2) return;  // stb reports it
        // A segment cut short by the end of the file is still read by stb (as far as it goes).
        const size_t payload = at + 4, end = std::min(at + 2 + length, b.size());
        if (m == 0xc4) check_dht(b, payload, end, defined, source);
        if (m == 0xc0 || m == 0xc1 || m == 0xc2) progressive = m == 0xc2;
        if (m == 0xda) check_sos(b, payload, end, progressive, defined, source);
        at = end;
    }
}

void check_png_chunks(const std::string& b, const std::string& source) {
    static const char signature[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
    if (b.size() < 8 || b.compare(0, 8, signature, 8) != 0) return;
    const auto be32 = [&](size_t i) {
        return (uint32_t(uint8_t(b[i])) << 24) | (uint32_t(uint8_t(b[i + 1])) << 16) | (uint32_t(uint8_t(b[i + 2])) << 8) |
               uint32_t(uint8_t(b[i + 3]));
    };
    size_t at = 8;
    while (at + 8 <= b.size()) {  // a chunk: length, type, data, CRC
        const uint64_t length = be32(at);
        const std::string type = b.substr(at + 4, 4);
        const size_t left = b.size() - (at + 8);
        if (length > left)
            throw Error(source + ": not a readable image (corrupt or cut short PNG: chunk '" + type + "' at byte " + std::to_string(at) +
                        " declares " + std::to_string(length) + " bytes of data, only " + std::to_string(left) +
                        " follow)");
        if (type == "IEND") return;
        at += 12 + static_cast<size_t>(length);
    }
}

}  // namespace relprop
