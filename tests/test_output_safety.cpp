// Output safety of `relprop explain` (issue 14), one test case per row of README's table "Output
// safety": outputs never overwrite inputs, one run per --out-dir, a full disk never leaves a broken
// file at a final name, run.json pins settings and model only once a batch is done, temporary names
// never collide with outputs, JSON is valid UTF-8, float16 .npy inputs, output-name collisions,
// failed writes to stdout, and file names with a newline.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "io/file_write.h"
#include "relprop/image.hpp"
#include "relprop/npy.hpp"
#include "tests/cli_run.h"
#include "tests/fixtures.h"
#include "tests/onnx_edit.h"

using namespace relprop;
using relprop::test::read_file;
using relprop::test::relprop_cli;
using relprop::test::run_shell;
using relprop::test::temp_dir;
namespace fs = std::filesystem;

namespace {

const std::string kDemo = std::string(RELPROP_FIXTURES_DIR) + "/../../tools/demo/";
const std::string kModel = kDemo + "digits.onnx";

// The six demo digits' file names, sorted.
std::vector<std::string> demo_pngs() {
    std::vector<std::string> pngs;
    for (const auto& e : fs::directory_iterator(kDemo))
        if (e.path().extension() == ".png") pngs.push_back(e.path().filename().string());
    std::sort(pngs.begin(), pngs.end());
    REQUIRE(pngs.size() == 6);
    return pngs;
}

// An empty folder under the test's scratch folder.
fs::path fresh(const std::string& name) {
    const fs::path d = temp_dir() / "output-safety" / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// A folder with copies of the first `count` demo digits (under their own names, or `names`).
fs::path digits_folder(const std::string& name, size_t count, std::vector<std::string> names = {}) {
    const fs::path d = fresh(name);
    const std::vector<std::string> pngs = demo_pngs();
    for (size_t i = 0; i < count; ++i) fs::copy_file(kDemo + pngs[i], d / (names.empty() ? pngs[i] : names[i]));
    return d;
}

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// Every regular file below `dir` (relative name → bytes), the lock file left out.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename() != ".relprop.lock")
            files[fs::relative(e.path(), dir).string()] = read_file(e.path().string());
    return files;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The records of index.csv (RFC 4180: quoted fields may hold line breaks), header included.
std::vector<std::vector<std::string>> csv_records(const fs::path& p) {
    const std::string text = read_file(p.string());
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted && c == '"' && i + 1 < text.size() && text[i + 1] == '"') fields.back() += text[++i];
        else if (c == '"') quoted = !quoted;
        else if (c == ',' && !quoted) fields.emplace_back();
        else if (c == '\n' && !quoted) records.push_back(std::exchange(fields, std::vector<std::string>(1)));
        else fields.back() += c;
    }
    return records;
}

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || (n == 2 && c < 0xc2) || i + n > s.size()) return false;
        uint32_t cp = n == 1 ? c : c & (0x7f >> n);
        for (size_t k = 1; k < n; ++k) {
            const unsigned char b = s[i + k];
            if ((b >> 6) != 2) return false;
            cp = (cp << 6) | (b & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

// A shell prefix that makes every file relprop writes stop at `bytes` (RLIMIT_FSIZE; POSIX `ulimit -f`
// counts 512-byte blocks) with EFBIG instead of SIGXFSZ: a full disk, as far as the writer can tell.
std::string full_disk_at(size_t bytes) {
    REQUIRE(bytes % 512 == 0);
    return "trap '' XFSZ; ulimit -f " + std::to_string(bytes / 512) + "; ";
}

std::string hex(const std::string& s) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) out += std::string{digits[c >> 4], digits[c & 15]};
    return out;
}

