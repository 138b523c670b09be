// The rows of `relprop explain --out-dir`'s index: one per sample (input, sample, name, prediction,
// target, target logit, relevance sum, relevance .npy, heatmap .png), as index.csv lines (RFC 4180
// quoting, so any file name reads back exactly) and as index.json. Sharded runs keep the same rows in
// index.shard-K-of-N.csv, which `relprop merge` joins into index.csv.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace relprop::cli {

struct Row {
    std::string input, name, relevance, heatmap;
    int64_t sample = 0, prediction = 0, target = 0;
    double target_logit = 0, relevance_sum = 0;
};

// index.csv's first line (without its line end).
extern const char* const kIndexHeader;

// One CSV line (without its line end).
std::string csv_line(const Row& r);

// The header and every row, each with its line end: a whole index file.
std::string index_csv(const std::vector<Row>& rows);

// The rows of `dir/file` whose outputs still exist in `dir`; an input with any output missing, or whose
// rows are not its samples 0, 1, 2, ... once each (a row unreadable or repeated), is left out whole
// (all rows of its samples), and so is a last line cut short, with the input of the row before it (an
// append cut short may have ended inside one input's rows). A missing file has no rows.
std::vector<Row> read_index(const std::filesystem::path& dir, const std::string& file);

// index.json: the settings (a JSON object) and the rows.
std::string index_json(const std::string& settings, const std::vector<Row>& rows);

}  // namespace relprop::cli
