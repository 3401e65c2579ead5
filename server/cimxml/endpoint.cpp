#include "server/cimxml/endpoint.hpp"

#include "cimom/name.hpp"
#include "cimom/query_executor.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "common/xml/qname.hpp"
#include "server/cimxml/class_codec.hpp"
#include "server/cimxml/instance_codec.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

namespace vsnapd::server::cimxml {
namespace {

namespace http = boost::beast::http;
using cim::cim_type;
using cim::errc;
using cim::fail;

// --- Request decoding ------------------------------------------------------------------------

// A decoded SIMPLEREQ: the call element and what identifies it.
struct decoded_request {
  std::string message_id;
  bool intrinsic = true;
  std::string method;         ///< IMETHODCALL / METHODCALL NAME
  std::string ns;             ///< intrinsic: LOCALNAMESPACEPATH; extrinsic: the target's
  cim::object_path target;    ///< extrinsic: LOCALINSTANCEPATH / LOCALCLASSPATH
  pugi::xml_node call;        ///< IMETHODCALL / METHODCALL
};


using xml::first_element;
using xml::next_element;

bool named(pugi::xml_node n, std::string_view name) { return std::string_view(n.name()) == name; }

// DSP0201 versions "2.x" are ours; a missing attribute is a request the DTD rejects.
bool major_is(std::string_view v, char major) {
  return v.size() >= 2 && v[0] == major && v[1] == '.';
}

// CIMObject of an extrinsic call names the same object as the body: namespace and class
// case-insensitively, the same key names, and the same value texts (the header's are untyped).
bool same_object(const cim::object_path& header, const cim::object_path& body) {
  if (!iequals(cim::normalize_namespace(header.ns()), body.ns()) ||
      !cim::name_equal(header.class_name(), body.class_name()) ||
      header.keys().size() != body.keys().size()) {
    return false;
  }
  for (const cim::key_binding& k : body.keys()) {
    const cim::value* h = header.key(k.name);
    if (h == nullptr) {
      return false;
    }
    if (k.v.type() == cim_type::reference || h->type() == cim_type::reference || h->is_null() ||
        k.v.is_null() || h->is_array() || k.v.is_array()) {
      continue;  // nested paths have too many spellings to compare as text
    }
    if (cim::to_text(h->as_scalar()) != cim::to_text(k.v.as_scalar())) {
      return false;
    }
  }
  return true;
}

std::variant<decoded_request, http_failure> decode(pugi::xml_document& doc, std::string& body,
                                                   const operation_headers& headers) {
  using H = cim_error_header;
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return failure(H::request_not_well_formed, "the request has no body");
  }
  // parse_ws_pcdata_single keeps a VALUE of blanks; parse_doctype keeps a DOCTYPE as a node
  // so that it is refused, not skipped (CIM-XML requests carry none; we never process DTDs).
  const pugi::xml_parse_result parsed = doc.load_buffer_inplace(
      body.data(), body.size(),
      pugi::parse_default | pugi::parse_ws_pcdata_single | pugi::parse_doctype,
      pugi::encoding_auto);
  if (!parsed) {
    return failure(H::request_not_well_formed, "the request is not well-formed XML: " +
                                                   std::string(parsed.description()) + " at byte " +
                                                   std::to_string(parsed.offset));
  }
  for (pugi::xml_node n = doc.first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_doctype) {
      return failure(H::request_not_valid, "document type declarations are not allowed");
    }
  }
  const pugi::xml_node cim = doc.document_element();
  if (!named(cim, "CIM")) {
    return failure(H::request_not_valid, "the root element is '" + std::string(cim.name()) +
                                             "', not CIM");
  }
  const pugi::xml_attribute cim_version = cim.attribute("CIMVERSION");
  const pugi::xml_attribute dtd_version = cim.attribute("DTDVERSION");
  if (!cim_version || !dtd_version) {
    return failure(H::request_not_valid, "CIM needs CIMVERSION and DTDVERSION");
  }
  if (!major_is(cim_version.value(), '2')) {
    return failure(H::unsupported_cim_version,
                   "CIMVERSION " + std::string(cim_version.value()) + " is not supported (2.x is)");
  }
  if (!major_is(dtd_version.value(), '2')) {
    return failure(H::unsupported_dtd_version,
                   "DTDVERSION " + std::string(dtd_version.value()) + " is not supported (2.x is)");
  }
  const pugi::xml_node message = first_element(cim);
  if (!named(message, "MESSAGE") || !message.attribute("ID") ||
      !message.attribute("PROTOCOLVERSION")) {
    return failure(H::request_not_valid, "CIM needs a MESSAGE with ID and PROTOCOLVERSION");
  }
  if (!major_is(message.attribute("PROTOCOLVERSION").value(), '1')) {
    return failure(H::unsupported_protocol_version,
                   "PROTOCOLVERSION " + std::string(message.attribute("PROTOCOLVERSION").value()) +
                       " is not supported (1.x is)");
  }
  decoded_request out;
  out.message_id = message.attribute("ID").value();
  const pugi::xml_node req = first_element(message);
  if (named(req, "MULTIREQ")) {
    return failure(H::multiple_requests_unsupported, "MULTIREQ is not supported");
  }
  if (!named(req, "SIMPLEREQ")) {
    return failure(H::request_not_valid,
                   "MESSAGE holds '" + std::string(req.name()) + "', not SIMPLEREQ");
  }
  pugi::xml_node call = first_element(req);
  while (named(call, "CORRELATOR")) {
    call = next_element(call);
  }
  out.call = call;
  out.intrinsic = named(call, "IMETHODCALL");
  if (!out.intrinsic && !named(call, "METHODCALL")) {
    return failure(H::request_not_valid,
                   "SIMPLEREQ holds '" + std::string(call.name()) + "', not IMETHODCALL or METHODCALL");
  }
  if (!call.attribute("NAME") || *call.attribute("NAME").value() == '\0') {
    return failure(H::request_not_valid, std::string(call.name()) + " has no NAME");
  }
  out.method = call.attribute("NAME").value();
  const pugi::xml_node where = first_element(call);
  const char* param_element = out.intrinsic ? "IPARAMVALUE" : "PARAMVALUE";
  if (out.intrinsic) {
    auto ns = parse_local_namespace(where);
    if (!ns) {
      return failure(H::request_not_valid, "IMETHODCALL: " + ns.error().description);
    }
    out.ns = std::move(*ns);
  } else {
    if (!named(where, "LOCALINSTANCEPATH") && !named(where, "LOCALCLASSPATH")) {
      return failure(H::request_not_valid,
                     "METHODCALL needs LOCALINSTANCEPATH or LOCALCLASSPATH, not '" +
                         std::string(where.name()) + "'");
    }
    auto target = parse_reference(where);
    if (!target) {
      return failure(H::request_not_valid, "METHODCALL: " + target.error().description);
    }
    out.target = std::move(*target);
    out.ns = out.target.ns();
  }
  for (pugi::xml_node p = next_element(where); p; p = next_element(p)) {
    if (!named(p, param_element) || !p.attribute("NAME")) {
      return failure(H::request_not_valid, std::string(call.name()) + " holds '" +
                                               std::string(p.name()) + "' where " + param_element +
                                               " with a NAME belongs");
    }
  }

