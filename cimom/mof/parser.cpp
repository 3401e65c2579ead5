#include "cimom/mof/parser.hpp"

#include <array>
#include <string>
#include <utility>

#include "cimom/mof/lexer.hpp"
#include "cimom/mof/literal.hpp"
#include "common/text.hpp"

namespace vsnapd::cim::mof {

namespace {

struct type_keyword {
  std::string_view name;
  ast::data_type type;
};

constexpr std::array<type_keyword, 14> type_keywords{{
    {"boolean", ast::data_type::boolean},
    {"uint8", ast::data_type::uint8},
    {"sint8", ast::data_type::sint8},
    {"uint16", ast::data_type::uint16},
    {"sint16", ast::data_type::sint16},
    {"uint32", ast::data_type::uint32},
    {"sint32", ast::data_type::sint32},
    {"uint64", ast::data_type::uint64},
    {"sint64", ast::data_type::sint64},
    {"real32", ast::data_type::real32},
    {"real64", ast::data_type::real64},
    {"char16", ast::data_type::char16},
    {"string", ast::data_type::string},
    {"datetime", ast::data_type::datetime},
}};

struct flavor_keyword {
  std::string_view name;
  std::uint8_t bit;
};

constexpr std::array<flavor_keyword, 5> flavor_keywords{{
    {"EnableOverride", ast::flavor_enable_override},
    {"DisableOverride", ast::flavor_disable_override},
    {"ToSubclass", ast::flavor_to_subclass},
    {"Restricted", ast::flavor_restricted},
    {"Translatable", ast::flavor_translatable},
}};

struct scope_keyword {
  std::string_view name;
  std::uint16_t bit;
};

constexpr std::array<scope_keyword, 9> scope_keywords{{
    {"class", ast::scope_class},
    {"association", ast::scope_association},
    {"indication", ast::scope_indication},
    {"qualifier", ast::scope_qualifier},
    {"property", ast::scope_property},
    {"reference", ast::scope_reference},
    {"method", ast::scope_method},
    {"parameter", ast::scope_parameter},
    {"any", ast::scope_any},
}};

constexpr std::size_t max_errors_per_file = 50;

class parser {
 public:
  parser(std::uint32_t file, std::string_view text, text_arena& arena, diagnostics& diags)
      : lex_(file, text, diags), file_(file), arena_(arena), diags_(diags) {
    cur_ = lex_.next();
    next_ = lex_.next();
  }

  std::vector<production> run() {
    std::vector<production> out;
    const std::size_t errors_before = diags_.error_count();
    while (cur_.kind != token_kind::end) {
      if (!production_into(out)) {
        if (diags_.error_count() - errors_before >= max_errors_per_file) {
          diags_.error(here(), "too many errors in this file; giving up on the rest of it");
          break;
        }
        recover();
      }
    }
    return out;
  }

 private:
  // ---- token helpers ----

  source_location here() const { return {file_, cur_.line, cur_.column}; }
  source_location at(const token& t) const { return {file_, t.line, t.column}; }

  void advance() {
    if (cur_.kind == token_kind::lbrace) {
      ++depth_;
    } else if (cur_.kind == token_kind::rbrace && depth_ > 0) {
      --depth_;
    }
    cur_ = next_;
    next_ = lex_.next();
  }

  bool is(token_kind k) const { return cur_.kind == k; }
  bool is_keyword(std::string_view kw) const {
    return cur_.kind == token_kind::identifier && iequals(cur_.text, kw);
  }

  static std::string describe(const token& t) {
    switch (t.kind) {
      case token_kind::identifier:
      case token_kind::integer:
      case token_kind::real:
        return "'" + std::string(t.text) + "'";
      case token_kind::string:
        return t.text.size() > 40 ? "a string" : std::string(t.text);
      case token_kind::alias:
        return "'$" + std::string(t.text) + "'";
      case token_kind::char16:
        return std::string(t.text);
      default:
        return std::string(to_string(t.kind));
    }
  }

  // Reports "expected <what>, found <token>" unless the lexer already reported this token.
  bool fail(std::string_view what) {
    if (cur_.kind != token_kind::invalid) {
      diags_.error(here(), "expected " + std::string(what) + ", found " + describe(cur_));
    }
    return false;
  }

  bool expect(token_kind k, std::string_view what) {
    if (!is(k)) {
      return fail(what);
    }
    advance();
    return true;
  }

  bool expect_identifier(std::string_view what, std::string_view& name, source_location& where) {
    if (!is(token_kind::identifier)) {
      return fail(what);
    }
    name = cur_.text;
    where = here();
    advance();
    return true;
  }

