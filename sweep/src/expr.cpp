#include "expr.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace cim::sweep::detail {

Value Value::of(const std::string& s) {
    Value v;
    double d = 0;
    std::string t = s;
    if (!t.empty() && t[0] == '+') t.erase(0, 1);
    const char* end = t.data() + t.size();
    auto [ptr, ec] = std::from_chars(t.data(), end, d);
    if (!t.empty() && ec == std::errc() && ptr == end) {
        v.num = d;
    } else if (s == ".inf" || s == "+.inf") {
        v.num = INFINITY;
    } else if (s == "true" || s == "false") {
        v.num = s == "true" ? 1 : 0;
    } else {
        v.is_text = true;
        v.text = s;
    }
    return v;
}

struct Expr::Parser {
    std::string_view s;
    size_t i = 0;
    Expr& e;

    [[noreturn]] void fail(size_t at, const std::string& msg) { throw ExprError{at, msg}; }
    void skip() {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    }
    bool word(std::string_view w) {
        skip();
        if (s.substr(i, w.size()) != w) return false;
        const size_t j = i + w.size();
        if (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '.')) return false;
        i = j;
        return true;
    }
    bool sym(std::string_view w) {
        skip();
        if (s.substr(i, w.size()) != w) return false;
        i += w.size();
        return true;
    }
    int add(Op op, std::vector<int> kids, size_t at) {
        Node n;
        n.op = op;
        n.kids = std::move(kids);
        n.offset = at;
        e.nodes_.push_back(std::move(n));
        return int(e.nodes_.size()) - 1;
    }

    int parse_or() {
        int a = parse_and();
        for (;;) {
            skip();
            const size_t at = i;
            if (word("or") || sym("||")) a = add(Op::or_, {a, parse_and()}, at);
            else return a;
        }
    }
    int parse_and() {
        int a = parse_not();
        for (;;) {
            skip();
            const size_t at = i;
            if (word("and") || sym("&&")) a = add(Op::and_, {a, parse_not()}, at);
            else return a;
        }
    }
    int parse_not() {
        skip();
        const size_t at = i;
        if (word("not")) return add(Op::not_, {parse_not()}, at);
        if (i < s.size() && s[i] == '!' && (i + 1 >= s.size() || s[i + 1] != '=')) {
            ++i;
            return add(Op::not_, {parse_not()}, at);
        }
        return parse_cmp();
    }
    int parse_cmp() {
        int a = parse_sum();
        skip();
        const size_t at = i;
        static const std::pair<std::string_view, Op> ops[] = {{"<=", Op::le}, {">=", Op::ge}, {"==", Op::eq}, {"!=", Op::ne},
                                                               {"<", Op::lt},  {">", Op::gt}};
        for (const auto& [t, op] : ops)
            if (sym(t)) {
                int b = parse_sum();
                skip();
                if (i < s.size() && (s[i] == '<' || s[i] == '>' || (s[i] == '=' && i + 1 < s.size() && s[i + 1] == '=')))
                    fail(i, "comparisons do not chain; join them with `and`");
                return add(op, {a, b}, at);
            }
        if (sym("=")) fail(at, "`=` is not a comparison; write `==`");
        return a;
    }
    int parse_sum() {
        int a = parse_prod();
        for (;;) {
            skip();
            const size_t at = i;
            if (sym("+")) a = add(Op::add, {a, parse_prod()}, at);
            else if (sym("-")) a = add(Op::sub, {a, parse_prod()}, at);
            else return a;
        }
    }
    int parse_prod() {
        int a = parse_unary();
        for (;;) {
            skip();
            const size_t at = i;
            if (sym("*")) a = add(Op::mul, {a, parse_unary()}, at);
            else if (sym("/")) a = add(Op::div, {a, parse_unary()}, at);
            else if (sym("%")) a = add(Op::mod, {a, parse_unary()}, at);
            else return a;
        }
    }
    int parse_unary() {
        skip();
        const size_t at = i;
        if (sym("-")) return add(Op::neg, {parse_unary()}, at);
        if (sym("+")) return parse_unary();
        int a = parse_atom();
        skip();
        const size_t pat = i;
        if (sym("^") || sym("**")) return add(Op::pow, {a, parse_unary()}, pat);
        return a;
    }
    int parse_atom() {
        skip();
        const size_t at = i;
        if (i >= s.size()) fail(at, "expected a value, a name or `(`; the expression ends here");
        const char c = s[i];
        if (c == '(') {
            ++i;
            int a = parse_or();
            if (!sym(")")) fail(i, "expected `)`");
            return a;
        }
        if (c == '\'' || c == '"') {
            const size_t close = s.find(c, i + 1);
            if (close == std::string_view::npos) fail(at, "unterminated string");
            int n = add(Op::str, {}, at);
            e.nodes_[size_t(n)].str = std::string(s.substr(i + 1, close - i - 1));
            i = close + 1;
            return n;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
            size_t j = i;
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' ||
                                    ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
                ++j;
            const std::string t(s.substr(i, j - i));
            double d = 0;
            auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
            if (ec != std::errc() || ptr != t.data() + t.size()) fail(at, "'" + t + "' is not a number");
            int n = add(Op::num, {}, at);
            e.nodes_[size_t(n)].num = d;
            i = j;
            return n;
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t j = i;
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '.')) ++j;
            const std::string name(s.substr(i, j - i));
            i = j;
            skip();
            if (i < s.size() && s[i] == '(') {
                static const std::pair<const char*, int> funcs[] = {{"log2", 1}, {"log10", 1}, {"ln", 1},   {"exp", 1},
                                                                    {"sqrt", 1}, {"abs", 1},   {"floor", 1}, {"ceil", 1},
                                                                    {"round", 1}, {"min", -2}, {"max", -2}, {"pow", 2}};
                int arity = 0;
                for (const auto& [f, a] : funcs)
                    if (name == f) arity = a;
                if (arity == 0)
                    fail(at, "unknown function '" + name + "' (functions: log2, log10, ln, exp, sqrt, abs, floor, ceil, round, min, max, pow)");
                ++i;
                std::vector<int> args;
                skip();
                if (i < s.size() && s[i] == ')') ++i;
                else {
                    for (;;) {
                        args.push_back(parse_or());
                        if (sym(",")) continue;
                        if (sym(")")) break;
                        fail(i, "expected `,` or `)` in the arguments of " + name);
                    }
                }
                if ((arity > 0 && int(args.size()) != arity) || (arity < 0 && int(args.size()) < -arity))
                    fail(at, fmt::format("{} takes {}{} argument{}", name, arity < 0 ? "at least " : "", std::abs(arity),
                                         std::abs(arity) == 1 ? "" : "s"));
                int n = add(Op::call, std::move(args), at);
                e.nodes_[size_t(n)].str = name;
                return n;
            }
            if (name == "true" || name == "false") {
                int n = add(Op::num, {}, at);
                e.nodes_[size_t(n)].num = name == "true";
                return n;
            }
            int n = add(Op::var, {}, at);
            auto it = std::find(e.names_.begin(), e.names_.end(), name);
            if (it == e.names_.end()) {
                e.names_.push_back(name);
                it = e.names_.end() - 1;
            }
            e.nodes_[size_t(n)].var = int(it - e.names_.begin());
            e.nodes_[size_t(n)].str = name;
            return n;
        }
        fail(at, fmt::format("unexpected '{}'", c));
    }
};