  // DSP0200 section 7.3: the headers repeat what the body says, and must agree with it.
  if (!cim::name_equal(headers.method, out.method)) {
    return failure(H::header_mismatch, "CIMMethod '" + headers.method + "' but the body calls '" +
                                           out.method + "'");
  }
  if (out.intrinsic) {
    if (!iequals(cim::normalize_namespace(headers.object), out.ns)) {
      return failure(H::header_mismatch, "CIMObject '" + headers.object +
                                             "' but the body names namespace '" + out.ns + "'");
    }
  } else {
    auto header_path = cim::object_path::parse(headers.object);
    // Paths whose keys are references arrive with quoting that varies by client; when the
    // header does not parse, its namespace and class must still lead the same way.
    const std::string prefix = out.target.ns() + ":" + out.target.class_name();
    const bool matches = header_path ? same_object(*header_path, out.target)
                                     : headers.object.size() >= prefix.size() &&
                                           iequals(std::string_view(headers.object).substr(0, prefix.size()),
                                                   prefix);
    if (!matches) {
      return failure(H::header_mismatch, "CIMObject '" + headers.object +
                                             "' does not name the object the body calls on");
    }
  }
  return out;
}

// --- Intrinsic parameters ------------------------------------------------------------------

// The IPARAMVALUEs of one call, looked up case-insensitively.
class iparams {
 public:
  // Reads the parameters; unknown or repeated names are CIM_ERR_INVALID_PARAMETER (DSP0200
  // section 5.3.1).
  static cim::result<iparams> read(pugi::xml_node call, const std::vector<std::string_view>& known) {
    iparams out;
    for (pugi::xml_node p = first_element(call); p; p = next_element(p)) {
      if (!named(p, "IPARAMVALUE")) {
        continue;  // the LOCALNAMESPACEPATH
      }
      const std::string_view name = p.attribute("NAME").value();
      const bool is_known = std::any_of(known.begin(), known.end(),
                                        [&](std::string_view k) { return iequals(k, name); });
      if (!is_known) {
        return fail(errc::invalid_parameter, "unknown parameter '" + std::string(name) + "'");
      }
      if (out.find(name)) {
        return fail(errc::invalid_parameter, "parameter '" + std::string(name) + "' given twice");
      }
      out.items_.emplace_back(name, p);
    }
    return out;
  }

  pugi::xml_node find(std::string_view name) const {
    for (const auto& [n, node] : items_) {
      if (iequals(n, name)) {
        return node;
      }
    }
    return {};
  }

  // The value child of a parameter; empty when absent or explicitly NULL.
  pugi::xml_node value_of(std::string_view name) const { return first_element(find(name)); }

  cim::result<bool> boolean(std::string_view name, bool fallback) const {
    auto s = scalar(name, cim_type::boolean);
    if (!s) {
      return s.error();
    }
    return s->has_value() ? std::get<bool>(**s) : fallback;
  }

  cim::result<std::optional<std::uint32_t>> uint32(std::string_view name) const {
    auto s = scalar(name, cim_type::uint32);
    if (!s) {
      return s.error();
    }
    if (!s->has_value()) {
      return std::optional<std::uint32_t>();
    }
    return std::optional<std::uint32_t>(std::get<std::uint32_t>(**s));
  }

  cim::result<std::optional<std::string>> string(std::string_view name) const {
    auto s = scalar(name, cim_type::string);
    if (!s) {
      return s.error();
    }
    if (!s->has_value()) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(std::get<std::string>(**s));
  }

  // A CLASSNAME parameter; "" when absent or NULL unless required.
  cim::result<std::string> class_name(std::string_view name, bool required) const {
    const pugi::xml_node v = value_of(name);
    if (!v) {
      if (required) {
        return fail(errc::invalid_parameter, "parameter '" + std::string(name) + "' is required");
      }
      return std::string();
    }
    if (!named(v, "CLASSNAME") || !v.attribute("NAME")) {
      return fail(errc::invalid_parameter,
                  "parameter '" + std::string(name) + "' must be a CLASSNAME");
    }
    return std::string(v.attribute("NAME").value());
  }

  // An INSTANCENAME parameter (required), in namespace `ns`; with `classes`, a CLASSNAME too.
  cim::result<cim::object_path> object_name(std::string_view name, const std::string& ns,
                                            bool classes) const {
    const pugi::xml_node v = value_of(name);
    if (!v) {
      return fail(errc::invalid_parameter, "parameter '" + std::string(name) + "' is required");
    }
    if (!named(v, "INSTANCENAME") && !(classes && named(v, "CLASSNAME"))) {
      return fail(errc::invalid_parameter, "parameter '" + std::string(name) + "' must be " +
                                               (classes ? "an INSTANCENAME or CLASSNAME"
                                                        : "an INSTANCENAME"));
    }
    auto p = parse_reference(v);
    if (!p) {
      return fail(p.error().code, "parameter '" + std::string(name) + "': " + p.error().description);
    }
    p->set_ns(ns);
    return p;
  }

  // PropertyList: NULL = all properties; VALUE.ARRAY of names otherwise.
  cim::result<cim::property_list> property_list(std::string_view name) const {
    const pugi::xml_node v = value_of(name);
    if (!v) {
      return cim::property_list();
    }
    if (!named(v, "VALUE.ARRAY")) {
      return fail(errc::invalid_parameter, "PropertyList must be a VALUE.ARRAY");
    }
    std::vector<std::string> names;
    for (pugi::xml_node e = first_element(v); e; e = next_element(e)) {
      if (!named(e, "VALUE")) {
        return fail(errc::invalid_parameter, "PropertyList holds '" + std::string(e.name()) + "'");
      }
      names.push_back(text_of(e));
    }
    return cim::property_list(std::move(names));
  }

 private:
  cim::result<std::optional<cim::scalar>> scalar(std::string_view name, cim_type type) const {
    const pugi::xml_node v = value_of(name);
    if (!v) {
      return std::optional<cim::scalar>();
    }
    if (!named(v, "VALUE")) {
      return fail(errc::invalid_parameter, "parameter '" + std::string(name) + "' must be a " +
                                               std::string(cim::to_string(type)) + " VALUE");
    }
    auto s = cim::parse_scalar(type, text_of(v));
    if (!s) {
      return fail(errc::invalid_parameter,
                  "parameter '" + std::string(name) + "': " + s.error().description);
    }
    return std::optional<cim::scalar>(std::move(*s));
  }

  std::vector<std::pair<std::string_view, pugi::xml_node>> items_;
};

// --- Response writing ----------------------------------------------------------------------

constexpr std::string_view xml_head =
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">";

// Writes one SIMPLERSP into a string. On an error after output has begun (a provider failing
// mid-enumeration) everything written since the response element opened is discarded, so the
// client sees the ERROR alone, as DSP0200 requires.
class response_writer {
 public:
  response_writer(std::string& out, const decoded_request& req) : out_(out), intrinsic_(req.intrinsic) {
    out_.reserve(4096);  // a typical single-object reply, without regrowing
    out_ += xml_head;
    out_ += "<MESSAGE ID=\"";
    append_escaped(out_, req.message_id);
    out_ += "\" PROTOCOLVERSION=\"1.0\"><SIMPLERSP>";
    out_ += intrinsic_ ? "<IMETHODRESPONSE NAME=\"" : "<METHODRESPONSE NAME=\"";
    append_escaped(out_, req.method);
    out_ += "\">";
    body_start_ = out_.size();
  }

  std::string& out() { return out_; }

  void error(const cim::error& e) {
    out_.resize(body_start_);
    out_ += "<ERROR CODE=\"";
    out_ += std::to_string(error_code_of(e.code));
    out_ += "\" DESCRIPTION=\"";
    std::string text(cim::to_string(e.code));
    if (!e.description.empty()) {
      text += ": ";
      text += e.description;
    }
    append_escaped(out_, text);
    out_ += "\">";
    if (e.cim_error) {
      append_instance(out_, *e.cim_error, nullptr);
    }
    out_ += "</ERROR>";
  }