  // Skips to just after the ';' that ends the broken production at brace depth 0, so the next
  // production starts cleanly even when the error was deep inside a class body.
  void recover() {
    while (!is(token_kind::end)) {
      if (depth_ == 0 && is(token_kind::semicolon)) {
        advance();
        return;
      }
      advance();
    }
  }

  // ---- productions ----

  // mofProduction: a compiler directive, a qualifier declaration, or a class or instance
  // declaration optionally preceded by a qualifier list. Only after the list do we know which.
  bool production_into(std::vector<production>& out) {
    if (is(token_kind::hash)) {
      ast::pragma p;
      if (!pragma(p)) {
        return false;
      }
      out.emplace_back(std::move(p));
      return true;
    }
    if (is_keyword("qualifier")) {
      ast::qualifier_decl q;
      if (!qualifier_declaration(q)) {
        return false;
      }
      out.emplace_back(std::move(q));
      return true;
    }
    ast::qualifier_list quals;
    if (is(token_kind::lbracket) && !qualifier_list(quals)) {
      return false;
    }
    if (is_keyword("class") || is_keyword("association") || is_keyword("indication")) {
      ast::class_decl c;
      c.qualifiers = std::move(quals);
      if (!class_declaration(c)) {
        return false;
      }
      out.emplace_back(std::move(c));
      return true;
    }
    if (is_keyword("instance")) {
      ast::instance_decl i;
      i.qualifiers = std::move(quals);
      if (!instance_declaration(i)) {
        return false;
      }
      out.emplace_back(std::move(i));
      return true;
    }
    return fail(quals.empty()
                    ? "a class, instance or qualifier declaration, or '#pragma'"
                    : "'class', 'association', 'indication' or 'instance' after a qualifier list");
  }

  // compilerDirective = "#" PRAGMA name "(" string ")". The value may be several adjacent
  // string literals, like any string value.
  bool pragma(ast::pragma& p) {
    p.where = here();
    advance();  // '#'
    if (!is_keyword("pragma")) {
      return fail("'pragma' after '#'");
    }
    advance();
    source_location name_where;
    if (!expect_identifier("a pragma name", p.name, name_where) ||
        !expect(token_kind::lparen, "'(' after the pragma name")) {
      return false;
    }
    p.value_where = here();
    if (!is(token_kind::string)) {
      return fail("a string pragma parameter");
    }
    ast::value v;
    if (!string_value(v)) {
      return false;
    }
    p.value = v.text;
    return expect(token_kind::rparen, "')' after the pragma parameter");
  }

  // Flavors appear as Flavor(a, b) in declarations and, in the older syntax some schemas still
  // use, as ": a b" after a qualifier value. Conflicts are checked by the compiler.
  bool flavor_list(std::uint8_t& flavors, bool parenthesized) {
    // parenthesized: "(" flavor *("," flavor) ")"; otherwise 1*flavor (old ':' syntax).
    for (;;) {
      bool found = false;
      for (const auto& f : flavor_keywords) {
        if (is_keyword(f.name)) {
          flavors |= f.bit;
          found = true;
          break;
        }
      }
      if (!found) {
        return fail(
            "a flavor (EnableOverride, DisableOverride, ToSubclass, Restricted or Translatable)");
      }
      advance();
      if (!parenthesized) {
        if (!is(token_kind::identifier)) {
          return true;
        }
        continue;
      }
      if (is(token_kind::rparen)) {
        advance();
        return true;
      }
      if (!expect(token_kind::comma, "',' or ')' in the flavor list")) {
        return false;
      }
    }
  }