// float → IEEE binary16 bits, round to nearest even (normal numbers and zero; enough for test inputs).
uint16_t to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const int exponent = int((x >> 23) & 0xff) - 127 + 15;
    uint32_t mantissa = x & 0x7fffffu;
    if ((x & 0x7fffffffu) == 0 || exponent <= 0) return static_cast<uint16_t>(sign);  // zero (and tiny values)
    REQUIRE(exponent < 31);
    uint32_t h = (uint32_t(exponent) << 10) | (mantissa >> 13);
    const uint32_t rest = mantissa & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
}

// A .npy file of float16 values (little or big endian).
void write_half_npy(const fs::path& p, const Tensor& t, bool big_endian) {
    std::string shape = "(";
    for (int64_t d : t.shape()) shape += std::to_string(d) + ", ";
    std::string header = std::string("{'descr': '") + (big_endian ? ">" : "<") + "f2', 'fortran_order': False, 'shape': " +
                         shape + "), }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    for (int64_t i = 0; i < t.numel(); ++i) {
        const uint16_t h = to_half(t[i]);
        const char lo = static_cast<char>(h & 0xff), hi = static_cast<char>(h >> 8);
        bytes += big_endian ? std::string{hi, lo} : std::string{lo, hi};
    }
    write_bytes(p, bytes);
}

}  // namespace

TEST_CASE("output safety 1: the input folder as --out-dir or --heatmap DIR is refused before anything is written") {
    const fs::path images = digits_folder("row1-images", 3);
    const auto before = snapshot(images);
    fs::create_symlink(images, images.parent_path() / "row1-link");
    const std::string via_dots = (images / ".." / images.filename()).string();
    for (const std::string& out :
         {images.string(), via_dots, (images.parent_path() / "row1-link").string(), images.string() + "/"}) {
        INFO(out);
        auto r = relprop_cli("explain " + kModel + " " + images.string() + " --no-preprocess --out-dir " + out);
        CHECK(r.code == 1);
        CHECK(has(r.output, "--out-dir " + out + " is the input folder " + images.string()));
        r = relprop_cli("explain " + kModel + " " + images.string() + " --no-preprocess --heatmap " + out);
        CHECK(r.code == 1);
        CHECK(has(r.output, "--heatmap " + out + " is the input folder " + images.string()));
    }
    CHECK(snapshot(images) == before);  // not one byte written, no index, no lock file
    CHECK(!fs::exists(images / ".relprop.lock"));
}

TEST_CASE("output safety 2: an input inside --out-dir, or --out/--heatmap naming an input, is refused") {
    const fs::path dir = digits_folder("row2", 2);
    const std::string png = (dir / demo_pngs()[1]).string(), other = kDemo + demo_pngs()[4];
    const auto before = snapshot(dir);
    auto r = relprop_cli("explain " + kModel + " " + other + " " + png + " --no-preprocess --out-dir " + dir.string());
    CHECK(r.code == 1);
    CHECK(has(r.output, "--out-dir " + dir.string() + " holds the input " + png));
    CHECK(has(r.output, "its outputs could overwrite inputs"));
    CHECK(snapshot(dir) == before);
    // --out onto an input .npy through a symlink; --heatmap onto the input image through '..'.
    const fs::path npy = dir / "x.npy";
    write_npy(npy.string(), read_npy(kDemo + "digits_batch.npy"));
    fs::create_symlink(npy, dir.parent_path() / "row2-x-link.npy");
    const auto with_npy = snapshot(dir);
    r = relprop_cli("explain " + kModel + " " + npy.string() + " --out " + (dir.parent_path() / "row2-x-link.npy").string());
    CHECK(r.code == 1);
    CHECK(has(r.output, "--out " + (dir.parent_path() / "row2-x-link.npy").string() + " is the input " + npy.string()));
    const std::string png_via_dots = (dir / ".." / dir.filename() / demo_pngs()[1]).string();
    r = relprop_cli("explain " + kModel + " " + png + " --no-preprocess --heatmap " + png_via_dots);
    CHECK(r.code == 1);
    CHECK(has(r.output, "--heatmap " + png_via_dots + " is the input " + png));
    // A hard link to the model is the model (a copy of the demo model: a writer that did not check
    // would destroy it).
    const fs::path model = dir.parent_path() / "row2-model.onnx", link = dir.parent_path() / "row2-model-link.npy";
    fs::remove(model);
    fs::remove(link);
    fs::copy_file(kModel, model);
    fs::create_hard_link(model, link);
    r = relprop_cli("explain " + model.string() + " " + other + " --no-preprocess --out " + link.string());
    CHECK(r.code == 1);
    CHECK(has(r.output, "--out " + link.string() + " is the model " + model.string()));
    CHECK(read_file(model.string()) == read_file(kModel));
    CHECK(snapshot(dir) == with_npy);
    // Inputs in a subfolder of --out-dir are safe (outputs go only directly into it).
    const fs::path sub = dir / "sub";
    fs::create_directories(sub);
    fs::copy_file(png, sub / "in.png");
    r = relprop_cli("explain " + kModel + " " + (sub / "in.png").string() + " --no-preprocess --out-dir " + dir.string());
    CHECK(r.code == 0);
    CHECK(fs::exists(dir / "in.png"));
}

