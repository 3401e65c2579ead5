// Recursive-descent parser for WQL and the CQL subset. Grammar (keywords case-insensitive):
//
//   query      := select | assoc
//   select     := SELECT list FROM class [[AS] alias] [WHERE or] END
//   list       := '*' | item (',' item)*
//   item       := [scope '.'] ('*' | [class '::'] name)
//   assoc      := (ASSOCIATORS | REFERENCES) OF '{' path '}' [WHERE keyword*] END
//   or         := and (OR and)*
//   and        := not (AND not)*
//   not        := NOT not | '(' or ')' | predicate
//   predicate  := operand (cmp operand | IS [NOT] NULL | [NOT] LIKE string | ISA class)
//   operand    := literal | ['-'] number | property
//   property   := [scope '.'] [class '::'] name
//
// Everything else that SQL-like languages allow gets a diagnostic naming the construct.

#include "cimom/name.hpp"
#include "cimom/query/detail/ast.hpp"
#include "cimom/query/detail/lexer.hpp"
#include "cimom/query/query.hpp"

#include <algorithm>
#include <limits>

namespace vsnapd::cim {

// Fills the private fields of a query; the only friend of `query`.
class query_builder {
 public:
  query_builder(query_language lang, std::string_view text, std::vector<ql::token> toks)
      : lang_(lang), toks_(std::move(toks)) {
    q_.language_ = lang;
    q_.text_ = std::string(text);
  }

  result<query> run();

 private:
  const ql::token& peek(std::size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  const ql::token& take() {
    const ql::token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) {
      ++pos_;
    }
    return t;
  }
  bool is_kw(const ql::token& t, std::string_view kw) const {
    return t.kind == ql::tok::identifier && iequals(t.text, kw);
  }
  bool is_punct(const ql::token& t, std::string_view p) const {
    return t.kind == ql::tok::punct && t.text == p;
  }
  bool accept_kw(std::string_view kw) {
    if (is_kw(peek(), kw)) {
      take();
      return true;
    }
    return false;
  }
  bool accept_punct(std::string_view p) {
    if (is_punct(peek(), p)) {
      take();
      return true;
    }
    return false;
  }
  error err(const ql::token& t, std::string_view what) const {
    return ql::query_error(lang_, t.column, what);
  }
  error err(std::size_t column, std::string_view what) const {
    return ql::query_error(lang_, column, what);
  }
  // "unexpected 'x'" or "unexpected end of query", with what was expected.
  error unexpected(const ql::token& t, std::string_view expected) const;
  // Diagnostics for constructs we recognize but do not support, at the token that starts them.
  std::optional<error> unsupported_clause(const ql::token& t) const;

  result<void> parse_select();
  result<void> parse_select_item();
  result<void> parse_association(query_kind kind);
  result<std::string> parse_class_name(std::string_view what, bool allow_string = false);
  result<ql::expr> parse_or();
  result<ql::expr> parse_and();
  result<ql::expr> parse_not();
  result<ql::expr> parse_predicate();
  result<ql::operand> parse_operand();
  result<ql::operand> parse_property();
  // True when `name` is the FROM class or the alias, i.e. a legal scope prefix.
  bool is_scope(std::string_view name) const {
    return name_equal(name, q_.from_class_) || (!q_.alias_.empty() && name_equal(name, q_.alias_));
  }