  // qualifierDeclaration = QUALIFIER name ":" dataType [array] ["=" initializer]
  //                        "," SCOPE "(" scope *("," scope) ")" ["," FLAVOR "(" ... ")"] ";"
  // The scope part is mandatory: OpenPegasus's badQualifierDecl20 expects it to be demanded.
  bool qualifier_declaration(ast::qualifier_decl& q) {
    advance();  // 'qualifier'
    if (!expect_identifier("a qualifier name", q.name, q.where) ||
        !expect(token_kind::colon, "':' and the type of the qualifier")) {
      return false;
    }
    if (!data_type_only(q.type, "a qualifier type (boolean, string, uint32, ...)")) {
      return false;
    }
    if (is(token_kind::lbracket) && !array_suffix(q.type)) {
      return false;
    }
    if (is(token_kind::equals)) {
      advance();
      ast::value v;
      if (!initializer(v)) {
        return false;
      }
      q.default_value = std::move(v);
    }
    if (!is(token_kind::comma)) {
      return fail("', Scope(...)' after the qualifier type (a scope definition is required)");
    }
    advance();
    if (!is_keyword("scope")) {
      return fail("'Scope' in the qualifier declaration");
    }
    advance();
    if (!expect(token_kind::lparen, "'(' after 'Scope'")) {
      return false;
    }
    for (;;) {
      bool found = false;
      for (const auto& s : scope_keywords) {
        if (is_keyword(s.name)) {
          q.scopes |= s.bit;
          found = true;
          break;
        }
      }
      if (!found) {
        return fail(
            "a scope (class, association, indication, qualifier, property, reference, method, "
            "parameter or any)");
      }
      advance();
      if (is(token_kind::rparen)) {
        advance();
        break;
      }
      if (!expect(token_kind::comma, "',' or ')' in the scope list")) {
        return false;
      }
    }
    if (is(token_kind::comma)) {
      advance();
      if (!is_keyword("flavor")) {
        return fail("'Flavor' after ',' in the qualifier declaration");
      }
      advance();
      if (!expect(token_kind::lparen, "'(' after 'Flavor'") || !flavor_list(q.flavors, true)) {
        return false;
      }
    }
    return expect(token_kind::semicolon, "';' at the end of the qualifier declaration");
  }

  // qualifierList = "[" qualifier *("," qualifier) "]"; a qualifier's value is written in
  // parentheses, or directly as an array initializer (ValueMap {"1", "2"}).
  bool qualifier_list(ast::qualifier_list& quals) {
    advance();  // '['
    for (;;) {
      ast::qualifier q;
      if (!expect_identifier("a qualifier name", q.name, q.where)) {
        return false;
      }
      if (is(token_kind::lparen)) {
        advance();
        ast::value v;
        if (!initializer(v)) {
          return false;
        }
        q.argument = std::move(v);
        if (!expect(token_kind::rparen, "')' after the qualifier value")) {
          return false;
        }
      } else if (is(token_kind::lbrace)) {
        ast::value v;
        if (!array_initializer(v)) {
          return false;
        }
        q.argument = std::move(v);
      }
      if (is(token_kind::colon)) {
        advance();
        if (!flavor_list(q.flavors, false)) {
          return false;
        }
      }
      quals.push_back(std::move(q));
      if (is(token_kind::rbracket)) {
        advance();
        return true;
      }
      if (!expect(token_kind::comma, "',' or ']' in the qualifier list")) {
        return false;
      }
    }
  }

  bool data_type_only(ast::type_ref& t, std::string_view what) {
    if (is(token_kind::identifier)) {
      for (const auto& k : type_keywords) {
        if (iequals(cur_.text, k.name)) {
          t.type = k.type;
          t.where = here();
          advance();
          return true;
        }
      }
    }
    return fail(what);
  }

  // "[" [size] "]" after a property or parameter name: unbounded or fixed-size array.
  bool array_suffix(ast::type_ref& t) {
    advance();  // '['
    t.is_array = true;
    if (is(token_kind::integer)) {
      const integer_literal n = parse_integer_literal(cur_.text);
      if (n.negative || n.overflow || n.magnitude == 0 || n.magnitude > UINT32_MAX) {
        diags_.error(here(), "expected a positive array size, found " + describe(cur_));
        return false;
      }
      t.array_size = static_cast<std::uint32_t>(n.magnitude);
      advance();
    }
    return expect(token_kind::rbracket, "']' to close the array dimension");
  }

  // classDeclaration = (CLASS | ASSOCIATION | INDICATION) name [AS $alias] [":" superclass]
  //                    "{" *classFeature "}" ";"
  bool class_declaration(ast::class_decl& c) {
    if (is_keyword("association")) {
      c.keyword = ast::class_keyword::association;
    } else if (is_keyword("indication")) {
      c.keyword = ast::class_keyword::indication;
    }
    advance();
    if (!expect_identifier("a class name", c.name, c.where)) {
      return false;
    }
    if (is_keyword("as")) {
      advance();
      if (!is(token_kind::alias)) {
        return fail("an alias ($name) after 'as'");
      }
      c.alias = cur_.text;
      advance();
    }
    if (is(token_kind::colon)) {
      advance();
      if (!expect_identifier("a superclass name after ':'", c.superclass, c.superclass_where)) {
        return false;
      }
    }
    if (!expect(token_kind::lbrace, "'{' to start the class body")) {
      return false;
    }
    while (!is(token_kind::rbrace)) {
      if (!class_feature(c)) {
        return false;
      }
    }
    advance();  // '}'
    return expect(token_kind::semicolon, "';' after the class body '}'");
  }