  void finish() { out_ += closing(intrinsic_); }

  static std::string_view closing(bool intrinsic) {
    return intrinsic ? "</IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n"
                     : "</METHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n";
  }

 private:
  std::string& out_;
  bool intrinsic_;
  std::size_t body_start_ = 0;
};

// Looks classes up for append_instance, remembering the last one: enumerations return long
// runs of the same class.
class class_cache {
 public:
  explicit class_cache(const cim::class_repository& repo) : repo_(repo) {}
  const cim::class_decl* get(std::string_view ns, std::string_view name) {
    if (last_ == nullptr || !cim::name_equal(last_->name, name) || ns != last_ns_) {
      last_ = repo_.find_class(ns, name);
      last_ns_ = ns;
    }
    return last_;
  }

 private:
  const cim::class_repository& repo_;
  const cim::class_decl* last_ = nullptr;
  std::string last_ns_;
};

// The batch size for reading cursors while writing: large enough to amortize provider calls,
// small enough to keep memory flat whatever the enumeration's size.
constexpr std::size_t write_batch = 256;

// The namespace of a path from the object manager, or the operation's when it has none.
std::string_view ns_of(const cim::object_path& p, std::string_view fallback) {
  return p.ns().empty() ? fallback : std::string_view(p.ns());
}

cim::object_path with_ns(cim::object_path p, std::string_view ns) {
  if (p.ns().empty()) {
    p.set_ns(std::string(ns));
  }
  return p;
}

// Intrinsic methods we know, with what they need (STYLE rule 10: one table).
enum class op : std::uint8_t {
  get_class, enumerate_classes, enumerate_class_names, get_instance, enumerate_instances,
  enumerate_instance_names, create_instance, modify_instance, delete_instance, associators,
  associator_names, references, reference_names, get_property, set_property, exec_query,
  get_qualifier, enumerate_qualifiers, set_qualifier, delete_qualifier, create_class,
  modify_class, delete_class, open_enumerate_instances, open_enumerate_instance_paths,
  open_associator_instances, open_associator_instance_paths, open_reference_instances,
  open_reference_instance_paths, open_query_instances, pull_instances_with_path,
  pull_instance_paths, pull_instances, close_enumeration, enumeration_count,
};

struct op_entry {
  std::string_view name;
  op id;
  bool reads;  ///< allowed to readers (and everyone above)
};

constexpr std::array op_table{
    op_entry{"GetClass", op::get_class, true},
    op_entry{"EnumerateClasses", op::enumerate_classes, true},
    op_entry{"EnumerateClassNames", op::enumerate_class_names, true},
    op_entry{"GetInstance", op::get_instance, true},
    op_entry{"EnumerateInstances", op::enumerate_instances, true},
    op_entry{"EnumerateInstanceNames", op::enumerate_instance_names, true},
    op_entry{"CreateInstance", op::create_instance, false},
    op_entry{"ModifyInstance", op::modify_instance, false},
    op_entry{"DeleteInstance", op::delete_instance, false},
    op_entry{"Associators", op::associators, true},
    op_entry{"AssociatorNames", op::associator_names, true},
    op_entry{"References", op::references, true},
    op_entry{"ReferenceNames", op::reference_names, true},
    op_entry{"GetProperty", op::get_property, true},
    op_entry{"SetProperty", op::set_property, false},
    op_entry{"ExecQuery", op::exec_query, true},
    op_entry{"GetQualifier", op::get_qualifier, true},
    op_entry{"EnumerateQualifiers", op::enumerate_qualifiers, true},
    op_entry{"SetQualifier", op::set_qualifier, false},
    op_entry{"DeleteQualifier", op::delete_qualifier, false},
    op_entry{"CreateClass", op::create_class, false},
    op_entry{"ModifyClass", op::modify_class, false},
    op_entry{"DeleteClass", op::delete_class, false},
    op_entry{"OpenEnumerateInstances", op::open_enumerate_instances, true},
    op_entry{"OpenEnumerateInstancePaths", op::open_enumerate_instance_paths, true},
    op_entry{"OpenAssociatorInstances", op::open_associator_instances, true},
    op_entry{"OpenAssociatorInstancePaths", op::open_associator_instance_paths, true},
    op_entry{"OpenReferenceInstances", op::open_reference_instances, true},
    op_entry{"OpenReferenceInstancePaths", op::open_reference_instance_paths, true},
    op_entry{"OpenQueryInstances", op::open_query_instances, true},
    op_entry{"PullInstancesWithPath", op::pull_instances_with_path, true},
    op_entry{"PullInstancePaths", op::pull_instance_paths, true},
    op_entry{"PullInstances", op::pull_instances, true},
    op_entry{"CloseEnumeration", op::close_enumeration, true},
    op_entry{"EnumerationCount", op::enumeration_count, true},
};

const op_entry* find_op(std::string_view name) {
  for (const op_entry& e : op_table) {
    if (iequals(e.name, name)) {
      return &e;
    }
  }
  return nullptr;
}

// Runs one intrinsic or extrinsic call, writing into a response_writer.
class operation {
 public:
  operation(const cim::object_manager& om, enumeration_contexts& contexts,
            const endpoint::limits& limits, const decoded_request& req, const caller& who,
            response_writer& w)
      : om_(om),
        contexts_(contexts),
        limits_(limits),
        req_(req),
        who_(who),
        w_(w),
        out_(w.out()),
        ctx_{req.ns, who.user},
        classes_(om.repository()) {}

  cim::result<void> run_intrinsic(op id);
  cim::result<void> run_extrinsic();

  /// Lets enumerations stop writing once the body reaches `bytes` and leave the rest to
  /// `take_rest` (0: write everything).
  void stream_after(std::size_t bytes) { stream_after_ = bytes; }
  /// The rest of an enumeration that stopped at stream_after (writes one batch; true while
  /// more remain), or an empty function when the body is complete.
  std::function<cim::result<bool>(std::string&)> take_rest() { return std::move(rest_); }

 private:
  // IRETURNVALUE around what `body` writes.
  template <class F>
  cim::result<void> ireturn(F&& body) {
    out_ += "<IRETURNVALUE>";
    if (auto r = body(); !r) {
      return r;
    }
    if (rest_) {
      return {};  // closed by the streamed rest
    }
    out_ += "</IRETURNVALUE>";
    return {};
  }

  void write_instance(const cim::instance& inst, std::string_view ns) {
    append_instance(out_, inst, classes_.get(ns, inst.class_name()));
  }

  // Writes every item of a cursor, batch by batch, with `each(out, classes, item)`. Once the
  // body passes stream_after_ (when streaming is allowed), the cursor and `each` move into
  // rest_ and the caller stops writing: the rest is written piece by piece as it is sent.
  template <class T, class F>
  cim::result<void> drain(std::unique_ptr<cim::cursor<T>> c, F each) {
    std::vector<T> batch;
    batch.reserve(write_batch);
    bool first = true;
    for (bool more = true; more;) {
      batch.clear();
      auto r = c->next(batch, write_batch);
      if (!r) {
        return r.error();
      }
      more = *r;
      for (const T& item : batch) {
        each(out_, classes_, item);
      }
      if (more && stream_after_ != 0 && out_.size() >= stream_after_) {
        rest_ = [c = std::shared_ptr<cim::cursor<T>>(std::move(c)), each = std::move(each),
                 &repo = om_.repository()](std::string& out) -> cim::result<bool> {
          // A fresh cache per batch: class declarations may change between two batches.
          class_cache classes(repo);
          std::vector<T> items;
          const bool more_items = VSNAPD_TRY(c->next(items, write_batch));
          for (const T& item : items) {
            each(out, classes, item);
          }
          return more_items;
        };
        return {};
      }
      if (more && first) {
        // One full batch tells the size of an item: make room for several batches at once
        // instead of doubling (and page-faulting in) the body a dozen times.
        out_.reserve(out_.size() * 8);
      }
      first = false;
    }
    return {};
  }