  query_language lang_;
  std::vector<ql::token> toks_;
  std::size_t pos_ = 0;
  query q_;
  // SELECT list items seen before FROM names the scope; checked once the FROM class is known.
  struct pending_item {
    std::string scope;
    std::string name;
    const ql::token* at;
  };
  std::vector<pending_item> items_;
  static constexpr std::size_t max_depth = 100;
  std::size_t depth_ = 0;  // NOT and '(' levels currently open
};

namespace {

struct sys_name {
  std::string_view name;
  ql::system_property p;
};
constexpr sys_name system_properties[] = {
    {"__CLASS", ql::system_property::class_},    {"__SUPERCLASS", ql::system_property::superclass},
    {"__DYNASTY", ql::system_property::dynasty}, {"__NAMESPACE", ql::system_property::namespace_},
    {"__RELPATH", ql::system_property::relpath}, {"__PATH", ql::system_property::path},
    {"__GENUS", ql::system_property::genus},     {"__THIS", ql::system_property::this_},
};

constexpr std::string_view aggregates[] = {"COUNT", "SUM", "AVG", "MIN", "MAX"};

// Keywords that end an operand list; a property may not be named like them.
constexpr std::string_view reserved[] = {"SELECT", "FROM",  "WHERE",  "AND",  "OR",     "NOT",
                                         "IS",     "LIKE",  "ISA",    "NULL", "TRUE",   "FALSE",
                                         "ORDER",  "GROUP", "HAVING", "JOIN", "WITHIN", "OF"};

// Reserved words are never taken as names. WQL and CQL reserve more than this, but these are
// the ones whose misreading as a property or alias would turn an error into a wrong query
// (`FROM X WHERE` must not read WHERE as an alias).
bool is_reserved(std::string_view s) {
  return std::any_of(std::begin(reserved), std::end(reserved),
                     [&](std::string_view r) { return iequals(r, s); });
}

}  // namespace

error query_builder::unexpected(const ql::token& t, std::string_view expected) const {
  if (t.kind == ql::tok::end) {
    return err(t, "unexpected end of query, expected " + std::string(expected));
  }
  std::string spelled = t.kind == ql::tok::string ? "'" + t.text + "'" : t.text;
  if (t.kind == ql::tok::path) {
    spelled = "{" + t.text + "}";
  }
  return err(t, "unexpected " + spelled + ", expected " + std::string(expected));
}

std::optional<error> query_builder::unsupported_clause(const ql::token& t) const {
  if (is_kw(t, "ORDER")) {
    return err(t, "ORDER BY is not supported");
  }
  if (is_kw(t, "GROUP")) {
    return err(t, "GROUP BY (event query grouping) is not supported");
  }
  if (is_kw(t, "HAVING")) {
    return err(t, "HAVING is not supported");
  }
  if (is_kw(t, "WITHIN")) {
    return err(t, "event queries (WITHIN) are not supported");
  }
  if (is_kw(t, "JOIN") || is_kw(t, "INNER") || is_kw(t, "LEFT") || is_kw(t, "RIGHT") ||
      is_kw(t, "CROSS") || is_kw(t, "OUTER")) {
    return err(t, "joins are not supported");
  }
  if (is_kw(t, "UNION")) {
    return err(t, "UNION is not supported");
  }
  if (is_kw(t, "IN")) {
    return err(t, "IN is not supported");
  }
  if (is_kw(t, "BETWEEN")) {
    return err(t, "BETWEEN is not supported");
  }
  if (is_kw(t, "ANY") || is_kw(t, "EVERY") || is_kw(t, "SATISFIES")) {
    return err(t, "array quantifiers (ANY, EVERY) are not supported");
  }
  if (is_punct(t, "+") || is_punct(t, "-") || is_punct(t, "*") || is_punct(t, "/")) {
    return err(t, "arithmetic operators are not supported");
  }
  if (is_punct(t, "||")) {
    return err(t, "string concatenation (||) is not supported");
  }
  if (is_punct(t, "[")) {
    return err(t, "array indexing is not supported");
  }
  if (is_punct(t, "#")) {
    return err(t, "CQL symbolic constants (#) are not supported");
  }
  if (is_punct(t, ";")) {
    return err(t, "';' is not allowed: one query per request");
  }
  return std::nullopt;
}

result<query> query_builder::run() {
  const ql::token& first = peek();
  if (first.kind == ql::tok::end) {
    return err(first, "empty query");
  }
  if (accept_kw("SELECT")) {
    if (auto tried = parse_select(); !tried) {
      return tried.error();
    }
  } else if (is_kw(first, "ASSOCIATORS") || is_kw(first, "REFERENCES")) {
    const query_kind kind =
        is_kw(first, "ASSOCIATORS") ? query_kind::associators_of : query_kind::references_of;
    if (lang_ != query_language::wql) {
      return err(first, "ASSOCIATORS OF and REFERENCES OF are WQL, not CQL");
    }
    take();
    if (auto tried = parse_association(kind); !tried) {
      return tried.error();
    }
  } else {
    return unexpected(first, "SELECT, ASSOCIATORS OF or REFERENCES OF");
  }
  return std::move(q_);
}

result<std::string> query_builder::parse_class_name(std::string_view what, bool allow_string) {
  const ql::token& t = peek();
  if (t.kind == ql::tok::string && allow_string && !t.text.empty()) {
    // WQL names the class of ISA as a string (__CLASS ISA 'CIM_ManagedElement'); DSP0202 writes
    // an identifier. Both are accepted in both languages.
    take();
    return t.text;
  }
  if (t.kind != ql::tok::identifier || is_reserved(t.text)) {
    return unexpected(t, what);
  }
  take();
  return t.text;
}

result<void> query_builder::parse_select() {
  q_.kind_ = query_kind::select;
  if (is_kw(peek(), "DISTINCT") || is_kw(peek(), "FIRST") || is_kw(peek(), "TOP")) {
    return err(peek(), peek().text + " is not supported");
  }
  if (is_punct(peek(), "*")) {
    take();
    q_.selects_all_ = true;
    if (!is_kw(peek(), "FROM")) {
      return unexpected(peek(), "FROM after '*'");
    }
  } else {
    while (true) {
      if (auto tried = parse_select_item(); !tried) {
        return tried.error();
      }
      if (!accept_punct(",")) {
        break;
      }
    }
  }
  if (!accept_kw("FROM")) {
    if (auto e = unsupported_clause(peek())) {
      return *e;
    }
    return unexpected(peek(), "',' or FROM");
  }
  if (accept_punct("(")) {
    return err(peek(), "subqueries are not supported");
  }
  const ql::token& from_tok = peek();
  q_.from_class_ = VSNAPD_TRY(parse_class_name("a class name after FROM"));
  if (iequals(q_.from_class_, "Meta_Class")) {
    // WMI's schema query: it answers with class definitions, which is GetClass's business.
    return err(from_tok, "schema queries (FROM Meta_Class) are not supported");
  }
  if (is_punct(peek(), ":")) {
    return err(peek(), "namespace-qualified class names are not supported");
  }
  if (accept_kw("AS")) {
    q_.alias_ = VSNAPD_TRY(parse_class_name("an alias after AS"));
  } else if (peek().kind == ql::tok::identifier && !is_reserved(peek().text) &&
             !unsupported_clause(peek())) {
    // CQL allows the alias without AS (`FROM CIM_X cs`); a following keyword is never an alias.
    q_.alias_ = take().text;
  }
  if (is_punct(peek(), ",")) {
    return err(peek(), "joins are not supported (one class in FROM)");
  }
  // SELECT items may name the FROM class or alias as their scope; check them now.
  for (const auto& item : items_) {
    if (!item.scope.empty() && !is_scope(item.scope)) {
      return err(*item.at, "'" + item.scope + "." + item.name +
                               "': embedded-object property access is not supported (scope '" +
                               item.scope + "' is neither the FROM class nor its alias)");
    }
  }
  if (accept_kw("WHERE")) {
    auto where = VSNAPD_TRY(parse_or());
    q_.where_ = std::make_shared<const ql::expr>(std::move(where));
  }
  if (peek().kind != ql::tok::end) {
    if (auto e = unsupported_clause(peek())) {
      return *e;
    }
    return unexpected(
        peek(), q_.where_ ? "AND, OR or the end of the query" : "WHERE or the end of the query");
  }
  return {};
}

result<void> query_builder::parse_select_item() {
  const ql::token& t = peek();
  if (t.kind != ql::tok::identifier || is_reserved(t.text)) {
    if (auto e = unsupported_clause(t)) {
      return *e;
    }
    return unexpected(t, "a property name or '*'");
  }
  take();
  if (is_punct(peek(), "(")) {
    const bool aggregate = std::any_of(std::begin(aggregates), std::end(aggregates),
                                       [&](std::string_view a) { return iequals(a, t.text); });
    return err(t, aggregate ? "aggregate functions are not supported (" + t.text + ")"
                            : "functions are not supported (" + t.text + ")");
  }
  std::string scope;
  std::string name = t.text;
  if (accept_punct(".")) {
    scope = name;
    if (accept_punct("*")) {
      // CQL `alias.*`: everything, checked against FROM later.
      items_.push_back({scope, "*", &t});
      q_.selects_all_ = true;
      return {};
    }
    const ql::token& n = peek();
    if (n.kind != ql::tok::identifier) {
      return unexpected(n, "a property name after '.'");
    }
    name = take().text;
  }
  if (accept_punct("::")) {
    const ql::token& n = peek();
    if (n.kind != ql::tok::identifier) {
      return unexpected(n, "a property name after '::'");
    }
    name = take().text;
  }
  if (is_punct(peek(), "[")) {
    return err(peek(), "array indexing is not supported");
  }
  if (is_punct(peek(), ".")) {
    return err(peek(), "embedded-object property access is not supported");
  }
  items_.push_back({scope, name, &t});
  if (std::none_of(q_.selected_.begin(), q_.selected_.end(),
                   [&](const std::string& s) { return name_equal(s, name); })) {
    q_.selected_.push_back(name);
  }
  return {};
}

// ASSOCIATORS OF / REFERENCES OF (MS-WMI 2.2.1): the source path in braces, then keywords that
// map one to one onto the Associators/References operation parameters. WMI refuses unknown or
// repeated keywords, and so do we, because ignoring one would widen the result silently.
result<void> query_builder::parse_association(query_kind kind) {
  q_.kind_ = kind;
  const std::string_view verb =
      kind == query_kind::associators_of ? "ASSOCIATORS OF" : "REFERENCES OF";
  if (!accept_kw("OF")) {
    return unexpected(peek(), "OF");
  }
  const ql::token& p = peek();
  if (p.kind != ql::tok::path) {
    return unexpected(p, "an object path in braces, e.g. {Class.Key=\"v\"}");
  }
  take();
  auto a = std::make_shared<association_query>();
  auto path = object_path::parse(ql::normalize_wmi_path(p.text));
  if (!path) {
    return err(p, "invalid object path {" + p.text + "}: " + path.error().description);
  }
  a->source = std::move(*path);
  if (accept_kw("WHERE")) {
    // Keywords follow one another separated by blanks, without AND (MS-WMI 2.2.1).
    struct seen_kw {
      std::string_view name;
      bool seen = false;
    };
    while (peek().kind != ql::tok::end) {
      const ql::token& kw = take();
      if (kw.kind != ql::tok::identifier) {
        return unexpected(kw, std::string(verb) + " keyword");
      }
      const auto valued = [&](std::string& into, bool assoc_only) -> result<void> {
        if (assoc_only && kind == query_kind::references_of) {
          return err(kw, kw.text + " is not valid in REFERENCES OF");
        }
        if (!into.empty()) {
          return err(kw, kw.text + " is given twice");
        }
        if (!accept_punct("=")) {
          return unexpected(peek(), "'=' after " + kw.text);
        }
        const ql::token& v = peek();
        if (v.kind != ql::tok::identifier && v.kind != ql::tok::string) {
          return unexpected(v, "a name after " + kw.text + " =");
        }
        take();
        if (v.text.empty()) {
          return err(v, "empty name after " + kw.text + " =");
        }
        into = v.text;
        return {};
      };
      const auto flag = [&](bool& into) -> result<void> {
        if (into) {
          return err(kw, kw.text + " is given twice");
        }
        into = true;
        return {};
      };
      if (iequals(kw.text, "AssocClass")) {
        if (auto tried = valued(a->assoc_class, true); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "ResultClass")) {
        if (auto tried = valued(a->result_class, false); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "Role")) {
        if (auto tried = valued(a->role, false); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "ResultRole")) {
        if (auto tried = valued(a->result_role, true); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "RequiredQualifier")) {
        if (auto tried = valued(a->required_qualifier, false); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "RequiredAssocQualifier")) {
        if (auto tried = valued(a->required_assoc_qualifier, true); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "ClassDefsOnly")) {
        if (auto tried = flag(a->class_defs_only); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "KeysOnly")) {
        if (auto tried = flag(a->keys_only); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "SchemaOnly")) {
        if (auto tried = flag(a->schema_only); !tried) {
          return tried.error();
        }
      } else if (iequals(kw.text, "AND") || iequals(kw.text, "OR")) {
        return err(kw, "the WHERE keywords of " + std::string(verb) +
                           " are separated by blanks, not " + kw.text);
      } else {
        return err(kw, "unknown " + std::string(verb) + " keyword '" + kw.text +
                           "' (expected AssocClass, ResultClass, Role, ResultRole, "
                           "RequiredQualifier, RequiredAssocQualifier, ClassDefsOnly, KeysOnly "
                           "or SchemaOnly)");
      }
    }
    if (a->class_defs_only && a->schema_only) {
      return err(p, "ClassDefsOnly and SchemaOnly cannot be combined");
    }
    if (a->keys_only && (a->class_defs_only || a->schema_only)) {
      return err(p, "KeysOnly cannot be combined with ClassDefsOnly or SchemaOnly");
    }
  } else if (peek().kind != ql::tok::end) {
    return unexpected(peek(), "WHERE or the end of the query");
  }
  q_.association_ = std::move(a);
  return {};
}

// OR and AND build n-ary nodes rather than binary chains, so a 2,000-term OR neither recurses
// 2,000 levels deep when evaluated nor when destroyed.
result<ql::expr> query_builder::parse_or() {
  ql::expr first = VSNAPD_TRY(parse_and());
  if (!is_kw(peek(), "OR")) {
    return first;
  }
  ql::expr node;
  node.n = ql::node::or_;
  node.column = peek().column;
  node.children.push_back(std::move(first));
  while (accept_kw("OR")) {
    node.children.push_back(VSNAPD_TRY(parse_and()));
  }
  return node;
}

result<ql::expr> query_builder::parse_and() {
  ql::expr first = VSNAPD_TRY(parse_not());
  if (!is_kw(peek(), "AND")) {
    return first;
  }
  ql::expr node;
  node.n = ql::node::and_;
  node.column = peek().column;
  node.children.push_back(std::move(first));
  while (accept_kw("AND")) {
    node.children.push_back(VSNAPD_TRY(parse_not()));
  }
  return node;
}

result<ql::expr> query_builder::parse_not() {
  const ql::token& t = peek();
  // Recursion depth is bounded so that a hostile query cannot exhaust the stack.
  if ((is_kw(t, "NOT") || is_punct(t, "(")) && ++depth_ > max_depth) {
    return err(t,
               "the condition is nested more than " + std::to_string(max_depth) + " levels deep");
  }
  struct leave {
    std::size_t& d;
    bool active;
    ~leave() {
      if (active) {
        --d;
      }
    }
  } guard{depth_, is_kw(t, "NOT") || is_punct(t, "(")};
  if (accept_kw("NOT")) {
    ql::expr node;
    node.n = ql::node::not_;
    node.column = t.column;
    node.children.push_back(VSNAPD_TRY(parse_not()));
    return node;
  }
  if (is_punct(t, "(")) {
    take();
    if (is_kw(peek(), "SELECT")) {
      return err(peek(), "subqueries are not supported");
    }
    ql::expr inner = VSNAPD_TRY(parse_or());
    if (!accept_punct(")")) {
      if (auto e = unsupported_clause(peek())) {
        return *e;
      }
      return unexpected(peek(), "')'");
    }
    return inner;
  }
  return parse_predicate();
}

// A property reference: Name, alias.Name, Class.Name, Class::Name or alias.Class::Name. Only the
// FROM class and its alias may prefix a name with '.'; anything else would be a path into an
// embedded object (TargetInstance.Name), which we do not evaluate.
result<ql::operand> query_builder::parse_property() {
  const ql::token& t = take();
  ql::operand o;
  o.k = ql::operand::kind::property;
  o.column = t.column;
  o.name = t.text;
  if (is_punct(peek(), "(")) {
    const bool aggregate = std::any_of(std::begin(aggregates), std::end(aggregates),
                                       [&](std::string_view a) { return iequals(a, t.text); });
    return err(t, aggregate ? "aggregate functions are not supported (" + t.text + ")"
                            : "functions are not supported (" + t.text + ")");
  }
  if (is_punct(peek(), ".")) {
    // `alias.prop` / `Class.prop`; any other dotted name reaches into an embedded object.
    if (!is_scope(o.name)) {
      return err(t, "'" + o.name + "." + peek(1).text +
                        "': embedded-object property access is not supported");
    }
    take();
    const ql::token& n = peek();
    if (n.kind != ql::tok::identifier) {
      return unexpected(n, "a property name after '.'");
    }
    o.name = take().text;
  }
  if (accept_punct("::")) {
    const ql::token& n = peek();
    if (n.kind != ql::tok::identifier) {
      return unexpected(n, "a property name after '::'");
    }
    o.scope = o.name;
    o.name = take().text;
  }
  if (is_punct(peek(), ".")) {
    return err(peek(), "embedded-object property access is not supported");
  }
  if (is_punct(peek(), "[")) {
    return err(peek(), "array indexing is not supported");
  }
  if (o.name.starts_with("__")) {
    const auto it = std::find_if(std::begin(system_properties), std::end(system_properties),
                                 [&](const sys_name& s) { return iequals(s.name, o.name); });
    if (it == std::end(system_properties)) {
      return err(t, "system property " + o.name + " is not supported");
    }
    o.sys = it->p;
  }
  return o;
}

result<ql::operand> query_builder::parse_operand() {
  const ql::token& t = peek();
  ql::operand o;
  o.column = t.column;
  switch (t.kind) {
    case ql::tok::string:
      take();
      o.lit = value(scalar(t.text));
      return o;
    case ql::tok::integer:
      take();
      o.lit = value(scalar(t.u));
      return o;
    case ql::tok::real:
      take();
      o.lit = value(scalar(t.r));
      return o;
    case ql::tok::identifier:
      if (iequals(t.text, "TRUE") || iequals(t.text, "FALSE")) {
        take();
        o.lit = value(scalar(iequals(t.text, "TRUE")));
        return o;
      }
      if (iequals(t.text, "NULL")) {
        take();
        o.lit_is_null = true;
        return o;
      }
      if (is_kw(t, "SELECT")) {
        return err(t, "subqueries are not supported");
      }
      if (auto e = unsupported_clause(t)) {
        return *e;
      }
      if (is_reserved(t.text)) {
        return unexpected(t, "a property name or a literal");
      }
      return parse_property();
    case ql::tok::punct:
      if (t.text == "-" || t.text == "+") {
        // A signed number literal; the sign must touch a number, anything else is arithmetic.
        const ql::token& num = peek(1);
        if (num.kind == ql::tok::integer) {
          take();
          take();
          if (t.text == "+") {
            o.lit = value(scalar(num.u));
          } else if (num.u >
                     static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
            return err(t, "integer literal -" + num.text + " is out of the 64-bit range");
          } else {
            // 0 - u computed in unsigned arithmetic reaches INT64_MIN without overflow.
            o.lit = value(scalar(static_cast<std::int64_t>(0 - num.u)));
          }
          return o;
        }
        if (num.kind == ql::tok::real) {
          take();
          take();
          o.lit = value(scalar(t.text == "-" ? -num.r : num.r));
          return o;
        }
      }
      if (t.text == "(") {
        if (is_kw(peek(1), "SELECT")) {
          return err(peek(1), "subqueries are not supported");
        }
      }
      if (auto e = unsupported_clause(t)) {
        return *e;
      }
      return unexpected(t, "a property name or a literal");
    case ql::tok::path:
      return err(t, "object path literals are only valid after ASSOCIATORS OF / REFERENCES OF");
    case ql::tok::end: return unexpected(t, "a property name or a literal");
  }
  return unexpected(t, "a property name or a literal");
}

// One predicate. WQL allows the literal on either side (`5 < U8`), so both sides are operands
// and only LIKE and ISA insist on a property at the left.
result<ql::expr> query_builder::parse_predicate() {
  ql::expr e;
  e.lhs = VSNAPD_TRY(parse_operand());
  const ql::token& op = peek();
  e.column = op.column;
  if (accept_kw("IS")) {
    const bool negated = accept_kw("NOT");
    if (!accept_kw("NULL")) {
      return unexpected(peek(), negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
    }
    e.n = negated ? ql::node::is_not_null : ql::node::is_null;
    return e;
  }
  bool negated_like = false;
  if (is_kw(op, "NOT") && is_kw(peek(1), "LIKE")) {
    take();
    negated_like = true;
  }
  if (accept_kw("LIKE")) {
    if (e.lhs.k != ql::operand::kind::property) {
      return err(e.lhs.column, "LIKE needs a property on its left");
    }
    const ql::token& pat = peek();
    if (pat.kind != ql::tok::string) {
      return unexpected(pat, "a string pattern after LIKE");
    }
    take();
    e.rhs.column = pat.column;
    e.rhs.lit = value(scalar(pat.text));
    e.pattern = VSNAPD_TRY(ql::like_pattern::compile(lang_, pat.text, pat.column));
    e.n = negated_like ? ql::node::not_like : ql::node::like;
    if (is_kw(peek(), "ESCAPE")) {
      return err(peek(), "LIKE ... ESCAPE is not supported");
    }
    return e;
  }
  if (accept_kw("ISA")) {
    if (e.lhs.k != ql::operand::kind::property) {
      return err(e.lhs.column, "ISA needs a property, __CLASS, __THIS or the alias on its left");
    }
    e.n = ql::node::isa;
    // CQL writes `cs ISA CIM_X` with the alias (or FROM class) standing for the instance itself.
    if (e.lhs.sys == ql::system_property::none && e.lhs.scope.empty() && is_scope(e.lhs.name)) {
      e.lhs.sys = ql::system_property::this_;
    }
    e.class_name = VSNAPD_TRY(parse_class_name("a class name after ISA", true));
    return e;
  }
  static constexpr std::pair<std::string_view, ql::node> cmp[] = {
      {"=", ql::node::eq}, {"<>", ql::node::ne}, {"!=", ql::node::ne}, {"<", ql::node::lt},
      {">", ql::node::gt}, {"<=", ql::node::le}, {">=", ql::node::ge}};
  for (const auto& [spelling, n] : cmp) {
    if (is_punct(op, spelling)) {
      take();
      e.n = n;
      e.rhs = VSNAPD_TRY(parse_operand());
      if (e.lhs.sys == ql::system_property::this_ || e.rhs.sys == ql::system_property::this_) {
        return err(op, "__THIS can only be used with ISA");
      }
      // WMI reads `p = NULL` as `p IS NULL` (and <> as IS NOT NULL); other orderings with NULL
      // are never true, which is almost certainly a mistake worth reporting.
      const bool l_null = e.lhs.k == ql::operand::kind::literal && e.lhs.lit_is_null;
      const bool r_null = e.rhs.k == ql::operand::kind::literal && e.rhs.lit_is_null;
      if (l_null || r_null) {
        if (n != ql::node::eq && n != ql::node::ne) {
          return err(op, "NULL can only be compared with =, <> or IS");
        }
        if (l_null && r_null) {
          return err(op, "NULL compared with NULL");
        }
        if (l_null) {
          std::swap(e.lhs, e.rhs);
        }
        e.n = n == ql::node::eq ? ql::node::is_null : ql::node::is_not_null;
      }
      if (auto un = unsupported_clause(peek()); un && !is_punct(peek(), ";")) {
        return *un;
      }
      return e;
    }
  }
  if (auto un = unsupported_clause(op)) {
    return *un;
  }
  return unexpected(op, "a comparison operator, IS, LIKE or ISA");
}

std::string_view to_string(query_language l) {
  switch (l) {
    case query_language::wql: return "WQL";
    case query_language::cql: return "DMTF:CQL";
  }
  return "?";
}

std::string_view to_string(query_kind k) {
  switch (k) {
    case query_kind::select: return "SELECT";
    case query_kind::associators_of: return "ASSOCIATORS OF";
    case query_kind::references_of: return "REFERENCES OF";
  }
  return "?";
}

std::optional<query_language> parse_query_language(std::string_view name) {
  if (iequals(name, "WQL")) {
    return query_language::wql;
  }
  if (iequals(name, "DMTF:CQL") || iequals(name, "CQL")) {
    return query_language::cql;
  }
  return std::nullopt;
}

std::optional<query_language> query_language_from_dialect(std::string_view uri) {
  if (iequals(uri, "http://schemas.microsoft.com/wbem/wsman/1/WQL") ||
      iequals(uri, "http://schemas.dmtf.org/wbem/wsman/1/WQL")) {
    return query_language::wql;
  }
  if (iequals(uri, "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf")) {
    return query_language::cql;
  }
  return std::nullopt;
}

result<query> parse_query(query_language language, std::string_view text) {
  auto toks = VSNAPD_TRY(ql::tokenize(language, text));
  return query_builder(language, text, std::move(toks)).run();
}

result<query> parse_query(std::string_view language, std::string_view text) {
  const auto lang = parse_query_language(language);
  if (!lang) {
    return fail(errc::query_language_not_supported,
                "query language '" + std::string(language) +
                    "' is not supported (use WQL, DMTF:CQL or CQL)");
  }
  return parse_query(*lang, text);
}

}  // namespace vsnapd::cim