  // dataType, or `ClassName REF`.
  // A feature starts with its type. "X REF" needs one token of lookahead: X is a class name
  // then, even when it happens to spell a data type keyword.
  bool feature_type(ast::type_ref& t) {
    if (!is(token_kind::identifier)) {
      return fail("a data type, a 'ClassName REF' or '}'");
    }
    const bool followed_by_ref = next_.kind == token_kind::identifier && iequals(next_.text, "ref");
    if (!followed_by_ref) {
      for (const auto& k : type_keywords) {
        if (iequals(cur_.text, k.name)) {
          t.type = k.type;
          t.where = here();
          advance();
          return true;
        }
      }
      diags_.error(here(),
                   "expected a data type (boolean, string, uint32, datetime, ...) or "
                   "'ClassName REF', found " +
                       describe(cur_));
      return false;
    }
    t.type = ast::data_type::reference;
    t.ref_class = cur_.text;
    t.where = here();
    advance();
    advance();  // REF
    return true;
  }

  // classFeature = [qualifierList] type name, then "(" parameters ")" for a method, or
  // [array] ["=" initializer] for a property or reference; ";" ends both.
  bool class_feature(ast::class_decl& c) {
    ast::qualifier_list quals;
    if (is(token_kind::lbracket) && !qualifier_list(quals)) {
      return false;
    }
    ast::type_ref type;
    if (!feature_type(type)) {
      return false;
    }
    std::string_view name;
    source_location where;
    if (!expect_identifier("a property or method name", name, where)) {
      return false;
    }
    if (is(token_kind::lparen)) {
      ast::method m;
      m.qualifiers = std::move(quals);
      m.return_type = type;
      m.name = name;
      m.where = where;
      advance();
      if (!is(token_kind::rparen)) {
        for (;;) {
          ast::parameter p;
          if (!parameter(p)) {
            return false;
          }
          m.parameters.push_back(std::move(p));
          if (is(token_kind::rparen)) {
            break;
          }
          if (!expect(token_kind::comma, "',' or ')' in the parameter list")) {
            return false;
          }
        }
      }
      advance();  // ')'
      if (!expect(token_kind::semicolon, "';' after the method declaration")) {
        return false;
      }
      c.methods.push_back(std::move(m));
      return true;
    }
    ast::property p;
    p.qualifiers = std::move(quals);
    p.type = type;
    p.name = name;
    p.where = where;
    if (is(token_kind::lbracket) && !array_suffix(p.type)) {
      return false;
    }
    if (is(token_kind::equals)) {
      advance();
      ast::value v;
      if (!initializer(v)) {
        return false;
      }
      p.default_value = std::move(v);
    }
    if (!expect(token_kind::semicolon,
                p.default_value ? "';' after the default value"
                                : "'=', '[' or ';' after the property name, or '(' for a method")) {
      return false;
    }
    c.properties.push_back(std::move(p));
    return true;
  }

  bool parameter(ast::parameter& p) {
    if (is(token_kind::lbracket) && !qualifier_list(p.qualifiers)) {
      return false;
    }
    if (!feature_type(p.type) || !expect_identifier("a parameter name", p.name, p.where)) {
      return false;
    }
    if (is(token_kind::lbracket) && !array_suffix(p.type)) {
      return false;
    }
    if (is(token_kind::equals)) {
      advance();
      ast::value v;
      if (!initializer(v)) {
        return false;
      }
      p.default_value = std::move(v);
    }
    return true;
  }

  // instanceDeclaration = INSTANCE OF class [AS $alias] "{" *([quals] name "=" value ";") "}" ";"
  bool instance_declaration(ast::instance_decl& i) {
    advance();  // 'instance'
    if (!is_keyword("of")) {
      return fail("'of' after 'instance'");
    }
    advance();
    if (!expect_identifier("a class name after 'instance of'", i.class_name, i.where)) {
      return false;
    }
    if (is_keyword("as")) {
      advance();
      if (!is(token_kind::alias)) {
        return fail("an alias ($name) after 'as'");
      }
      i.alias = cur_.text;
      i.alias_where = here();
      advance();
    }
    if (!expect(token_kind::lbrace, "'{' to start the instance body")) {
      return false;
    }
    while (!is(token_kind::rbrace)) {
      ast::property_value pv;
      if (is(token_kind::lbracket) && !qualifier_list(pv.qualifiers)) {
        return false;
      }
      if (!expect_identifier("a property name or '}'", pv.name, pv.where) ||
          !expect(token_kind::equals, "'=' after the property name")) {
        return false;
      }
      if (!initializer(pv.val) || !expect(token_kind::semicolon, "';' after the property value")) {
        return false;
      }
      i.values.push_back(std::move(pv));
    }
    advance();  // '}'
    return expect(token_kind::semicolon, "';' after the instance body '}'");
  }