  cim::result<void> named_instances(std::unique_ptr<cim::named_instance_cursor> c) {
    return drain(std::move(c), [ns = ctx_.ns](std::string& out, class_cache& classes,
                                              const cim::named_instance& n) {
      out += "<VALUE.NAMEDINSTANCE>";
      append_instance_name(out, n.path);
      write_instance(out, classes, n.inst, ns_of(n.path, ns));
      out += "</VALUE.NAMEDINSTANCE>";
    });
  }

  cim::result<void> objects_with_path(std::unique_ptr<cim::named_instance_cursor> c) {
    return drain(std::move(c), [ns = ctx_.ns, host = who_.host](std::string& out, class_cache& classes,
                                                                const cim::named_instance& n) {
      out += "<VALUE.OBJECTWITHPATH>";
      append_instance_path(out, with_ns(n.path, ns), host);
      write_instance(out, classes, n.inst, ns_of(n.path, ns));
      out += "</VALUE.OBJECTWITHPATH>";
    });
  }

  cim::result<void> object_paths(std::unique_ptr<cim::path_cursor> c) {
    return drain(std::move(c), [ns = ctx_.ns, host = who_.host](std::string& out, class_cache&,
                                                                const cim::object_path& p) {
      out += "<OBJECTPATH>";
      append_instance_path(out, with_ns(p, ns), host);
      out += "</OBJECTPATH>";
    });
  }

  static void write_instance(std::string& out, class_cache& classes, const cim::instance& inst,
                             std::string_view ns) {
    append_instance(out, inst, classes.get(ns, inst.class_name()));
  }

  cim::result<void> get_class(const iparams& p);
  cim::result<void> enumerate_classes(const iparams& p, bool names_only);
  cim::result<void> get_property(const iparams& p);
  cim::result<void> set_property(const iparams& p);
  cim::result<void> modify_instance(const iparams& p);
  cim::result<void> qualifiers(const iparams& p, bool one);
  cim::result<cim::associators_options> assoc_options(const iparams& p, bool with_props);
  cim::result<cim::references_options> ref_options(const iparams& p, bool with_props);

  // Pull operations.
  cim::result<void> open(op id, const iparams& p);
  cim::result<void> pull(op id, const iparams& p);
  cim::result<std::uint32_t> max_object_count(const iparams& p, bool required);
  // Writes up to `max` items of `ctx` into the IRETURNVALUE; @return true at the end.
  cim::result<bool> write_items(enumeration_context& ctx, std::uint32_t max);
  void write_pull_tail(bool end, const std::string& id);

  const cim::object_manager& om_;
  enumeration_contexts& contexts_;
  const endpoint::limits& limits_;
  const decoded_request& req_;
  const caller& who_;
  response_writer& w_;
  std::string& out_;
  cim::operation_context ctx_;
  class_cache classes_;
  std::size_t stream_after_ = 0;
  std::function<cim::result<bool>(std::string&)> rest_;
};

constexpr std::array<std::string_view, 5> filter_params = {
    "FilterQueryLanguage", "FilterQuery", "OperationTimeout", "ContinueOnError", "MaxObjectCount"};

