#include "tools/cli/index_rows.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "tools/cli/json.h"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// The complete records of a CSV text (RFC 4180: a quoted field may hold commas, quotes and line
// breaks). A last record without its line end was cut short by an interruption and is left out;
// `cut_short` says whether there was one.
std::vector<std::vector<std::string>> csv_records(const std::string& text, bool* cut_short = nullptr) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted && c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
            fields.back() += '"';
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            fields.emplace_back();
        } else if (c == '\n' && !quoted) {
            records.push_back(std::move(fields));
            fields.assign(1, "");
        } else {
            fields.back() += c;
        }
    }
    if (cut_short) *cut_short = quoted || fields.size() > 1 || !fields[0].empty();
    return records;
}

}  // namespace

const char* const kIndexHeader = "input,sample,name,prediction,target,target_logit,relevance_sum,relevance,heatmap";

std::string csv_line(const Row& r) {
    return csv_field(r.input) + "," + std::to_string(r.sample) + "," + csv_field(r.name) + "," +
           std::to_string(r.prediction) + "," + std::to_string(r.target) + "," + json_number(r.target_logit) + "," +
           json_number(r.relevance_sum) + "," + csv_field(r.relevance) + "," + csv_field(r.heatmap);
}

// The rows of a previous run whose outputs still exist; an input with any output missing is redone
// whole (all rows of its samples dropped), and so is one whose rows are not its samples 0, 1, 2, ...
// once each (a row unreadable, repeated or left out: the file was edited or copied into).
std::vector<Row> read_index(const fs::path& dir, const std::string& file) {
    std::vector<Row> rows;
    std::set<std::string> incomplete;
    std::map<std::string, int64_t> next_sample;  // input → the sample its next row must be
    std::ifstream in(dir / file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool cut_short = false;
    const std::vector<std::vector<std::string>> records = csv_records(text, &cut_short);
    if (records.empty() || csv_records(std::string(kIndexHeader) + "\n")[0] != records[0]) return rows;
    // An append cut short (a kill during its write) may have ended inside the rows of one input (the
    // samples of a .npy batch are appended together): the input of the last whole row is redone too.
    if (cut_short && records.size() > 1) incomplete.insert(records.back()[0]);
    for (size_t k = 1; k < records.size(); ++k) {
        const std::vector<std::string>& f = records[k];
        if (f.size() != 9) {
            incomplete.insert(f[0]);
            continue;
        }
        try {
            Row r{f[0], f[2], f[7], f[8], std::stoll(f[1]), std::stoll(f[3]), std::stoll(f[4]),
                  f[5] == "null" ? NAN : std::stod(f[5]), f[6] == "null" ? NAN : std::stod(f[6])};
            std::error_code ec;
            if (r.sample == next_sample[r.input]++ && fs::exists(dir / r.relevance, ec) &&
                (r.heatmap.empty() || fs::exists(dir / r.heatmap, ec)))
                rows.push_back(r);
            else
                incomplete.insert(r.input);
        } catch (const std::exception&) {
            incomplete.insert(f[0]);
        }
    }
    std::erase_if(rows, [&](const Row& r) { return incomplete.count(r.input) > 0; });
    return rows;
}

std::string index_csv(const std::vector<Row>& rows) {
    std::string text = std::string(kIndexHeader) + "\n";
    for (const Row& r : rows) text += csv_line(r) + "\n";
    return text;
}

std::string index_json(const std::string& settings, const std::vector<Row>& rows) {
    std::string s = "{\n  \"settings\": " + settings + ",\n  \"samples\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        s += "    {" + json_name("input", r.input) + ", \"sample\": " + std::to_string(r.sample) + ", " +
             json_name("name", r.name) + ", \"prediction\": " + std::to_string(r.prediction) +
             ", \"target\": " + std::to_string(r.target) + ", \"target_logit\": " + json_number(r.target_logit) +
             ", \"relevance_sum\": " + json_number(r.relevance_sum) + ", " + json_name("relevance", r.relevance) +
             ", " + (r.heatmap.empty() ? std::string("\"heatmap\": null") : json_name("heatmap", r.heatmap)) + "}" +
             (i + 1 < rows.size() ? "," : "") + "\n";
    }
    return s + "  ]\n}\n";
}

}  // namespace relprop::cli