TEST_CASE("output safety 3: one run per --out-dir: a second is refused at once, never duplicate rows") {
    const fs::path images = digits_folder("row3-images", 6);
    const fs::path out = fresh("row3-out");
    const std::string args = "explain " + kModel + " " + images.string() + " --no-preprocess --batch-size 1 --out-dir " + out.string();
    {
        // Another process holds the folder's lock: refused, nothing written.
        const int fd = ::open((out / ".relprop.lock").c_str(), O_RDWR | O_CREAT, 0666);
        REQUIRE(fd >= 0);
        REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
        const auto r = relprop_cli(args);
        CHECK(r.code == 1);
        CHECK(has(r.output, out.string() + " is in use by another relprop run"));
        CHECK(!fs::exists(out / "index.csv"));
        CHECK(!fs::exists(out / "run.json"));
        ::close(fd);  // what the kernel does when the holder dies
    }
    auto r = relprop_cli(args);
    CHECK(r.code == 0);
    CHECK(has(r.output, "explained 6 input(s), 0 already done"));

    // Two processes started together on a fresh folder (24 inputs, one per batch): one explains all,
    // the other is refused or (if it started after the first ended) finds everything done.
    const fs::path many = fresh("row3-many");
    const std::vector<std::string> pngs = demo_pngs();
    for (int copy = 0; copy < 4; ++copy)
        for (const std::string& p : pngs) fs::copy_file(kDemo + p, many / (std::string("c") + std::to_string(copy) + "_" + p));
    const fs::path out2 = fresh("row3-out2");
    fs::remove_all(out2);
    const std::string cmd = std::string(RELPROP_CLI) + " explain " + kModel + " " + many.string() +
                            " --no-preprocess --batch-size 1 --out-dir " + out2.string();
    const fs::path logs = fresh("row3-logs");
    run_shell("(" + cmd + " > " + (logs / "a").string() + " 2>&1; echo $? > " + (logs / "a.rc").string() + ") & (" + cmd +
          " > " + (logs / "b").string() + " 2>&1; echo $? > " + (logs / "b.rc").string() + ") & wait");
    int explained = 0, refused = 0;
    for (const std::string run : {"a", "b"}) {
        const std::string log = read_file((logs / run).string());
        const int rc = std::stoi(read_file((logs / (run + ".rc")).string()));
        INFO(run, ": ", log);
        if (rc == 0) {
            CHECK((has(log, "explained 24 input(s), 0 already done") || has(log, "explained 0 input(s), 24 already done")));
            explained += has(log, "explained 24 input(s)") ? 1 : 0;
        } else {
            CHECK(rc == 1);
            CHECK(has(log, " is in use by another relprop run"));
            ++refused;
        }
    }
    CHECK(explained == 1);
    MESSAGE("two concurrent runs: ", refused, " refused");
    const auto rows = csv_records(out2 / "index.csv");
    CHECK(rows.size() == 25);
    std::set<std::string> inputs;
    for (size_t i = 1; i < rows.size(); ++i) inputs.insert(rows[i].at(0));
    CHECK(inputs.size() == 24);
}