cim::result<void> operation::run_intrinsic(op id) {
  switch (id) {
    case op::get_class: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"ClassName", "LocalOnly", "IncludeQualifiers",
                                                    "IncludeClassOrigin", "PropertyList"}));
      return get_class(p);
    }
    case op::enumerate_classes: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"ClassName", "DeepInheritance", "LocalOnly",
                                                    "IncludeQualifiers", "IncludeClassOrigin"}));
      return enumerate_classes(p, false);
    }
    case op::enumerate_class_names: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"ClassName", "DeepInheritance"}));
      return enumerate_classes(p, true);
    }
    case op::get_instance: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"InstanceName", "LocalOnly", "IncludeQualifiers",
                                                    "IncludeClassOrigin", "PropertyList"}));
      const auto path = VSNAPD_TRY(p.object_name("InstanceName", ctx_.ns, false));
      // LocalOnly (default true), IncludeQualifiers and IncludeClassOrigin are deprecated for
      // instances; they are checked for type and have no effect (object_manager.hpp).
      (void)VSNAPD_TRY(p.boolean("LocalOnly", true));
      (void)VSNAPD_TRY(p.boolean("IncludeQualifiers", false));
      (void)VSNAPD_TRY(p.boolean("IncludeClassOrigin", false));
      cim::get_instance_options o;
      o.properties = VSNAPD_TRY(p.property_list("PropertyList"));
      auto inst = VSNAPD_TRY(om_.get_instance(ctx_, path, o));
      return ireturn([&]() -> cim::result<void> {
        write_instance(inst, ctx_.ns);
        return {};
      });
    }
    case op::enumerate_instances: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"ClassName", "LocalOnly", "DeepInheritance",
                                                    "IncludeQualifiers", "IncludeClassOrigin",
                                                    "PropertyList"}));
      const auto cls = VSNAPD_TRY(p.class_name("ClassName", true));
      cim::enumerate_instances_options o;
      (void)VSNAPD_TRY(p.boolean("LocalOnly", true));
      o.deep_inheritance = VSNAPD_TRY(p.boolean("DeepInheritance", true));
      (void)VSNAPD_TRY(p.boolean("IncludeQualifiers", false));
      (void)VSNAPD_TRY(p.boolean("IncludeClassOrigin", false));
      o.properties = VSNAPD_TRY(p.property_list("PropertyList"));
      auto cursor = VSNAPD_TRY(om_.enumerate_instances(ctx_, cls, o));
      return ireturn([&] { return named_instances(std::move(cursor)); });
    }
    case op::enumerate_instance_names: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"ClassName"}));
      const auto cls = VSNAPD_TRY(p.class_name("ClassName", true));
      auto cursor = VSNAPD_TRY(om_.enumerate_instance_names(ctx_, cls));
      return ireturn([&] {
        return drain(std::move(cursor), [](std::string& out, class_cache&, const cim::object_path& path) {
          append_instance_name(out, path);
        });
      });
    }
    case op::create_instance: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"NewInstance"}));
      const pugi::xml_node v = p.value_of("NewInstance");
      if (!named(v, "INSTANCE")) {
        return fail(errc::invalid_parameter, "NewInstance must be an INSTANCE");
      }
      const auto inst = VSNAPD_TRY(parse_instance(v));
      const auto path = VSNAPD_TRY(om_.create_instance(ctx_, inst));
      return ireturn([&]() -> cim::result<void> {
        append_instance_name(out_, path);
        return {};
      });
    }
    case op::modify_instance: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"ModifiedInstance", "IncludeQualifiers",
                                                    "PropertyList"}));
      return modify_instance(p);
    }
    case op::delete_instance: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"InstanceName"}));
      const auto path = VSNAPD_TRY(p.object_name("InstanceName", ctx_.ns, false));
      return om_.delete_instance(ctx_, path);
    }
    case op::associators:
    case op::associator_names: {
      const bool names = id == op::associator_names;
      auto p = names ? VSNAPD_TRY(iparams::read(req_.call, {"ObjectName", "AssocClass", "ResultClass",
                                                            "Role", "ResultRole"}))
                     : VSNAPD_TRY(iparams::read(req_.call, {"ObjectName", "AssocClass", "ResultClass",
                                                            "Role", "ResultRole", "IncludeQualifiers",
                                                            "IncludeClassOrigin", "PropertyList"}));
      const auto source = VSNAPD_TRY(p.object_name("ObjectName", ctx_.ns, true));
      const auto o = VSNAPD_TRY(assoc_options(p, !names));
      if (names) {
        auto cursor = VSNAPD_TRY(om_.associator_names(ctx_, source, o));
        return ireturn([&] { return object_paths(std::move(cursor)); });
      }
      auto cursor = VSNAPD_TRY(om_.associators(ctx_, source, o));
      return ireturn([&] { return objects_with_path(std::move(cursor)); });
    }
    case op::references:
    case op::reference_names: {
      const bool names = id == op::reference_names;
      auto p = names ? VSNAPD_TRY(iparams::read(req_.call, {"ObjectName", "ResultClass", "Role"}))
                     : VSNAPD_TRY(iparams::read(req_.call, {"ObjectName", "ResultClass", "Role",
                                                            "IncludeQualifiers",
                                                            "IncludeClassOrigin", "PropertyList"}));
      const auto source = VSNAPD_TRY(p.object_name("ObjectName", ctx_.ns, true));
      const auto o = VSNAPD_TRY(ref_options(p, !names));
      if (names) {
        auto cursor = VSNAPD_TRY(om_.reference_names(ctx_, source, o));
        return ireturn([&] { return object_paths(std::move(cursor)); });
      }
      auto cursor = VSNAPD_TRY(om_.references(ctx_, source, o));
      return ireturn([&] { return objects_with_path(std::move(cursor)); });
    }
    case op::get_property: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"InstanceName", "PropertyName"}));
      return get_property(p);
    }
    case op::set_property: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"InstanceName", "PropertyName", "NewValue"}));
      return set_property(p);
    }
    case op::exec_query: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"QueryLanguage", "Query"}));
      const auto language = VSNAPD_TRY(p.string("QueryLanguage"));
      const auto query = VSNAPD_TRY(p.string("Query"));
      if (!language || !query) {
        return fail(errc::invalid_parameter, "ExecQuery needs QueryLanguage and Query");
      }
      auto cursor = VSNAPD_TRY(cim::exec_query(om_, ctx_, *language, *query));
      return ireturn([&] { return objects_with_path(std::move(cursor)); });
    }
    case op::get_qualifier: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"QualifierName"}));
      return qualifiers(p, true);
    }
    case op::enumerate_qualifiers: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {}));
      return qualifiers(p, false);
    }
    case op::set_qualifier:
    case op::delete_qualifier:
    case op::create_class:
    case op::modify_class:
    case op::delete_class:
      // The schema is compiled into the daemon at start-up (cimom/runtime.hpp) and read-only
      // while serving (object_manager.hpp), so schema changes over the wire are not offered.
      return fail(errc::not_supported,
                  req_.method + " is not supported: the schema is fixed while the server runs");
    case op::open_enumerate_instances:
    case op::open_enumerate_instance_paths:
    case op::open_associator_instances:
    case op::open_associator_instance_paths:
    case op::open_reference_instances:
    case op::open_reference_instance_paths:
    case op::open_query_instances: {
      std::vector<std::string_view> known;
      switch (id) {
        case op::open_enumerate_instances:
          known = {"ClassName", "DeepInheritance", "IncludeClassOrigin", "PropertyList"};
          break;
        case op::open_enumerate_instance_paths:
          known = {"ClassName"};
          break;
        case op::open_associator_instances:
          known = {"InstanceName", "AssocClass", "ResultClass", "Role", "ResultRole",
                   "IncludeClassOrigin", "PropertyList"};
          break;
        case op::open_associator_instance_paths:
          known = {"InstanceName", "AssocClass", "ResultClass", "Role", "ResultRole"};
          break;
        case op::open_reference_instances:
          known = {"InstanceName", "ResultClass", "Role", "IncludeClassOrigin", "PropertyList"};
          break;
        case op::open_reference_instance_paths:
          known = {"InstanceName", "ResultClass", "Role"};
          break;
        default:
          known = {"ReturnQueryResultClass"};
          break;
      }
      known.insert(known.end(), filter_params.begin(), filter_params.end());
      const auto p = VSNAPD_TRY(iparams::read(req_.call, known));
      return open(id, p);
    }
    case op::pull_instances_with_path:
    case op::pull_instance_paths:
    case op::pull_instances: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"EnumerationContext", "MaxObjectCount"}));
      return pull(id, p);
    }
    case op::close_enumeration:
    case op::enumeration_count: {
      auto p = VSNAPD_TRY(iparams::read(req_.call, {"EnumerationContext"}));
      const auto id_text = VSNAPD_TRY(p.string("EnumerationContext"));
      if (!id_text) {
        return fail(errc::invalid_parameter, "EnumerationContext is required");
      }
      auto ctx = VSNAPD_TRY(contexts_.check_out(*id_text, who_.user));
      if (id == op::close_enumeration) {
        contexts_.remove(*id_text);
        return {};
      }
      // The cursors cannot count what they have not produced; DSP0200 lets the server answer
      // NULL rather than walk the whole enumeration twice.
      contexts_.put_back(*id_text, std::move(ctx));
      out_ += "<IRETURNVALUE></IRETURNVALUE>";
      return {};
    }
  }
  return fail(errc::not_supported, req_.method + " is not supported");
}

cim::result<void> operation::get_class(const iparams& p) {
  const auto name = VSNAPD_TRY(p.class_name("ClassName", true));
  cim::get_class_options o;
  o.local_only = VSNAPD_TRY(p.boolean("LocalOnly", true));
  o.include_qualifiers = VSNAPD_TRY(p.boolean("IncludeQualifiers", true));
  o.include_class_origin = VSNAPD_TRY(p.boolean("IncludeClassOrigin", false));
  o.properties = VSNAPD_TRY(p.property_list("PropertyList"));
  const auto cls = VSNAPD_TRY(om_.get_class(ctx_, name, o));
  out_ += "<IRETURNVALUE>";
  append_class(out_, cls);
  out_ += "</IRETURNVALUE>";
  return {};
}

cim::result<void> operation::enumerate_classes(const iparams& p, bool names_only) {
  const auto name = VSNAPD_TRY(p.class_name("ClassName", false));
  const bool deep = VSNAPD_TRY(p.boolean("DeepInheritance", false));
  out_ += "<IRETURNVALUE>";
  if (names_only) {
    for (const std::string& n : VSNAPD_TRY(om_.enumerate_class_names(ctx_, name, deep))) {
      out_ += "<CLASSNAME NAME=\"";
      append_escaped(out_, n);
      out_ += "\"></CLASSNAME>";
    }
  } else {
    cim::enumerate_classes_options o;
    o.deep_inheritance = deep;
    o.local_only = VSNAPD_TRY(p.boolean("LocalOnly", true));
    o.include_qualifiers = VSNAPD_TRY(p.boolean("IncludeQualifiers", true));
    o.include_class_origin = VSNAPD_TRY(p.boolean("IncludeClassOrigin", false));
    for (const cim::class_decl& c : VSNAPD_TRY(om_.enumerate_classes(ctx_, name, o))) {
      append_class(out_, c);
    }
  }
  out_ += "</IRETURNVALUE>";
  return {};
}