Expr Expr::parse(std::string_view text) {
    Expr e;
    Parser p{text, 0, e};
    e.root_ = p.parse_or();
    p.skip();
    if (p.i < text.size()) p.fail(p.i, fmt::format("unexpected '{}' after a complete expression", text[p.i]));
    return e;
}

Value Expr::eval(const std::vector<Value>& vars) const { return eval(root_, vars); }

Value Expr::eval(int index, const std::vector<Value>& vars) const {
    const Node& n = nodes_[size_t(index)];
    auto num = [](double d) {
        Value v;
        v.num = d;
        return v;
    };
    auto arg = [&](int k) -> Value { return eval(n.kids[size_t(k)], vars); };
    auto number = [&](const Value& v) {
        if (v.is_text) throw ExprError{n.offset, "'" + v.text + "' is a name, not a number; only == and != compare names"};
        return v.num;
    };
    switch (n.op) {
        case Op::num: return num(n.num);
        case Op::str: {
            Value v;
            v.is_text = true;
            v.text = n.str;
            return v;
        }
        case Op::var: return vars[size_t(n.var)];
        case Op::neg: return num(-number(arg(0)));
        case Op::not_: return num(truthy(arg(0)) ? 0 : 1);
        case Op::add: return num(number(arg(0)) + number(arg(1)));
        case Op::sub: return num(number(arg(0)) - number(arg(1)));
        case Op::mul: return num(number(arg(0)) * number(arg(1)));
        case Op::div: return num(number(arg(0)) / number(arg(1)));
        case Op::mod: return num(std::fmod(number(arg(0)), number(arg(1))));
        case Op::pow: return num(std::pow(number(arg(0)), number(arg(1))));
        case Op::lt: return num(number(arg(0)) < number(arg(1)));
        case Op::le: return num(number(arg(0)) <= number(arg(1)));
        case Op::gt: return num(number(arg(0)) > number(arg(1)));
        case Op::ge: return num(number(arg(0)) >= number(arg(1)));
        case Op::eq:
        case Op::ne: {
            const Value a = arg(0), b = arg(1);
            bool eq;
            if (a.is_text || b.is_text) {
                // A name equals the same name; a number written as a name ('4') equals 4.
                const std::string ta = a.is_text ? a.text : fmt::format("{}", a.num);
                const std::string tb = b.is_text ? b.text : fmt::format("{}", b.num);
                eq = ta == tb;
            } else {
                eq = a.num == b.num;
            }
            return num(n.op == Op::eq ? eq : !eq);
        }
        case Op::and_: return num(truthy(arg(0)) && truthy(arg(1)));
        case Op::or_: return num(truthy(arg(0)) || truthy(arg(1)));
        case Op::call: {
            const std::string& f = n.str;
            if (f == "min" || f == "max") {
                double r = number(arg(0));
                for (size_t k = 1; k < n.kids.size(); ++k) r = f == "min" ? std::min(r, number(arg(int(k)))) : std::max(r, number(arg(int(k))));
                return num(r);
            }
            if (f == "pow") return num(std::pow(number(arg(0)), number(arg(1))));
            const double x = number(arg(0));
            if (f == "log2") return num(std::log2(x));
            if (f == "log10") return num(std::log10(x));
            if (f == "ln") return num(std::log(x));
            if (f == "exp") return num(std::exp(x));
            if (f == "sqrt") return num(std::sqrt(x));
            if (f == "abs") return num(std::fabs(x));
            if (f == "floor") return num(std::floor(x));
            if (f == "ceil") return num(std::ceil(x));
            if (f == "round") return num(std::round(x));
            throw ExprError{n.offset, "unknown function " + f};
        }
    }
    throw ExprError{n.offset, "bad expression node"};
}

}  // namespace cim::sweep::detail
