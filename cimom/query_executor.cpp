#include "cimom/query_executor.hpp"

#include "cimom/class_repository.hpp"

#include <string>
#include <utility>
#include <vector>

namespace vsnapd::cim {
namespace {

// Filters and projects the instances of an inner cursor. The inner cursor is read in batches
// of the caller's size; instances that fail the WHERE clause are dropped as they pass, so a
// batch may come back short (or empty) while more follow.
class filtered_cursor final : public named_instance_cursor {
 public:
  enum class shape : std::uint8_t { projected, keys_only, as_is };

  filtered_cursor(std::unique_ptr<named_instance_cursor> inner, const class_repository& repo,
                  std::string ns, query q, shape s, std::string required_qualifier)
      : inner_(std::move(inner)),
        repo_(repo),
        ns_(std::move(ns)),
        query_(std::move(q)),
        shape_(s),
        required_qualifier_(std::move(required_qualifier)) {}

  result<bool> next(std::vector<named_instance>& batch, std::size_t max) override {
    scratch_.clear();
    const bool more = VSNAPD_TRY(inner_->next(scratch_, max));
    for (auto& item : scratch_) {
      const class_decl* cls = repo_.find_class(ns_, item.inst.class_name());
      if (cls == nullptr) {
        return fail(errc::failed, "query result of unknown class " + item.inst.class_name());
      }
      if (!required_qualifier_.empty() && cls->qualifiers.find(required_qualifier_) == nullptr) {
        continue;
      }
      if (query_.kind() == query_kind::select && query_.has_where()) {
        if (!VSNAPD_TRY(query_.matches(item.inst, repo_, ns_))) {
          continue;
        }
      }
      switch (shape_) {
        case shape::projected: item.inst = query_.project(item.inst, *cls); break;
        case shape::keys_only: item.inst = keys_of(item.inst, *cls); break;
        case shape::as_is: break;
      }
      batch.push_back(std::move(item));
    }
    return more;
  }

 private:
  static instance keys_of(const instance& inst, const class_decl& cls) {
    instance out(inst.class_name());
    for (const auto* key : cls.keys()) {
      if (const value* v = inst.get(key->name)) {
        out.set(key->name, *v);
      }
    }
    return out;
  }

  std::unique_ptr<named_instance_cursor> inner_;
  const class_repository& repo_;
  std::string ns_;
  query query_;
  shape shape_;
  std::string required_qualifier_;
  std::vector<named_instance> scratch_;
};

}  // namespace

result<std::unique_ptr<named_instance_cursor>> exec_query(const object_manager& om,
                                                          const operation_context& ctx,
                                                          const query& q) {
  const class_repository& repo = om.repository();
  if (q.kind() == query_kind::select) {
    if (auto valid = q.validate(repo, ctx.ns); !valid) {
      return valid.error();
    }
    enumerate_instances_options options;
    options.deep_inheritance = true;  // WHERE may test subclass properties; the projection trims
    auto inner = VSNAPD_TRY(om.enumerate_instances(ctx, q.from_class(), options));
    return std::unique_ptr<named_instance_cursor>(std::make_unique<filtered_cursor>(
        std::move(inner), repo, ctx.ns, q, filtered_cursor::shape::projected, std::string()));
  }

  const association_query& a = q.association();
  if (a.class_defs_only || a.schema_only) {
    return fail(errc::not_supported,
                "ClassDefsOnly and SchemaOnly return class definitions, which this server does "
                "not return from queries; use GetClass");
  }
  if (!a.required_assoc_qualifier.empty()) {
    return fail(errc::not_supported, "RequiredAssocQualifier is not supported; use AssocClass");
  }
  operation_context inner_ctx = ctx;
  if (!a.source.ns().empty()) {
    inner_ctx.ns = a.source.ns();
  }
  const auto shape =
      a.keys_only ? filtered_cursor::shape::keys_only : filtered_cursor::shape::as_is;
  std::unique_ptr<named_instance_cursor> inner;
  if (q.kind() == query_kind::associators_of) {
    associators_options options;
    options.assoc_class = a.assoc_class;
    options.result_class = a.result_class;
    options.role = a.role;
    options.result_role = a.result_role;
    inner = VSNAPD_TRY(om.associators(inner_ctx, a.source, options));
  } else {
    references_options options;
    options.result_class = a.result_class;
    options.role = a.role;
    inner = VSNAPD_TRY(om.references(inner_ctx, a.source, options));
  }
  if (!a.keys_only && a.required_qualifier.empty()) {
    return inner;  // nothing to filter or reshape: no per-instance work
  }
  std::string ns(repo.canonical_namespace(inner_ctx.ns));
  return std::unique_ptr<named_instance_cursor>(std::make_unique<filtered_cursor>(
      std::move(inner), repo, std::move(ns), q, shape, a.required_qualifier));
}

result<std::unique_ptr<named_instance_cursor>> exec_query(const object_manager& om,
                                                          const operation_context& ctx,
                                                          std::string_view language,
                                                          std::string_view text) {
  auto q = VSNAPD_TRY(parse_query(language, text));
  return exec_query(om, ctx, q);
}

}  // namespace vsnapd::cim
