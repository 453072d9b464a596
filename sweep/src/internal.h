// Shared between the sweep library's sources.
#pragma once

#include <cim/sweep/sweep.h>

#include "expr.h"

#include <string>
#include <vector>

namespace cim::sweep {

// One compiled constraint: the expression and where each of its names comes from.
struct Constraints {
    struct Binding {
        enum Kind { axis, model, constant } kind = constant;
        int axis_index = -1;
        int path_index = -1;  // a zipped axis's path named by the expression; -1: the axis value
        detail::Value value;  // constant
    };
    struct One {
        std::string text;
        int line = 0, col = 0;
        detail::Expr expr;
        std::vector<Binding> bindings;  // per expr.names()
    };
    std::vector<One> list;
};

// The most points a sweep may hold (device configurations proposed x models): the point table is
// kept in memory and every point is evaluated. Larger spaces are sampled (random, latin_hypercube).
inline constexpr int64_t kMaxPoints = 1'000'000;

namespace detail {
const std::vector<std::string>& cost_metric_names();
const std::vector<std::string>& accuracy_metric_names();
// 64-bit FNV-1a.
uint64_t fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull);
// Edit distance and the closest candidate (for "did you mean").
std::string closest(const std::string& word, const std::vector<std::string>& candidates);
std::string format_number(double v);  // %.9g, as the CSV writes metrics
}  // namespace detail

}  // namespace cim::sweep