TEST_CASE("output safety 4: a full disk during a heatmap write leaves no file at its name; the rerun completes it") {
    const std::vector<std::string> pngs = demo_pngs();
    const fs::path images = digits_folder("row4-images", 3);
    const fs::path out = fresh("row4-out");
    // --heatmap-scale 16: each heatmap PNG (512x512, ~10 KB) is larger than a relevance .npy (4,224 bytes).
    const std::string args = "explain " + kModel + " " + images.string() +
                             " --no-preprocess --heatmap-scale 16 --batch-size 1 --out-dir " + out.string();
    REQUIRE(relprop_cli(args).code == 0);
    const size_t png_size = fs::file_size(out / (fs::path(pngs[0]).stem().string() + ".png"));
    const size_t limit = 4608;  // 9 blocks of 512: a .npy fits, a heatmap does not
    REQUIRE(png_size > limit);
    const auto committed = snapshot(out);

    for (size_t i = 3; i < 6; ++i) fs::copy_file(kDemo + pngs[i], images / pngs[i]);
    auto r = relprop_cli(args, full_disk_at(limit));
    CHECK(r.code == 1);
    CHECK(has(r.output, "cannot write the PNG: File too large"));
    const std::string fourth = fs::path(pngs[3]).stem().string();
    CHECK(!fs::exists(out / (fourth + ".png")));
    for (const auto& [name, bytes] : committed) {
        INFO(name);
        CHECK(read_file((out / name).string()) == bytes);  // nothing committed was cut short
    }
    for (const auto& e : fs::directory_iterator(out)) CHECK(!e.path().filename().string().starts_with(".relprop-"));

    r = relprop_cli(args);
    CHECK(r.code == 0);
    CHECK(has(r.output, "explained 3 input(s), 3 already done"));
    CHECK(csv_records(out / "index.csv").size() == 7);
    for (const std::string& p : pngs) {
        const Image img = load_image((out / (fs::path(p).stem().string() + ".png")).string());
        CHECK(img.width == 512);
    }

    // --heatmap FILE.png on a full disk: exit 1, and the file from before is untouched.
    const std::string one = kDemo + pngs[0], heatmap = (out.parent_path() / "row4-h.png").string();
    REQUIRE(relprop_cli("explain " + kModel + " " + one + " --no-preprocess --heatmap-scale 16 --heatmap " + heatmap).code == 0);
    const std::string good = read_file(heatmap);
    r = relprop_cli("explain " + kModel + " " + one + " --no-preprocess --heatmap-scale 16 --cmap hot --heatmap " + heatmap,
                    full_disk_at(limit));
    CHECK(r.code == 1);
    CHECK(has(r.output, heatmap + ": cannot write the PNG: File too large"));
    CHECK(read_file(heatmap) == good);
}

TEST_CASE("output safety 5: a full disk during --out leaves the old file whole and exits 1") {
    const std::string batch = kDemo + "digits_batch.npy", out = (fresh("row5") / "r.npy").string();
    REQUIRE(relprop_cli("explain " + kModel + " " + batch + " --method gradient --out " + out).code == 0);
    const std::string before = read_file(out);
    REQUIRE(before.size() > 8192);
    const auto r = relprop_cli("explain " + kModel + " " + batch + " --out " + out, full_disk_at(8192));
    CHECK(r.code == 1);
    CHECK(has(r.output, out + ": cannot write .npy file: File too large"));
    CHECK(read_file(out) == before);
    CHECK(std::distance(fs::directory_iterator(fs::path(out).parent_path()), fs::directory_iterator{}) == 1);
}

