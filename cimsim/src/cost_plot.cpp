// SVG breakdown plots, written directly (no plotting library).
#include <cim/cimsim/cost_plot.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace cim {

namespace {

// Plot colours come from the component table (cost_components.h); string_views of
// string literals, so data() is NUL-terminated.
const char* colour(CostComponent c) { return component_row(c).colour.data(); }
const char* colour(AreaComponent c) { return component_row(c).colour.data(); }



struct Svg {
    std::string s;
    void text(double x, double y, std::string_view t, const char* extra = "") {
        s += fmt::format("<text x='{:.1f}' y='{:.1f}'{}>{}</text>\n", x, y, extra, svg_escape(t));
    }
    void rect(double x, double y, double w, double h, const char* fill, std::string_view title = {}) {
        if (title.empty())
            s += fmt::format("<rect x='{:.2f}' y='{:.1f}' width='{:.2f}' height='{:.1f}' fill='{}'/>\n", x, y, w, h, fill);
        else
            s += fmt::format("<rect x='{:.2f}' y='{:.1f}' width='{:.2f}' height='{:.1f}' fill='{}'><title>{}</title></rect>\n",
                             x, y, w, h, fill, svg_escape(title));
    }
};

// One horizontal bar chart: a row per item, bars scaled to the largest.
struct Bar {
    std::string label;
    std::optional<double> value;  // nullopt: unknown
    const char* colour;
    std::string title;
};
double bar_chart(Svg& svg, double x0, double y0, const std::string& heading, const std::vector<Bar>& bars,
                 const std::function<std::string(double)>& show, double total) {
    const double label_w = 120, bar_w = 220, row = 18;
    svg.text(x0, y0, heading, " font-weight='bold'");
    double vmax = 0;
    for (const Bar& b : bars)
        if (b.value) vmax = std::max(vmax, *b.value);
    double y = y0 + 10;
    for (const Bar& b : bars) {
        svg.text(x0, y + 12, b.label);
        if (!b.value) {
            svg.text(x0 + label_w, y + 12, "unknown: cost not given", " fill='#888' font-style='italic'");
        } else {
            const double w = vmax > 0 ? *b.value / vmax * bar_w : 0;
            svg.rect(x0 + label_w, y + 2, std::max(w, *b.value > 0 ? 0.5 : 0.0), row - 4, b.colour, b.title);
            const std::string pct = total > 0 ? fmt::format(" ({:.1f}%)", 100 * *b.value / total) : "";
            svg.text(x0 + label_w + w + 4, y + 12, show(*b.value) + pct);
        }
        y += row;
    }
    return y;
}


}  // namespace

std::string svg_escape(std::string_view s) {
    std::string o;
    for (char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '\'': o += "&apos;"; break;
            case '"': o += "&quot;"; break;
            default: o += c;
        }
    }
    return o;
}

std::string format_si(double x, const char* unit) {
    if (x == 0) return fmt::format("0 {}", unit);
    static const std::array<std::pair<double, const char*>, 9> p = {
        {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}, {1e-3, "m"}, {1e-6, "u"}, {1e-9, "n"}, {1e-12, "p"}}};
    for (auto [f, pre] : p)
        if (std::abs(x) >= f * 0.9995) return fmt::format("{:.3g} {}{}", x / f, pre, unit);
    return fmt::format("{:.3g} f{}", x * 1e15, unit);
}


