// Constraint expressions of a sweep: arithmetic, comparisons and logic over
// axis values and base-device fields, e.g.
//   array.adc.bits <= log2(array.rows) + cell.bits + 1
//   weight.encoding == 'differential' or cell.bits <= 2
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cim::sweep::detail {

// A value: a number, or a name (an enumeration value such as `offset`).
struct Value {
    bool is_text = false;
    double num = 0;
    std::string text;
    static Value of(const std::string& s);  // a number if `s` reads as one, else text
};

struct ExprError {
    size_t offset = 0;  // into the expression text
    std::string message;
};

class Expr {
public:
    // Throws ExprError.
    static Expr parse(std::string_view text);
    // Variable names in order of first use; eval() takes their values in this order.
    const std::vector<std::string>& names() const { return names_; }
    // Throws ExprError (offset of the operator) when text meets arithmetic.
    Value eval(const std::vector<Value>& vars) const;
    static bool truthy(const Value& v) { return v.is_text ? !v.text.empty() : v.num != 0; }

private:
    enum class Op { num, str, var, neg, not_, add, sub, mul, div, mod, pow, lt, le, gt, ge, eq, ne, and_, or_, call };
    struct Node {
        Op op = Op::num;
        double num = 0;
        std::string str;  // literal, or function name
        int var = -1;
        std::vector<int> kids;
        size_t offset = 0;
    };
    struct Parser;
    Value eval(int node, const std::vector<Value>& vars) const;

    std::vector<Node> nodes_;
    int root_ = -1;
    std::vector<std::string> names_;
};

}  // namespace cim::sweep::detail