TEST_CASE("output safety 6: a failed first run pins nothing; the fixed rerun succeeds") {
    const fs::path images = digits_folder("row6-images", 2);
    const fs::path out = fresh("row6-out");
    const std::string tail = std::string(" ") + images.string() + " --no-preprocess --out-dir " + out.string();
    auto r = relprop_cli("explain " + kModel + tail + " --target 99");
    CHECK(r.code == 1);
    r = relprop_cli("explain " + kDemo + "digitz.onnx" + tail);
    CHECK(r.code == 1);
    CHECK(!fs::exists(out / "run.json"));
    r = relprop_cli("explain " + kModel + tail + " --target 3");
    CHECK(r.code == 0);
    CHECK(has(r.output, "explained 2 input(s), 0 already done"));
    const auto rows = csv_records(out / "index.csv");
    REQUIRE(rows.size() == 3);
    CHECK(rows[1][4] == "3");
    CHECK(rows[2][4] == "3");
    CHECK(has(read_file((out / "run.json").string()), "\"target\": \"3\""));
}

TEST_CASE("output safety 7: a model file replaced between runs is refused") {
    const fs::path dir = fresh("row7");
    onnx::ModelProto m;
    REQUIRE(m.ParseFromString(read_file(kModel)));
    const std::string original = m.SerializeAsString();
    // The same model with one weight changed: the same size, other bytes.
    bool changed = false;
    for (auto& t : *m.mutable_graph()->mutable_initializer())
        if (!changed && t.data_type() == onnx::TensorProto::FLOAT && t.raw_data().size() >= 4) {
            std::string raw = t.raw_data();
            float w;
            std::memcpy(&w, raw.data(), 4);
            w += 0.5f;
            std::memcpy(raw.data(), &w, 4);
            t.set_raw_data(raw);
            changed = true;
        }
    REQUIRE(changed);
    const std::string swapped = m.SerializeAsString();
    REQUIRE(swapped.size() == original.size());
    REQUIRE(swapped != original);

    const fs::path model = dir / "m.onnx", images = digits_folder("row7-images", 2), out = dir / "out";
    write_bytes(model, original);
    const std::string args = "explain " + model.string() + " " + images.string() + " --no-preprocess --out-dir " + out.string();
    REQUIRE(relprop_cli(args).code == 0);
    // run.json holds the model's size and sha256 (as sha256sum computes it).
    const std::string sum = run_shell("sha256sum " + model.string()).output.substr(0, 64);
    const std::string run = read_file((out / "run.json").string());
    CHECK(has(run, "\"model_file\": {\"bytes\": " + std::to_string(original.size()) + ", \"sha256\": \"" + sum + "\"}"));

    write_bytes(model, swapped);
    fs::copy_file(kDemo + demo_pngs()[5], images / demo_pngs()[5]);
    const std::string index = read_file((out / "index.csv").string());
    auto r = relprop_cli(args);
    CHECK(r.code == 1);
    CHECK(has(r.output, "the model file changed since this folder was started"));
    CHECK(read_file((out / "index.csv").string()) == index);
    write_bytes(model, original);  // restored: the run goes on
    r = relprop_cli(args);
    CHECK(r.code == 0);
    CHECK(has(r.output, "explained 1 input(s), 2 already done"));
}