std::string cost_breakdown_svg(const CostReport& r, const Mapping& m, const DeviceSpec& d) {
    // Layers worth drawing: those with any cost.
    std::vector<std::size_t> shown;
    for (std::size_t i = 0; i < r.layers.size(); ++i)
        if (r.layers[i].energy_j > 0 || r.layers[i].latency_s > 0) shown.push_back(i);
    const double width = 1000, row = 14;
    const double charts_h = 40 + 18 * double(kCostComponents) + 30;
    const double layers_h = 40 + row * double(shown.size()) + 20;
    const double legend_h = 30 + 16 * std::ceil(double(kCostComponents) / 4.0);
    const double height = 50 + charts_h + layers_h + legend_h;
    Svg svg;
    svg.s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{:.0f}' height='{:.0f}' font-family='sans-serif' "
                        "font-size='11'>\n<rect width='100%' height='100%' fill='white'/>\n",
                        width, height);
    const std::string e_tot = r.energy_j ? format_si(*r.energy_j, "J") : "unknown";
    const std::string l_tot = r.latency_s ? format_si(*r.latency_s, "s") : "unknown";
    svg.text(10, 20, fmt::format("{} on {}: {} per inference, {} per batch of {} (layer by layer)", m.model, d.name, e_tot,
                                 l_tot, r.batch),
             " font-size='13' font-weight='bold'");
    std::string sub = fmt::format("{} arrays on {} chip(s)", m.arrays_used, m.chips);
    if (r.tops_per_w) sub += fmt::format(", {:.3g} TOPS/W", *r.tops_per_w);
    if (r.tops) sub += fmt::format(", {:.3g} TOPS", *r.tops);
    sub += fmt::format(", {:.4g} mm^2", r.area_mm2);
    svg.text(10, 36, sub);

    std::vector<Bar> eb, lb;
    double e_sum = 0, l_sum = 0;
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        const auto c = CostComponent(k);
        const auto& comp = r.components[k];
        const std::string name(to_string(c));
        eb.push_back({name, comp.known ? std::optional(comp.energy_j) : std::nullopt, colour(c), r.info[k].energy_source});
        lb.push_back({name, comp.known ? std::optional(comp.latency_s) : std::nullopt, colour(c), r.info[k].latency_source});
        if (comp.known) {
            e_sum += comp.energy_j;
            l_sum += comp.latency_s;
        }
    }
    double y = 60;
    const double y1 = bar_chart(svg, 10, y, "Energy per inference by component", eb, [](double x) { return format_si(x, "J"); }, e_sum);
    bar_chart(svg, 510, y, "Busy time by component (components overlap)", lb, [](double x) { return format_si(x, "s"); }, 0);
    y = y1 + 30;

    // Per layer.
    svg.text(10, y, "Energy per inference by layer (stacked by component)", " font-weight='bold'");
    svg.text(510, y, "Latency by layer (colour: the component that bounds it)", " font-weight='bold'");
    y += 10;
    double emax = 0, lmax = 0;
    for (std::size_t i : shown) {
        emax = std::max(emax, r.layers[i].energy_j);
        lmax = std::max(lmax, r.layers[i].latency_s);
    }
    const double label_w = 170, bar_w = 240;
    for (std::size_t i : shown) {
        const LayerCost& lc = r.layers[i];
        std::string name = m.layers[i].name;
        if (name.size() > 28) name = "..." + name.substr(name.size() - 25);
        svg.text(10, y + 11, name);
        double x = 10 + label_w;
        for (std::size_t k = 0; k < kCostComponents; ++k) {
            const double e = lc.components[k].energy_j;
            if (e <= 0 || emax <= 0) continue;
            const double w = e / emax * bar_w;
            svg.rect(x, y + 2, w, row - 3, colour(CostComponent(k)),
                     fmt::format("{}: {} {}", m.layers[i].name, to_string(CostComponent(k)), format_si(e, "J")));
            x += w;
        }
        svg.text(x + 4, y + 11, format_si(lc.energy_j, "J"));
        svg.text(510, y + 11, name);
        const double w = lmax > 0 ? lc.latency_s / lmax * bar_w : 0;
        svg.rect(510 + label_w, y + 2, w, row - 3, colour(lc.bound_by),
                 fmt::format("{}: {} bound by {}", m.layers[i].name, format_si(lc.latency_s, "s"), to_string(lc.bound_by)));
        svg.text(510 + label_w + w + 4, y + 11, format_si(lc.latency_s, "s"));
        y += row;
    }
    y += 24;
    svg.text(10, y, "Components", " font-weight='bold'");
    y += 8;
    for (std::size_t k = 0; k < kCostComponents; ++k) {
        const double x = 10 + double(k % 4) * 240, yy = y + 16 * double(k / 4);
        svg.rect(x, yy, 10, 10, colour(CostComponent(k)));
        svg.text(x + 14, yy + 9, to_string(CostComponent(k)));
    }
    svg.s += "</svg>\n";
    return svg.s;
}