cim::result<void> operation::get_property(const iparams& p) {
  const auto path = VSNAPD_TRY(p.object_name("InstanceName", ctx_.ns, false));
  const auto name = VSNAPD_TRY(p.string("PropertyName"));
  if (!name) {
    return fail(errc::invalid_parameter, "PropertyName is required");
  }
  cim::get_instance_options o;
  o.properties = std::vector<std::string>{*name};
  const auto inst = VSNAPD_TRY(om_.get_instance(ctx_, path, o));
  const cim::value* v = inst.get(*name);
  if (v == nullptr) {
    // The instance exists (get_instance succeeded), so the class lacks the property.
    return fail(errc::no_such_property,
                "class " + path.class_name() + " has no property named '" + *name + "'");
  }
  out_ += "<IRETURNVALUE>";
  append_value(out_, *v);
  out_ += "</IRETURNVALUE>";
  return {};
}

cim::result<void> operation::set_property(const iparams& p) {
  const auto path = VSNAPD_TRY(p.object_name("InstanceName", ctx_.ns, false));
  const auto name = VSNAPD_TRY(p.string("PropertyName"));
  if (!name) {
    return fail(errc::invalid_parameter, "PropertyName is required");
  }
  const cim::class_decl* cls = om_.repository().find_class(ctx_.ns, path.class_name());
  const cim::property_decl* decl = cls != nullptr ? cls->property(*name) : nullptr;
  if (cls != nullptr && decl == nullptr) {
    return fail(errc::no_such_property,
                "class " + path.class_name() + " has no property named '" + *name + "'");
  }
  // NewValue is typed from the schema: VALUE carries text only (DSP0200 section 5.3.2.13).
  cim::value v;
  if (decl != nullptr) {
    v = VSNAPD_TRY(parse_value_of(p.find("NewValue"), decl->type, decl->is_array));
  } else {
    v = VSNAPD_TRY(parse_value_of(p.find("NewValue"), cim_type::string, false));
  }
  cim::instance inst(path.class_name());
  inst.set(*name, std::move(v));
  return om_.modify_instance(ctx_, path, inst, std::vector<std::string>{*name});
}

cim::result<void> operation::modify_instance(const iparams& p) {
  const pugi::xml_node v = p.value_of("ModifiedInstance");
  if (!named(v, "VALUE.NAMEDINSTANCE")) {
    return fail(errc::invalid_parameter, "ModifiedInstance must be a VALUE.NAMEDINSTANCE");
  }
  auto path = VSNAPD_TRY(parse_instance_name(v.child("INSTANCENAME")));
  path.set_ns(ctx_.ns);
  const auto inst = VSNAPD_TRY(parse_instance(v.child("INSTANCE")));
  (void)VSNAPD_TRY(p.boolean("IncludeQualifiers", true));  // instances carry no qualifiers here
  const auto properties = VSNAPD_TRY(p.property_list("PropertyList"));
  return om_.modify_instance(ctx_, path, inst, properties);
}

cim::result<void> operation::qualifiers(const iparams& p, bool one) {
  const cim::class_repository& repo = om_.repository();
  if (!repo.has_namespace(ctx_.ns)) {
    return fail(errc::invalid_namespace, "namespace " + ctx_.ns + " does not exist");
  }
  if (one) {
    const auto name = VSNAPD_TRY(p.string("QualifierName"));
    if (!name) {
      return fail(errc::invalid_parameter, "QualifierName is required");
    }
    const cim::qualifier_decl* d = repo.find_qualifier_decl(ctx_.ns, *name);
    if (d == nullptr) {
      return fail(errc::not_found, "no qualifier type '" + *name + "' in " + ctx_.ns);
    }
    out_ += "<IRETURNVALUE>";
    append_qualifier_decl(out_, *d);
    out_ += "</IRETURNVALUE>";
    return {};
  }
  out_ += "<IRETURNVALUE>";
  for (const cim::qualifier_decl* d : repo.qualifier_decls(ctx_.ns)) {
    append_qualifier_decl(out_, *d);
  }
  out_ += "</IRETURNVALUE>";
  return {};
}

cim::result<cim::associators_options> operation::assoc_options(const iparams& p, bool with_props) {
  cim::associators_options o;
  o.assoc_class = VSNAPD_TRY(p.class_name("AssocClass", false));
  o.result_class = VSNAPD_TRY(p.class_name("ResultClass", false));
  o.role = VSNAPD_TRY(p.string("Role")).value_or("");
  o.result_role = VSNAPD_TRY(p.string("ResultRole")).value_or("");
  if (with_props) {
    (void)VSNAPD_TRY(p.boolean("IncludeQualifiers", false));
    (void)VSNAPD_TRY(p.boolean("IncludeClassOrigin", false));
    o.properties = VSNAPD_TRY(p.property_list("PropertyList"));
  }
  return o;
}

cim::result<cim::references_options> operation::ref_options(const iparams& p, bool with_props) {
  cim::references_options o;
  o.result_class = VSNAPD_TRY(p.class_name("ResultClass", false));
  o.role = VSNAPD_TRY(p.string("Role")).value_or("");
  if (with_props) {
    (void)VSNAPD_TRY(p.boolean("IncludeQualifiers", false));
    (void)VSNAPD_TRY(p.boolean("IncludeClassOrigin", false));
    o.properties = VSNAPD_TRY(p.property_list("PropertyList"));
  }
  return o;
}

cim::result<std::uint32_t> operation::max_object_count(const iparams& p, bool required) {
  const auto n = VSNAPD_TRY(p.uint32("MaxObjectCount"));
  if (!n && required) {
    // DSP0200 section 5.3.2.xx: Pull operations have no default for MaxObjectCount.
    return fail(errc::invalid_parameter, "MaxObjectCount is required");
  }
  // Open operations default to 0: open the context, return nothing yet.
  return std::min(n.value_or(0), limits_.max_object_count);
}

cim::result<bool> operation::write_items(enumeration_context& ctx, std::uint32_t max) {
  bool more = true;
  std::size_t written = 0;
  if (ctx.kind == pull_kind::paths) {
    std::vector<cim::object_path> batch;
    while (more && written < max) {
      batch.clear();
      more = VSNAPD_TRY(ctx.paths->next(batch, std::min<std::size_t>(write_batch, max - written)));
      for (const auto& path : batch) {
        append_instance_path(out_, with_ns(path, ctx.ns), who_.host);
      }
      written += batch.size();
    }
    return !more;
  }
  std::vector<cim::named_instance> batch;
  while (more && written < max) {
    batch.clear();
    more = VSNAPD_TRY(ctx.instances->next(batch, std::min<std::size_t>(write_batch, max - written)));
    for (const auto& n : batch) {
      if (ctx.kind == pull_kind::instances_with_path) {
        out_ += "<VALUE.INSTANCEWITHPATH>";
        append_instance_path(out_, with_ns(n.path, ctx.ns), who_.host);
        write_instance(n.inst, ns_of(n.path, ctx.ns));
        out_ += "</VALUE.INSTANCEWITHPATH>";
      } else {
        write_instance(n.inst, ns_of(n.path, ctx.ns));
      }
    }
    written += batch.size();
  }
  return !more;
}

void operation::write_pull_tail(bool end, const std::string& id) {
  out_ += "<PARAMVALUE NAME=\"EndOfSequence\" PARAMTYPE=\"boolean\"><VALUE>";
  out_ += end ? "TRUE" : "FALSE";
  out_ += "</VALUE></PARAMVALUE><PARAMVALUE NAME=\"EnumerationContext\" PARAMTYPE=\"string\">";
  if (!end) {
    out_ += "<VALUE>";
    append_escaped(out_, id);
    out_ += "</VALUE>";
  }
  out_ += "</PARAMVALUE>";
}

