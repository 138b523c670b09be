// Line plots drawn into an RGB image: see io/plot.h.
#include "io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "relprop/error.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

namespace relprop {

namespace {

constexpr Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225}, kWhite{255, 255, 255};

class Canvas {
public:
    Canvas(int w, int h) : m_img{w, h, 3, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3, 255)} {}

    void set(int x, int y, const Rgb& c) {
        if (x < m_clip_l || y < m_clip_t || x > m_clip_r || y > m_clip_b) return;
        if (x < 0 || y < 0 || x >= m_img.width || y >= m_img.height) return;
        uint8_t* p = &m_img.pixels[(static_cast<size_t>(y) * m_img.width + x) * 3];
        p[0] = c[0];
        p[1] = c[1];
        p[2] = c[2];
    }
    void fill(int x0, int y0, int x1, int y1, const Rgb& c) {  // inclusive
        for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y)
            for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) set(x, y, c);
    }
    void clip(int l, int t, int r, int b) {
        m_clip_l = l;
        m_clip_t = t;
        m_clip_r = r;
        m_clip_b = b;
    }
    void unclip() { clip(-1 << 30, -1 << 30, 1 << 30, 1 << 30); }

    // A 2-px line from (x0, y0) to (x1, y1); dashed: 10 px on, 6 px off, the phase carried in `*run`.
    void line(double x0, double y0, double x1, double y1, const Rgb& c, bool dashed, double* run) {
        const double len = std::hypot(x1 - x0, y1 - y0);
        const int n = std::max(1, static_cast<int>(std::ceil(len * 2)));
        for (int i = 0; i <= n; ++i) {
            const double t = static_cast<double>(i) / n;
            const double along = *run + t * len;
            if (dashed && std::fmod(along, 16.0) >= 10.0) continue;
            const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
            const int y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
            fill(x, y, x + 1, y + 1, c);
        }
        *run += len;
    }

    // Text with its top-left corner at (x, y); vertical: turned 90° counter-clockwise (read upwards),
    // (x, y) is then its bottom-left corner.
    void text(int x, int y, const std::string& s, int scale, const Rgb& c, bool vertical = false) {
        std::string ascii = s;
        for (char& ch : ascii)
            if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '?';
        std::vector<char> buffer(ascii.size() * 1024 + 64);  // a glyph has at most ~12 quads of 64 bytes
        const int quads = stb_easy_font_print(0, 0, ascii.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
        const float* v = reinterpret_cast<const float*>(buffer.data());
        for (int q = 0; q < quads; ++q) {
            // 4 vertices of (x, y, z, rgba) = 4 floats each; vertex 0 and 2 are opposite corners.
            const int qx0 = static_cast<int>(v[q * 16 + 0]) * scale, qy0 = static_cast<int>(v[q * 16 + 1]) * scale;
            const int qx1 = static_cast<int>(v[q * 16 + 8]) * scale - 1, qy1 = static_cast<int>(v[q * 16 + 9]) * scale - 1;
            if (!vertical) fill(x + qx0, y + qy0, x + qx1, y + qy1, c);
            else fill(x + qy0, y - qx0, x + qy1, y - qx1, c);
        }
    }

    Image take() { return std::move(m_img); }

private:
    Image m_img;
    int m_clip_l = -1 << 30, m_clip_t = -1 << 30, m_clip_r = 1 << 30, m_clip_b = 1 << 30;
};

constexpr int kTextHeight = 7;  // stb_easy_font's capital height at scale 1 (descenders: 2 more)

// Ticks at multiples of 1, 2 or 5 × 10^k inside [lo, hi], about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count) {
    const double raw = (hi - lo) / std::max(count, 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    std::vector<double> ticks;
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
        ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return ticks;
}

std::string tick_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

}  // namespace

int PlotFrame::column(double x) const {
    return left + static_cast<int>(std::lround((x - x_min) / (x_max - x_min) * (right - left)));
}
int PlotFrame::row(double y) const {
    return bottom - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * (bottom - top)));
}

