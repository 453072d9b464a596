// Constraint expressions: precedence, comparisons, logic, names, functions, errors.
#include <doctest/doctest.h>

#include "expr.h"

#include <cmath>

using cim::sweep::detail::Expr;
using cim::sweep::detail::ExprError;
using cim::sweep::detail::Value;

namespace {
double eval(const std::string& text, const std::vector<std::string>& vars = {}) {
    const Expr e = Expr::parse(text);
    std::vector<Value> values;
    for (const auto& v : vars) values.push_back(Value::of(v));
    REQUIRE(values.size() == e.names().size());
    const Value r = e.eval(values);
    REQUIRE_FALSE(r.is_text);
    return r.num;
}
ExprError error_of(const std::string& text, const std::vector<std::string>& vars = {}) {
    try {
        eval(text, vars);
    } catch (const ExprError& e) {
        return e;
    }
    return {0, "(no error)"};
}
}  // namespace

TEST_CASE("arithmetic and precedence") {
    CHECK(eval("1 + 2 * 3") == 7);
    CHECK(eval("(1 + 2) * 3") == 9);
    CHECK(eval("2 ^ 3 ^ 2") == 512);  // right-associative
    CHECK(eval("-2 ^ 2") == -4);
    CHECK(eval("2 ** 10") == 1024);
    CHECK(eval("7 % 4") == 3);
    CHECK(eval("1e3 / 4") == 250);
    CHECK(eval("log2(1024) + ceil(log2(65)) + floor(2.7) + round(2.5) + abs(-1)") == 10 + 7 + 2 + 3 + 1);
    CHECK(eval("min(3, 1, 2) + max(3, 1, 2) + pow(2, 5) + sqrt(16)") == 1 + 3 + 32 + 4);
    CHECK(eval("ln(exp(2))") == doctest::Approx(2));
}

TEST_CASE("comparisons and logic") {
    CHECK(eval("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 == 1 and 1 != 2") == 1);
    CHECK(eval("1 > 2 or 2 > 1") == 1);
    CHECK(eval("not 1 > 2") == 1);
    CHECK(eval("!(1 > 2) && (1 || 0)") == 1);
    CHECK(eval("true and not false") == 1);
}

TEST_CASE("names take the point's values; names compare as text") {
    CHECK(eval("array.adc.bits <= log2(array.rows) + cell.bits", {"8", "128", "1"}) == 1);
    CHECK(eval("array.adc.bits <= log2(array.rows) + cell.bits", {"9", "128", "1"}) == 0);
    CHECK(eval("weight.encoding == 'offset' or cell.bits <= 2", {"offset", "4"}) == 1);
    CHECK(eval("weight.encoding == \"offset\" or cell.bits <= 2", {"differential", "4"}) == 0);
    CHECK(eval("x == '4'", {"4"}) == 1);
    const Expr e = Expr::parse("a + a * b");
    CHECK(e.names() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("errors carry the offset of the problem") {
    CHECK(error_of("1 +").offset == 3);
    CHECK(error_of("1 + (2").message == "expected `)`");
    CHECK(error_of("a = 1", {}).message == "`=` is not a comparison; write `==`");
    CHECK(error_of("1 < 2 < 3").message == "comparisons do not chain; join them with `and`");
    CHECK(error_of("foo(1)").message.find("unknown function 'foo'") == 0);
    CHECK(error_of("min(1)").message == "min takes at least 2 arguments");
    CHECK(error_of("1 2").message == "unexpected '2' after a complete expression");
    CHECK(error_of("'abc").message == "unterminated string");
    const ExprError e = error_of("x + 1", {"offset"});
    CHECK(e.offset == 2);
    CHECK(e.message == "'offset' is a name, not a number; only == and != compare names");
}