cim::result<void> operation::open(op id, const iparams& p) {
  // FilterQuery on Open* is DSP0212 FQL, which we do not evaluate (OpenQueryInstances takes
  // WQL/CQL instead); DSP0200 prescribes this status for it.
  const auto filter_language = VSNAPD_TRY(p.string("FilterQueryLanguage"));
  const auto filter = VSNAPD_TRY(p.string("FilterQuery"));
  if (id != op::open_query_instances && (filter_language || filter)) {
    return fail(errc::filtered_enumeration_not_supported,
                "filtered pull enumerations (FilterQuery) are not supported");
  }
  if (VSNAPD_TRY(p.boolean("ContinueOnError", false))) {
    // The object manager's cursors end at their first error, so there is nothing to continue.
    return fail(errc::continuation_on_error_not_supported, "ContinueOnError is not supported");
  }
  const auto requested_timeout = VSNAPD_TRY(p.uint32("OperationTimeout"));
  const auto timeout = VSNAPD_TRY(contexts_.grant_timeout(requested_timeout));
  const std::uint32_t max = VSNAPD_TRY(max_object_count(p, false));

  enumeration_context ctx;
  ctx.user = who_.user;
  ctx.ns = ctx_.ns;
  ctx.timeout = timeout;
  switch (id) {
    case op::open_enumerate_instances: {
      const auto cls = VSNAPD_TRY(p.class_name("ClassName", true));
      cim::enumerate_instances_options o;
      o.deep_inheritance = VSNAPD_TRY(p.boolean("DeepInheritance", true));
      (void)VSNAPD_TRY(p.boolean("IncludeClassOrigin", false));
      o.properties = VSNAPD_TRY(p.property_list("PropertyList"));
      ctx.instances = VSNAPD_TRY(om_.enumerate_instances(ctx_, cls, o));
      break;
    }
    case op::open_enumerate_instance_paths: {
      const auto cls = VSNAPD_TRY(p.class_name("ClassName", true));
      ctx.kind = pull_kind::paths;
      ctx.paths = VSNAPD_TRY(om_.enumerate_instance_names(ctx_, cls));
      break;
    }
    case op::open_associator_instances:
    case op::open_associator_instance_paths: {
      const bool paths = id == op::open_associator_instance_paths;
      const auto source = VSNAPD_TRY(p.object_name("InstanceName", ctx_.ns, false));
      const auto o = VSNAPD_TRY(assoc_options(p, !paths));
      if (paths) {
        ctx.kind = pull_kind::paths;
        ctx.paths = VSNAPD_TRY(om_.associator_names(ctx_, source, o));
      } else {
        ctx.instances = VSNAPD_TRY(om_.associators(ctx_, source, o));
      }
      break;
    }
    case op::open_reference_instances:
    case op::open_reference_instance_paths: {
      const bool paths = id == op::open_reference_instance_paths;
      const auto source = VSNAPD_TRY(p.object_name("InstanceName", ctx_.ns, false));
      const auto o = VSNAPD_TRY(ref_options(p, !paths));
      if (paths) {
        ctx.kind = pull_kind::paths;
        ctx.paths = VSNAPD_TRY(om_.reference_names(ctx_, source, o));
      } else {
        ctx.instances = VSNAPD_TRY(om_.references(ctx_, source, o));
      }
      break;
    }
    default: {
      const auto language = VSNAPD_TRY(p.string("FilterQueryLanguage"));
      const auto query = VSNAPD_TRY(p.string("FilterQuery"));
      if (!language || !query) {
        return fail(errc::invalid_parameter,
                    "OpenQueryInstances needs FilterQueryLanguage and FilterQuery");
      }
      if (VSNAPD_TRY(p.boolean("ReturnQueryResultClass", false))) {
        return fail(errc::not_supported, "ReturnQueryResultClass is not supported");
      }
      ctx.kind = pull_kind::instances;
      ctx.instances = VSNAPD_TRY(cim::exec_query(om_, ctx_, *language, *query));
      break;
    }
  }
  out_ += "<IRETURNVALUE>";
  const bool end = VSNAPD_TRY(write_items(ctx, max));
  out_ += "</IRETURNVALUE>";
  std::string context_id;
  if (!end) {
    context_id = VSNAPD_TRY(contexts_.add(std::move(ctx)));
  }
  write_pull_tail(end, context_id);
  return {};
}

cim::result<void> operation::pull(op id, const iparams& p) {
  const auto id_text = VSNAPD_TRY(p.string("EnumerationContext"));
  if (!id_text) {
    return fail(errc::invalid_parameter, "EnumerationContext is required");
  }
  const std::uint32_t max = VSNAPD_TRY(max_object_count(p, true));
  auto ctx = VSNAPD_TRY(contexts_.check_out(*id_text, who_.user));
  const pull_kind wanted = id == op::pull_instance_paths ? pull_kind::paths
                           : id == op::pull_instances    ? pull_kind::instances
                                                         : pull_kind::instances_with_path;
  if (ctx->kind != wanted) {
    // DSP0200: the Pull must match the Open; the context stays usable for the right one.
    contexts_.put_back(*id_text, std::move(ctx));
    return fail(errc::invalid_enumeration_context,
                req_.method + " does not match the operation that opened context '" + *id_text + "'");
  }
  out_ += "<IRETURNVALUE>";
  auto end = write_items(*ctx, max);
  if (!end) {
    contexts_.remove(*id_text);  // the cursor stopped at its error; nothing more will come
    return end.error();
  }
  out_ += "</IRETURNVALUE>";
  if (*end) {
    contexts_.remove(*id_text);
  } else {
    contexts_.put_back(*id_text, std::move(ctx));
  }
  write_pull_tail(*end, *id_text);
  return {};
}

// --- Extrinsic methods ---------------------------------------------------------------------

// PARAMTYPE names (DSP0201): the CIM types plus "reference", "object" and "instance" for
// embedded objects.
std::optional<cim_type> param_type(std::string_view name) {
  if (iequals(name, "instance") || iequals(name, "object")) {
    return cim_type::object;
  }
  return cim::parse_cim_type(name);
}

void append_param_attrs(std::string& out, cim_type t) {
  out += " PARAMTYPE=\"";
  out += t == cim_type::object ? std::string_view("string") : cim::to_string(t);
  out += '"';
  if (t == cim_type::object) {
    out += " EmbeddedObject=\"instance\"";
  }
}