TEST_CASE("output safety 8: inputs x.png and x.tmp.png keep their own heatmaps across a resume") {
    const std::vector<std::string> pngs = demo_pngs();
    const fs::path images = digits_folder("row8-images", 2, {"x.png", "x.tmp.png"});
    const fs::path out = fresh("row8-out");
    const std::string args = "explain " + kModel + " " + images.string() + " --no-preprocess --out-dir " + out.string();
    REQUIRE(relprop_cli(args).code == 0);
    fs::remove(out / "x.png");
    fs::remove(out / "x.npy");
    // A temporary file left by a run that was killed (its process is gone) is cleaned up.
    const pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, nullptr, 0);
    const fs::path stale = out / (std::string(".relprop-") + std::to_string(dead) + "-3.tmp");
    write_bytes(stale, "half a heatmap");
    // Named as this host and PID namespace name it: removed too. The same process id in another PID
    // namespace of a host with the same name (a Kubernetes hostNetwork pod) may be a live writer: kept.
    const std::string host = temp_host();
    REQUIRE(host.find('_') != std::string::npos);
    const fs::path own = out / (".relprop-" + std::to_string(dead) + "-" + host + "-4.tmp");
    const fs::path other_namespace =
        out / (".relprop-" + std::to_string(dead) + "-" + host.substr(0, host.rfind('_')) + "_1-5.tmp");
    write_bytes(own, "half a heatmap");
    write_bytes(other_namespace, "half a heatmap");
    auto r = relprop_cli(args);
    CHECK(!fs::exists(stale));
    CHECK(!fs::exists(own));
    CHECK(fs::exists(other_namespace));
    fs::remove(other_namespace);
    CHECK(r.code == 0);
    CHECK(has(r.output, "explained 1 input(s), 1 already done"));
    for (const auto& [name, source] : {std::pair{"x", pngs[0]}, std::pair{"x.tmp", pngs[1]}}) {
        INFO(name);
        const std::string alone = (out.parent_path() / "row8-alone.png").string();
        REQUIRE(relprop_cli("explain " + kModel + " " + kDemo + source + " --no-preprocess --heatmap " + alone).code == 0);
        REQUIRE(fs::exists(out / (std::string(name) + ".png")));
        CHECK(read_file((out / (std::string(name) + ".png")).string()) == read_file(alone));
    }
}

TEST_CASE("output safety 9: file names that are not UTF-8 give valid UTF-8 JSON, with their bytes in *_hex") {
    const std::string latin1 = "caf\xe9";  // "café" in Latin-1
    const fs::path images = digits_folder("row9-images", 2, {latin1 + ".png", "ok.png"});
    const fs::path out = fresh("row9-out");
    const std::string args = "explain " + kModel + " " + images.string() + " --no-preprocess --out-dir " + out.string();
    REQUIRE(relprop_cli(args).code == 0);
    const std::string json = read_file((out / "index.json").string());
    CHECK(valid_utf8(json));
    CHECK(has(json, "\"name\": \"caf\xef\xbf\xbd\", \"name_hex\": \"" + hex(latin1) + "\""));
    CHECK(has(json, "\"input_hex\": \"" + hex((images / (latin1 + ".png")).string()) + "\""));
    CHECK(has(json, "\"name\": \"ok\", \"prediction\""));  // valid names get no _hex field
    CHECK(has(relprop_cli(args).output, "explained 0 input(s), 2 already done"));
    const auto r = relprop_cli("explain " + kModel + " " + (images / (latin1 + ".png")).string() + " --no-preprocess --json");
    CHECK(r.code == 0);
    CHECK(valid_utf8(r.output));
    CHECK(has(r.output, "\"input\": \"caf\xef\xbf\xbd\", \"input_hex\": \"636166e9\""));
}

TEST_CASE("output safety 10: a float16 .npy ('<f2', '>f2') gives the float32 result to 1e-3") {
    const fs::path dir = fresh("row10");
    const Tensor x = read_npy(kDemo + "digits_batch.npy");
    // The float32 input holding the values the float16 file holds (each rounded to half precision).
    Tensor rounded(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
        const uint16_t h = to_half(x[i]);
        const int exponent = (h >> 10) & 0x1f;
        const float magnitude = exponent == 0 ? 0.0f : std::ldexp(1.0f + (h & 0x3ff) / 1024.0f, exponent - 15);
        rounded[i] = (h & 0x8000) ? -magnitude : magnitude;
    }
    CHECK(test::max_rel_error(rounded, x) < 1e-3);
    const std::string x32 = (dir / "x32.npy").string(), f32 = (dir / "r32.npy").string();
    write_npy(x32, rounded);
    REQUIRE(relprop_cli("explain " + kModel + " " + x32 + " --target 3 --out " + f32).code == 0);
    for (const bool big : {false, true}) {
        const std::string descr = big ? ">f2" : "<f2";
        INFO(descr);
        const std::string half = (dir / (big ? "xb.npy" : "xl.npy")).string(), r16 = (dir / "r16.npy").string();
        write_half_npy(half, x, big);
        const auto r = relprop_cli("explain " + kModel + " " + half + " --target 3 --out " + r16);
        REQUIRE(r.code == 0);
        const double err = test::max_rel_error(read_npy(r16), read_npy(f32));
        CHECK(err < 1e-3);
    }
}

