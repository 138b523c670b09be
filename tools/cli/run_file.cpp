#include "tools/cli/run_file.h"

#include <fstream>
#include <iterator>
#include <optional>

#include "relprop/error.hpp"
#include "io/file_write.h"
#include "tools/cli/json.h"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

std::string hex_of(const std::string& bytes) {
    static const char* const digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// The bytes of lowercase hex digits, or nothing when `hex` is not such a text.
std::optional<std::string> bytes_of_hex(const std::string& hex) {
    if (hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return {};
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

std::string settings_prefix(const std::string& settings) { return "{\"settings\": " + settings + ", \"model_file\": "; }

std::string model_part(const FileDigest& model) {
    return "{\"bytes\": " + std::to_string(model.size) + ", \"sha256\": \"" + model.sha256 + "\"}";
}

// What follows the model file: nothing for an unsharded run; the shard count, the working folder and
// the input arguments (readable, and exact as hex: file names are bytes) for a sharded one.
std::string shard_part(const RunIdentity& run) {
    if (run.shards == 0) return "}\n";
    std::string readable, exact;
    for (const std::string& in : run.inputs) {
        readable += (readable.empty() ? "" : ", ") + json_string(in);
        exact += std::string(exact.empty() ? "" : ", ") + "\"" + hex_of(in) + "\"";
    }
    return ", \"shards\": " + std::to_string(run.shards) + ", \"cwd\": " + json_string(run.cwd) + ", \"cwd_hex\": \"" +
           hex_of(run.cwd) + "\", \"inputs\": [" + readable + "], \"inputs_hex\": [" + exact + "]}\n";
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The text after `"key": ` up to (not including) the first of `ends`.
std::string field(const std::string& text, const std::string& key, const std::string& ends) {
    const std::string tag = "\"" + key + "\": ";
    const size_t at = text.find(tag);
    if (at == std::string::npos) return "";
    const size_t from = at + tag.size();
    return text.substr(from, text.find_first_of(ends, from) - from);
}

// The shard count a run.json records after its model file (0: none, an unsharded run's); a value that
// is not one relprop writes is an Error naming the file.
int64_t shard_count_of(const std::string& text, const fs::path& run_file) {
    if (text.find("\"shards\": ") == std::string::npos) return 0;
    const std::string n = field(text, "shards", ",}");
    if (n.empty() || n.size() > 7 || n.find_first_not_of("0123456789") != std::string::npos || std::stoll(n) < 1 ||
        std::stoll(n) > 1000000)
        throw Error(run_file.string() + ": \"shards\": '" + n + "' is not a shard count from 1 to 1000000 (was the file "
                    "edited?); restore it, or use another --out-dir");
    return std::stoll(n);
}

}  // namespace

std::string run_json(const RunIdentity& run) {
    return settings_prefix(run.settings) + model_part(run.model) + shard_part(run);
}

void check_run_file(const fs::path& run_file, const RunIdentity& run, const std::string& out_dir) {
    const std::string previous = read_text(run_file);
    if (previous == run_json(run)) return;
    const std::string prefix = settings_prefix(run.settings);
    if (!previous.starts_with(prefix))
        throw Error(out_dir + " holds results of other settings (" + run_file.string() +
                    "); use another --out-dir, or delete it to start over");
    const size_t model_end = previous.find('}', prefix.size()) + 1;
    const std::string recorded_model = previous.substr(prefix.size(), model_end - prefix.size());
    if (recorded_model != model_part(run.model))
        throw Error(out_dir + ": the model file changed since this folder was started (" + run_file.string() + ": " +
                    recorded_model + "; now " + std::to_string(run.model.size) + " bytes, sha256 " +
                    run.model.sha256 + "); use another --out-dir for the new model, or restore the old one");
    const int64_t shards = shard_count_of(previous.substr(model_end), run_file);
    if (shards == 0)
        throw Error(out_dir + " holds the results of a run without --shard (" + run_file.string() +
                    "); a sharded run needs its own --out-dir");
    if (run.shards == 0)
        throw Error(out_dir + " is split into " + std::to_string(shards) + " shards (" + run_file.string() +
                    "): run each with --shard K/" + std::to_string(shards) + " or --shard auto/" +
                    std::to_string(shards) + ", and build index.csv with `relprop merge " + out_dir + "`");
    if (shards != run.shards)
        throw Error(out_dir + " is split into " + std::to_string(shards) + " shards (" + run_file.string() +
                    "); this run is one of " + std::to_string(run.shards) +
                    ": every shard of a folder needs the same count");
    throw Error(out_dir + "'s shards explain other inputs (" + run_file.string() + ": " +
                field(previous, "inputs", "]") + "] in " + field(previous, "cwd", ",") +
                "): every shard must name the same inputs from the same working folder; use another --out-dir "
                "for other inputs");
}

void pin_run_file(const fs::path& run_file, const RunIdentity& run, const std::string& out_dir) {
    if (!create_file_once(run_file.string(), run_json(run), "run.json")) check_run_file(run_file, run, out_dir);
}

namespace {

fs::path shard_run_mark(const fs::path& dir, const std::string& tag) { return dir / (".relprop." + tag + ".run"); }

std::string run_file_digest(const fs::path& dir) { return sha256_hex(read_text(dir / "run.json")) + "\n"; }

}  // namespace

bool shard_rows_current(const fs::path& dir, const std::string& tag) {
    std::error_code ec;
    return fs::exists(dir / "run.json", ec) && read_text(shard_run_mark(dir, tag)) == run_file_digest(dir);
}

void record_shard_rows_run(const fs::path& dir, const std::string& tag) {
    write_file_atomic(shard_run_mark(dir, tag).string(), run_file_digest(dir), ".relprop." + tag + ".run");
}

RunIdentity read_sharded_run_file(const fs::path& run_file, const std::string& out_dir) {
    std::error_code ec;
    if (!fs::exists(run_file.parent_path(), ec)) throw Error(out_dir + ": no such folder");
    if (!fs::is_directory(run_file.parent_path(), ec)) throw Error(out_dir + " is not a folder (give the --out-dir of the shards)");
    if (!fs::exists(run_file, ec))
        throw Error(out_dir + " has no run.json: no shard has finished a batch there yet (or it is not an --out-dir)");
    const std::string text = read_text(run_file);
    if (text.starts_with("{\"model\": ") && text.find("\"methods\": [") != std::string::npos)
        throw Error(out_dir + " is not split into shards (" + run_file.string() + ": an evaluation without --shard): "
                    "its curves.csv and summary.json are already complete; relprop merge is for --shard runs");
    const auto not_ours = [&](const std::string& what) {
        return Error(run_file.string() + ": not a run.json of relprop explain or evaluate --out-dir (" + what +
                     "; was the file edited?)");
    };
    RunIdentity run;
    const std::string model_tag = ", \"model_file\": {\"bytes\": ";
    const size_t model_at = text.find(model_tag);
    if (!text.starts_with("{\"settings\": ") || model_at == std::string::npos)
        throw not_ours("no settings and model_file");
    run.settings = text.substr(13, model_at - 13);
    const std::string bytes = field(text.substr(model_at), "bytes", ",}");
    if (bytes.empty() || bytes.size() > 19 || bytes.find_first_not_of("0123456789") != std::string::npos)
        throw not_ours("the model file's bytes are '" + bytes + "'");
    run.model.size = std::stoull(bytes);
    run.model.sha256 = field(text.substr(model_at), "sha256", "}").substr(1, 64);
    run.shards = shard_count_of(text.substr(model_at), run_file);
    if (run.shards == 0)
        throw Error(out_dir + " is not split into shards (" + run_file.string() +
                    " has no \"shards\"): its index.csv is already complete; relprop merge is for --shard runs");
    const std::string cwd_hex = field(text, "cwd_hex", ",");
    const std::optional<std::string> cwd =
        cwd_hex.size() >= 2 ? bytes_of_hex(cwd_hex.substr(1, cwd_hex.size() - 2)) : std::nullopt;
    if (!cwd) throw not_ours("cwd_hex is " + (cwd_hex.empty() ? std::string("missing") : cwd_hex));
    run.cwd = *cwd;
    const std::string list = field(text, "inputs_hex", "]");
    for (size_t at = list.find('"'); at != std::string::npos; at = list.find('"', list.find('"', at + 1) + 1)) {
        const size_t end = list.find('"', at + 1);
        const std::optional<std::string> input =
            end == std::string::npos ? std::nullopt : bytes_of_hex(list.substr(at + 1, end - at - 1));
        if (!input) throw not_ours("inputs_hex holds " + list.substr(at) + ", not hex");
        run.inputs.push_back(*input);
    }
    if (run.inputs.empty()) throw not_ours("inputs_hex names no input");
    return run;
}

}  // namespace relprop::cli