cim::result<void> operation::run_extrinsic() {
  const cim::class_decl* cls = om_.repository().find_class(req_.ns, req_.target.class_name());
  const cim::method_decl* method = cls != nullptr ? cls->method(req_.method) : nullptr;
  std::vector<cim::param_value> in;
  for (pugi::xml_node p = next_element(first_element(req_.call)); p; p = next_element(p)) {
    const std::string name = p.attribute("NAME").value();
    // wbemcli sends no PARAMTYPE, so the schema types the value; PARAMTYPE serves where the
    // schema has no such parameter (the object manager then names the unknown parameter).
    const cim::parameter_decl* decl = method != nullptr ? method->parameter(name) : nullptr;
    cim_type type = cim_type::string;
    bool is_array = false;
    if (decl != nullptr) {
      type = decl->type;
      is_array = decl->is_array;
    } else if (const pugi::xml_attribute t = p.attribute("PARAMTYPE")) {
      const auto parsed = param_type(t.value());
      if (!parsed) {
        return fail(errc::invalid_parameter,
                    "parameter '" + name + "' has an unknown PARAMTYPE '" + t.value() + "'");
      }
      type = *parsed;
    }
    if (is_embedded(p)) {
      type = cim_type::object;
    }
    auto v = parse_value_of(p, type, is_array);
    if (!v) {
      return fail(v.error().code, "parameter '" + name + "': " + v.error().description);
    }
    in.push_back(cim::param_value{name, std::move(*v)});
  }
  const auto r = VSNAPD_TRY(om_.invoke_method(ctx_, req_.target, req_.method, std::move(in)));
  out_ += "<RETURNVALUE";
  append_param_attrs(out_, r.return_value.type());
  out_ += '>';
  append_value(out_, r.return_value);
  out_ += "</RETURNVALUE>";
  for (const cim::param_value& p : r.out) {
    out_ += "<PARAMVALUE NAME=\"";
    append_escaped(out_, p.name);
    out_ += '"';
    append_param_attrs(out_, p.v.type());
    out_ += '>';
    append_value(out_, p.v);
    out_ += "</PARAMVALUE>";
  }
  return {};
}

// DSP0200 section 7.4: the description trailer is percent-encoded (an error description may
// hold any character; a field value may not). Everything but RFC 3986 unreserved is escaped.
std::string percent_encode(std::string_view text) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

// The rest of an enumeration past the streaming threshold: first what was written before it
// (the document head and the first batches), then one batch at a time from the cursor, then
// the closing tags; handed out in pieces of at most piece_size.
class streamed_rest final : public body_source {
 public:
  streamed_rest(std::string head, std::function<cim::result<bool>(std::string&)> more,
                std::string tail)
      : pending_(std::move(head)), more_(std::move(more)), tail_(std::move(tail)) {}

  // server::body_source
  bool next(std::string& piece) override {
    piece.clear();
    while (pending_.size() - offset_ < piece_size && more_) {
      pending_.erase(0, offset_);
      offset_ = 0;
      auto r = more_(pending_);
      if (!r) {
        failure_ = std::move(r.error());
        more_ = nullptr;
        pending_.clear();
        log::write(log::level::warning, "server.cimxml",
                   "streamed enumeration failed after its headers: " +
                       std::string(cim::to_string(failure_->code)) + ": " + failure_->description);
        return false;
      }
      if (!*r) {
        more_ = nullptr;
        pending_ += tail_;
      }
    }
    const std::size_t n = std::min(piece_size, pending_.size() - offset_);
    if (n == 0) {
      return false;
    }
    piece.assign(pending_, offset_, n);
    offset_ += n;
    return true;
  }

  bool ready() const override { return !more_ || pending_.size() - offset_ >= piece_size; }

  bool failed() const override { return failure_.has_value(); }

  std::string_view trailer_names() const override {
    return "CIMStatusCode, CIMStatusCodeDescription";
  }

  std::vector<std::pair<std::string, std::string>> trailers() const override {
    if (!failure_) {
      return {{"CIMStatusCode", "0"}};
    }
    std::string text(cim::to_string(failure_->code));
    if (!failure_->description.empty()) {
      text += ": ";
      text += failure_->description;
    }
    return {{"CIMStatusCode", std::to_string(error_code_of(failure_->code))},
            {"CIMStatusCodeDescription", percent_encode(text)}};
  }

 private:
  static constexpr std::size_t piece_size = 64 * 1024;

  std::string pending_;
  std::size_t offset_ = 0;
  std::function<cim::result<bool>(std::string&)> more_;
  std::string tail_;
  std::optional<cim::error> failure_;
};

}  // namespace

std::uint32_t error_code_of(cim::errc e) {
  // cim::errc is numbered as DSP0200 numbers the status codes; the switch keeps this the one
  // place that decides, and fails to compile quietly if a code is added without a decision.
  switch (e) {
    case errc::ok:
    case errc::failed:
    case errc::access_denied:
    case errc::invalid_namespace:
    case errc::invalid_parameter:
    case errc::invalid_class:
    case errc::not_found:
    case errc::not_supported:
    case errc::class_has_children:
    case errc::class_has_instances:
    case errc::invalid_superclass:
    case errc::already_exists:
    case errc::no_such_property:
    case errc::type_mismatch:
    case errc::query_language_not_supported:
    case errc::invalid_query:
    case errc::method_not_available:
    case errc::method_not_found:
    case errc::namespace_not_empty:
    case errc::invalid_enumeration_context:
    case errc::invalid_operation_timeout:
    case errc::pull_has_been_abandoned:
    case errc::pull_cannot_be_abandoned:
    case errc::filtered_enumeration_not_supported:
    case errc::continuation_on_error_not_supported:
    case errc::server_limits_exceeded:
    case errc::server_is_shutting_down:
      return static_cast<std::uint32_t>(e);
  }
  return static_cast<std::uint32_t>(errc::failed);
}

bool allowed(role r, std::string_view intrinsic_method, bool extrinsic) {
  switch (r) {
    case role::admin:
      return true;
    case role::operator_:
      if (extrinsic) {
        return true;
      }
      [[fallthrough]];
    case role::reader: {
      if (extrinsic) {
        return false;
      }
      const op_entry* e = find_op(intrinsic_method);
      return e != nullptr && e->reads;
    }
  }
  return false;
}

endpoint::endpoint(const cim::object_manager& om, limits l, enumeration_contexts::clock_fn now)
    : om_(om), limits_(l), contexts_(l.pull, std::move(now)) {}

reply endpoint::handle(std::string_view verb, const http::fields& fields, std::string body,
                       const caller& who, bool may_stream) {
  reply out;
  auto headers = read_operation_headers(fields, verb);
  if (auto* f = std::get_if<http_failure>(&headers)) {
    out.status = f->status;
    out.cim_error = f->cim_error;
    out.body = std::move(f->description);
    return out;
  }
  const operation_headers& h = std::get<operation_headers>(headers);
  out.mpost_prefix = h.mpost_prefix;

  pugi::xml_document doc;
  auto decoded = decode(doc, body, h);
  if (auto* f = std::get_if<http_failure>(&decoded)) {
    out.status = f->status;
    out.cim_error = f->cim_error;
    out.body = std::move(f->description);
    return out;
  }
  const decoded_request& req = std::get<decoded_request>(decoded);

  response_writer w(out.body, req);
  operation run(om_, contexts_, limits_, req, who, w);
  cim::result<void> r;
  const op_entry* entry = req.intrinsic ? find_op(req.method) : nullptr;
  if (req.intrinsic && entry == nullptr) {
    // DSP0200 section 5.3.1: an intrinsic method the server does not know.
    r = fail(errc::not_supported, "intrinsic method '" + req.method + "' is not supported");
  } else if (!allowed(who.user_role, req.method, !req.intrinsic)) {
    r = fail(errc::access_denied, "user '" + who.user + "' (" +
                                      std::string(to_string(who.user_role)) + ") may not call " +
                                      req.method);
  } else {
    if (may_stream && limits_.stream_after != 0) {
      run.stream_after(limits_.stream_after);
    }
    r = req.intrinsic ? run.run_intrinsic(entry->id) : run.run_extrinsic();
  }
  if (!r) {
    w.error(r.error());
  } else if (auto rest = run.take_rest()) {
    std::string tail = "</IRETURNVALUE>";
    tail += response_writer::closing(req.intrinsic);
    out.stream = std::make_unique<streamed_rest>(std::move(out.body), std::move(rest), std::move(tail));
    out.body.clear();
    return out;
  }
  w.finish();
  return out;
}

}  // namespace vsnapd::server::cimxml