Rgb plot_color(size_t index) {
    static const Rgb tab10[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
                                {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
    return tab10[index % 10];
}

int plot_text_width(const std::string& text) {
    std::string ascii = text;
    for (char& ch : ascii)
        if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '?';
    return stb_easy_font_width(ascii.data());
}

Plot plot_lines(const std::vector<PlotSeries>& series, const PlotOptions& o) {
    if (o.width < 200 || o.height < 150 || o.width > 8192 || o.height > 8192)
        throw Error("plot: the size " + std::to_string(o.width) + "x" + std::to_string(o.height) +
                    " is outside 200x150 ... 8192x8192");
    const int s = std::clamp(o.text_scale, 1, 8);
    PlotFrame f;
    bool any = false;
    double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
    for (const PlotSeries& p : series) {
        if (p.x.size() != p.y.size()) throw Error("plot: a series has " + std::to_string(p.x.size()) + " x and " +
                                                  std::to_string(p.y.size()) + " y values");
        for (size_t i = 0; i < p.x.size(); ++i) {
            if (!std::isfinite(p.x[i]) || !std::isfinite(p.y[i])) continue;
            if (!any) {
                x_lo = x_hi = p.x[i];
                y_lo = y_hi = p.y[i];
                any = true;
            }
            x_lo = std::min(x_lo, p.x[i]);
            x_hi = std::max(x_hi, p.x[i]);
            y_lo = std::min(y_lo, p.y[i]);
            y_hi = std::max(y_hi, p.y[i]);
        }
    }
    if (!any) throw Error("plot: no finite point to draw");
    if (x_hi == x_lo) x_hi = x_lo + 1;
    if (y_hi == y_lo) {
        y_lo -= 1;
        y_hi += 1;
    }
    const double pad = 0.05 * (y_hi - y_lo);
    f.x_min = x_lo;
    f.x_max = x_hi;
    f.y_min = y_lo - pad;
    f.y_max = y_hi + pad;

    // Margins: tick labels and the y label on the left, the x label below, the legend on the right.
    const std::vector<double> yt = nice_ticks(f.y_min, f.y_max, 6), xt = nice_ticks(f.x_min, f.x_max, 5);
    int tick_w = 0;
    for (double t : yt) tick_w = std::max(tick_w, plot_text_width(tick_label(t)) * s);
    int legend_w = 0;
    for (const LegendEntry& e : o.legend) legend_w = std::max(legend_w, plot_text_width(e.label) * s + 44);
    const int line_h = (kTextHeight + 5) * s;
    f.left = 10 + line_h + tick_w + 10;
    f.top = o.title.empty() ? 15 : 15 + line_h;
    f.right = o.width - 1 - (legend_w > 0 ? legend_w + 25 : 20);
    f.bottom = o.height - 1 - 2 * line_h - 15;
    if (f.right - f.left < 50 || f.bottom - f.top < 50)
        throw Error("plot: " + std::to_string(o.width) + "x" + std::to_string(o.height) +
                    " leaves no room for the axes (labels or legend too long)");

    Canvas c(o.width, o.height);
    for (double t : yt) c.fill(f.left, f.row(t), f.right, f.row(t), kGrid);
    for (double t : xt) c.fill(f.column(t), f.top, f.column(t), f.bottom, kGrid);
    c.clip(f.left + 1, f.top + 1, f.right - 1, f.bottom - 1);
    for (const PlotSeries& p : series) {
        double run = 0;
        bool have = false;
        double px = 0, py = 0;
        for (size_t i = 0; i < p.x.size(); ++i) {
            if (!std::isfinite(p.x[i]) || !std::isfinite(p.y[i])) {
                have = false;
                continue;
            }
            const double x = f.left + (p.x[i] - f.x_min) / (f.x_max - f.x_min) * (f.right - f.left);
            const double y = f.bottom - (p.y[i] - f.y_min) / (f.y_max - f.y_min) * (f.bottom - f.top);
            if (have) c.line(px, py, x, y, p.color, p.dashed, &run);
            px = x;
            py = y;
            have = true;
        }
    }
    c.unclip();
    // The axes box, ticks and their labels.
    c.fill(f.left, f.top, f.right, f.top, kBlack);
    c.fill(f.left, f.bottom, f.right, f.bottom, kBlack);
    c.fill(f.left, f.top, f.left, f.bottom, kBlack);
    c.fill(f.right, f.top, f.right, f.bottom, kBlack);
    for (double t : yt) {
        c.fill(f.left - 5, f.row(t), f.left, f.row(t), kBlack);
        const std::string l = tick_label(t);
        c.text(f.left - 8 - plot_text_width(l) * s, f.row(t) - kTextHeight * s / 2, l, s, kBlack);
    }
    for (double t : xt) {
        c.fill(f.column(t), f.bottom, f.column(t), f.bottom + 5, kBlack);
        const std::string l = tick_label(t);
        c.text(f.column(t) - plot_text_width(l) * s / 2, f.bottom + 9, l, s, kBlack);
    }
    if (!o.x_label.empty())
        c.text((f.left + f.right) / 2 - plot_text_width(o.x_label) * s / 2, f.bottom + 9 + line_h, o.x_label, s, kBlack);
    if (!o.y_label.empty())
        c.text(10, (f.top + f.bottom) / 2 + plot_text_width(o.y_label) * s / 2, o.y_label, s, kBlack, true);
    if (!o.title.empty())
        c.text(std::max(5, (f.left + f.right) / 2 - plot_text_width(o.title) * s / 2), 10, o.title, s, kBlack);
    // The legend: a line sample and the label per entry, in a box right of the axes.
    if (!o.legend.empty()) {
        const int lx = f.right + 15, ly = f.top;
        const int lh = static_cast<int>(o.legend.size()) * line_h + 10;
        c.fill(lx, ly, lx + legend_w, ly + lh, kWhite);
        c.fill(lx, ly, lx + legend_w, ly, kBlack);
        c.fill(lx, ly + lh, lx + legend_w, ly + lh, kBlack);
        c.fill(lx, ly, lx, ly + lh, kBlack);
        c.fill(lx + legend_w, ly, lx + legend_w, ly + lh, kBlack);
        for (size_t i = 0; i < o.legend.size(); ++i) {
            const int y = ly + 6 + static_cast<int>(i) * line_h + kTextHeight * s / 2;
            double run = 0;
            c.line(lx + 6, y, lx + 34, y, o.legend[i].color, o.legend[i].dashed, &run);
            c.text(lx + 40, y - kTextHeight * s / 2, o.legend[i].label, s, kBlack);
        }
    }
    return {c.take(), f};
}

}  // namespace relprop
