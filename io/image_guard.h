// Checks on image bytes that stb_image 2.27 (Debian 12's libstb) does not make itself, run by
// decode_image before stb sees the bytes. Each guards against a memory-safety bug fuzzing found in
// stb (tests/fuzz/regressions/image/ keeps the inputs); a newer stb fixes them upstream, these checks
// keep relprop safe with the library the distribution ships.
#pragma once

#include <string>

namespace relprop {

// Throws relprop::Error ("<source>: not a readable image (corrupt JPEG: ...)") when a JPEG's marker
// segments (before and between its scans) hold what stb_image would mishandle:
//   - a Huffman table (DHT) declaring more than 256 codes (stb writes past its 257-entry tables);
//   - a scan (SOS) using a Huffman table no DHT defined (stb decodes with uninitialized memory:
//     out-of-bounds reads, or its assert() aborting the process).
// Bytes that are not a JPEG, or a JPEG cut short, pass: stb reports those itself.
void check_jpeg_segments(const std::string& bytes, const std::string& source);

// Throws relprop::Error ("<source>: not a readable image (corrupt or cut short PNG: ...)") when a PNG chunk before
// IEND declares more data than the file holds. stb_image grows its IDAT buffer to the declared length
// before reading it: an 80-byte file declaring a 2 GiB chunk made it allocate 2 GiB. With every chunk
// inside the file, stb's IDAT buffer stays below twice the file size. Bytes that are not a PNG pass.
void check_png_chunks(const std::string& bytes, const std::string& source);

}  // namespace relprop