TEST_CASE("output safety 11: output names two inputs would share are refused up front") {
    const fs::path dir = fresh("row11");
    const Tensor x = read_npy(kDemo + "digits_batch.npy");
    Tensor two({2, 1, 32, 32});
    std::copy(x.data(), x.data() + two.numel(), two.data());
    write_npy((dir / "pair.npy").string(), two);
    fs::copy_file(kDemo + demo_pngs()[0], dir / "pair_0.png");
    const fs::path out = dir / "out";
    auto r = relprop_cli("explain " + kModel + " " + (dir / "pair.npy").string() + " " + (dir / "pair_0.png").string() +
                         " --no-preprocess --out-dir " + out.string());
    CHECK(r.code == 1);
    CHECK(has(r.output, "--out-dir: " + (dir / "pair_0.png").string() + " and sample 0 of " + (dir / "pair.npy").string()));
    CHECK(!fs::exists(out));

    // a/x.png and b/x.png with --heatmap DIR.
    fs::create_directories(dir / "a");
    fs::create_directories(dir / "b");
    fs::copy_file(kDemo + demo_pngs()[1], dir / "a" / "x.png");
    fs::copy_file(kDemo + demo_pngs()[2], dir / "b" / "x.png");
    r = relprop_cli("explain " + kModel + " " + (dir / "a" / "x.png").string() + " " + (dir / "b" / "x.png").string() +
                    " --no-preprocess --heatmap " + (dir / "maps").string());
    CHECK(r.code == 1);
    CHECK(has(r.output, "--heatmap: " + (dir / "a" / "x.png").string() + " and " + (dir / "b" / "x.png").string() +
                            " would both write 'x' outputs"));
    CHECK(!fs::exists(dir / "maps"));
}

TEST_CASE("output safety 12: a failed write to stdout is an error with exit 1") {
    const std::string cli = std::string(RELPROP_CLI) + " explain " + kModel + " " + kDemo + "digits_batch.npy";
    auto r = run_shell(cli + " --json 2>&1 >/dev/full");
    CHECK(r.code == 1);
    CHECK(has(r.output, "relprop: error: cannot write to standard output: No space left on device"));
    r = run_shell(cli + " 2>&1 >/dev/full");  // the summary lines
    CHECK(r.code == 1);
    r = run_shell(cli + " --json 2>&1 >&-");  // stdout closed
    CHECK(r.code == 1);
    CHECK(has(r.output, "cannot write to standard output"));
    r = run_shell(cli + " --json 2>&1 >/dev/null");
    CHECK(r.code == 0);
}

TEST_CASE("output safety 13: a file name with a newline is done once, not redone on every resume") {
    const fs::path images = digits_folder("row13-images", 2, {"new\nline.png", "plain.png"});
    const fs::path out = fresh("row13-out");
    const std::string args = "explain " + kModel + " '" + images.string() + "' --no-preprocess --out-dir " + out.string();
    auto r = relprop_cli(args);
    REQUIRE(r.code == 0);
    CHECK(has(r.output, "explained 2 input(s), 0 already done"));
    r = relprop_cli(args);
    CHECK(has(r.output, "explained 0 input(s), 2 already done"));
    const auto rows = csv_records(out / "index.csv");
    REQUIRE(rows.size() == 3);
    CHECK(rows[1][2] == "new\nline");
    CHECK(has(read_file((out / "index.json").string()), "\"name\": \"new\\u000aline\""));
}