std::string peak_breakdown_svg(const PeakFigures& p, const DeviceSpec& d) {
    const double height = 80 + 18 * double(std::max(kCostComponents, kAreaComponents)) + 30;
    Svg svg;
    svg.s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='1000' height='{:.0f}' font-family='sans-serif' "
                        "font-size='11'>\n<rect width='100%' height='100%' fill='white'/>\n",
                        height);
    svg.text(10, 20, fmt::format("{}: peak {:.4g} TOPS, {:.4g} TOPS/W, {:.4g} TOPS/mm^2, {} per chip, {:.4g} mm^2", d.name,
                                 p.tops, p.tops_per_w, p.tops_per_mm2, format_si(p.power_w, "W"), p.area_mm2),
             " font-size='13' font-weight='bold'");
    std::vector<Bar> pb, ab;
    for (std::size_t k = 0; k < kCostComponents; ++k)
        pb.push_back({std::string(to_string(CostComponent(k))), p.power_by_component_w[k], colour(CostComponent(k)), p.info[k].energy_source});
    for (std::size_t k = 0; k < kAreaComponents; ++k)
        ab.push_back({std::string(to_string(AreaComponent(k))), p.area[k].area_mm2, colour(AreaComponent(k)), p.area[k].source});
    bar_chart(svg, 10, 50, "Power at peak by component (one chip)", pb, [](double x) { return format_si(x, "W"); }, p.power_w);
    bar_chart(svg, 510, 50, "Area by component (one chip)", ab, [](double x) { return fmt::format("{:.4g} mm^2", x); },
              p.area_mm2);
    svg.s += "</svg>\n";
    return svg.s;
}

const char* device_colour(std::size_t i) {
    static const char* const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
    return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

std::string comparison_svg(const std::string& model, const std::vector<ComparedDevice>& devices) {
    const double rows = double(devices.size());
    const double panel_h = 30 + 18 * rows;
    Svg svg;
    svg.s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='1000' height='{:.0f}' font-family='sans-serif' "
                        "font-size='11'>\n<rect width='100%' height='100%' fill='white'/>\n",
                        60 + 3 * panel_h);
    svg.text(10, 20, fmt::format("{} on {} devices (bars scaled to the largest; unknown where a device lacks a cost)", model,
                                 devices.size()),
             " font-size='13' font-weight='bold'");
    auto bars = [&](const std::function<std::optional<double>(const CostReport&)>& get) {
        std::vector<Bar> out;
        for (std::size_t i = 0; i < devices.size(); ++i)
            out.push_back({devices[i].name, get(*devices[i].report), device_colour(i), devices[i].name});
        return out;
    };
    auto si_of = [](const char* unit) { return [unit](double x) { return format_si(x, unit); }; };
    auto num_of = [](const char* unit) { return [unit](double x) { return fmt::format("{:.4g} {}", x, unit); }; };
    double y = 50;
    bar_chart(svg, 10, y, "Latency (batch, layer by layer)", bars([](const CostReport& r) { return r.latency_s; }), si_of("s"), 0);
    bar_chart(svg, 510, y, "Energy per inference", bars([](const CostReport& r) { return r.energy_j; }), si_of("J"), 0);
    y += panel_h;
    bar_chart(svg, 10, y, "Throughput", bars([](const CostReport& r) { return r.throughput_inf_per_s; }), num_of("inf/s"), 0);
    bar_chart(svg, 510, y, "TOPS/W", bars([](const CostReport& r) { return r.tops_per_w; }), num_of("TOPS/W"), 0);
    y += panel_h;
    bar_chart(svg, 10, y, "TOPS/mm^2", bars([](const CostReport& r) { return r.tops_per_mm2; }), num_of("TOPS/mm^2"), 0);
    bar_chart(svg, 510, y, "Area (chips in use)",
              bars([](const CostReport& r) { return r.area_mm2 > 0 ? std::optional(r.area_mm2) : std::nullopt; }),
              num_of("mm^2"), 0);
    svg.s += "</svg>\n";
    return svg.s;
}

}  // namespace cim