  // ---- values ----

  bool initializer(ast::value& v) {
    if (is(token_kind::lbrace)) {
      return array_initializer(v);
    }
    return constant_value(v);
  }

  bool array_initializer(ast::value& v) {
    v.k = ast::value::kind::array;
    v.where = here();
    advance();  // '{'
    if (is(token_kind::rbrace)) {
      advance();
      return true;
    }
    for (;;) {
      ast::value e;
      if (!constant_value(e)) {
        return false;
      }
      v.elements.push_back(std::move(e));
      if (is(token_kind::rbrace)) {
        advance();
        return true;
      }
      if (!expect(token_kind::comma, "',' or '}' in the array value")) {
        return false;
      }
    }
  }

  // One literal. Integers keep their lexeme and exact magnitude; the target type (known only
  // to the compiler) decides the range check. Aliases are references to instances.
  bool constant_value(ast::value& v) {
    v.where = here();
    switch (cur_.kind) {
      case token_kind::integer: {
        const integer_literal n = parse_integer_literal(cur_.text);
        v.k = ast::value::kind::integer;
        v.negative = n.negative;
        v.overflow = n.overflow;
        v.magnitude = n.magnitude;
        v.text = cur_.text;
        advance();
        return true;
      }
      case token_kind::real:
        v.k = ast::value::kind::real;
        v.real = parse_real_literal(cur_.text);
        v.text = cur_.text;
        advance();
        return true;
      case token_kind::string:
        return string_value(v);
      case token_kind::char16: {
        const std::string_view body = cur_.text.substr(1, cur_.text.size() - 2);
        if (!decode_char16_body(body, v.ch)) {
          diags_.error(here(), "expected exactly one character or escape in the char16 literal " +
                                   std::string(cur_.text));
          return false;
        }
        v.k = ast::value::kind::char16;
        v.text = cur_.text;
        advance();
        return true;
      }
      case token_kind::alias:
        v.k = ast::value::kind::alias;
        v.text = cur_.text;
        advance();
        return true;
      case token_kind::identifier:
        if (iequals(cur_.text, "true") || iequals(cur_.text, "false")) {
          v.k = ast::value::kind::boolean;
          v.boolean = iequals(cur_.text, "true");
          advance();
          return true;
        }
        if (iequals(cur_.text, "null")) {
          v.k = ast::value::kind::null;
          advance();
          return true;
        }
        break;
      default:
        break;
    }
    return fail("a value (number, string, char16, TRUE, FALSE, NULL, $alias or {array})");
  }

  // One or more adjacent string literals, concatenated (DSP0004: 1*stringValue). Strings
  // without escapes in a single part stay views into the source text.
  bool string_value(ast::value& v) {
    v.k = ast::value::kind::string;
    v.where = here();
    const token first = cur_;
    advance();
    const std::string_view first_body = first.text.substr(1, first.text.size() - 2);
    if (!is(token_kind::string) && first_body.find('\\') == std::string_view::npos) {
      v.text = first_body;
      return true;
    }
    scratch_.clear();
    decode_part(first, first_body);
    while (is(token_kind::string)) {
      decode_part(cur_, cur_.text.substr(1, cur_.text.size() - 2));
      advance();
    }
    v.text = arena_.store(scratch_);
    return true;
  }

  void decode_part(const token& t, std::string_view body) {
    std::size_t offset = 0;
    const escape_status s = decode_string_body(body, scratch_, offset);
    if (s == escape_status::ok) {
      return;
    }
    source_location where = at(t);
    where.column += static_cast<std::uint32_t>(offset + 1);
    const std::string_view esc = body.substr(offset, 2);
    diags_.warning(where, s == escape_status::unknown_escape
                              ? "unknown escape sequence '" + std::string(esc) +
                                    "' (expected \\b \\t \\n \\f \\r \\\" \\' \\\\ or \\x/\\X and "
                                    "hex digits); the character is kept"
                              : "expected 1 to 4 hex digits after '" + std::string(esc) +
                                    "'; the letter is kept");
  }

  lexer lex_;
  std::uint32_t file_;
  text_arena& arena_;
  diagnostics& diags_;
  token cur_;
  token next_;
  std::string scratch_;
  int depth_ = 0;  // '{' nesting of the tokens consumed so far
};

}  // namespace

std::vector<production> parse(std::uint32_t file, std::string_view text, text_arena& arena,
                              diagnostics& diags) {
  return parser(file, text, arena, diags).run();
}

}  // namespace vsnapd::cim::mof
