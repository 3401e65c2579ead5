#include "server/wsman/endpoint.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "cimom/name.hpp"
#include "cimom/object_manager.hpp"
#include "cimom/query/query.hpp"
#include "cimom/query_executor.hpp"
#include "common/text.hpp"
#include "common/uuid.hpp"
#include "common/xml/escape.hpp"
#include "common/xml/qname.hpp"
#include "server/cimxml/class_codec.hpp"
#include "server/soap/duration.hpp"
#include "server/soap/namespaces.hpp"
#include "server/version.hpp"
#include "server/wsman/codec.hpp"
#include "server/wsman/resource_uri.hpp"

namespace vsnapd::server::wsman {
namespace {

using soap::fault;
using soap::fault_code;
using soap::fault_detail;

constexpr std::string_view profile_prefix =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/";
constexpr std::string_view transfer_action = "http://schemas.xmlsoap.org/ws/2004/09/transfer/";
constexpr std::string_view enumeration_action =
    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/";
constexpr std::string_view eventing_action = "http://schemas.xmlsoap.org/ws/2004/08/eventing/";

// Filter dialects (DSP0226 section 8.3, DSP0227 section 7), compared case-insensitively.
constexpr std::string_view selector_dialects[] = {
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter",
    "http://schemas.microsoft.com/wbem/wsman/1/wsman/SelectorFilter"};
constexpr std::string_view association_dialect =
    "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter";

// DSP0226 R8.2.3-?: MaxElements defaults to 1 when absent. A ceiling keeps one reply bounded
// even when a client asks for everything (Windows sends 32000).
constexpr std::uint64_t max_items_per_reply = 32000;
// Bytes kept free in a reply for the envelope around the items.
constexpr std::size_t envelope_overhead = 1024;
// Provider batch size for one cursor read.
constexpr std::size_t cursor_batch = 100;

std::string render_identify(transport t, const endpoint::security& s) {
  std::string out;
  out += R"(<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s=")";
  out += server::ns::soap;
  out += R"(" xmlns:wsmid=")";
  out += server::ns::identity;
  out += R"("><s:Header/><s:Body><wsmid:IdentifyResponse><wsmid:ProtocolVersion>)";
  out += server::ns::wsman;
  out += "</wsmid:ProtocolVersion><wsmid:ProductVendor>";
  out += product_vendor;
  out += "</wsmid:ProductVendor><wsmid:ProductVersion>";
  out += product_version;
  out += "</wsmid:ProductVersion><wsmid:SecurityProfiles>";
  auto profile = [&out](std::string_view name) {
    out += "<wsmid:SecurityProfileName>";
    out += profile_prefix;
    out += name;
    out += "</wsmid:SecurityProfileName>";
  };
  if (t == transport::https) {
    if (s.basic) {
      profile("https/basic");
    }
    if (s.digest) {
      profile("https/digest");
    }
    if (s.mutual) {
      profile("https/mutual");
    }
  } else {
    if (s.basic && s.basic_over_http) {
      profile("http/basic");
    }
    if (s.digest) {
      profile("http/digest");
    }
  }
  out += "</wsmid:SecurityProfiles></wsmid:IdentifyResponse></s:Body></s:Envelope>";
  return out;
}

fault make_fault(fault_code code, std::string reason, std::optional<fault_detail> detail = {}) {
  return fault{code, detail, std::move(reason), {}, {}, 0};
}

/// What an action is, for authorization and routing.
enum class operation : std::uint8_t {
  get,
  put,
  create,
  del,
  enumerate,
  pull,
  release,
  renew,
  get_status,
  invoke
};

bool allowed(role r, operation op) {
  switch (op) {
    case operation::get:
    case operation::enumerate:
    case operation::pull:
    case operation::release:
    case operation::renew:
    case operation::get_status:
      return true;
    case operation::invoke:
      return r == role::operator_ || r == role::admin;
    case operation::put:
    case operation::create:
    case operation::del:
      return r == role::admin;
  }
  return false;
}

std::optional<operation> classify(std::string_view action) {
  if (action.substr(0, transfer_action.size()) == transfer_action) {
    const std::string_view verb = action.substr(transfer_action.size());
    if (verb == "Get") {
      return operation::get;
    }
    if (verb == "Put") {
      return operation::put;
    }
    if (verb == "Create") {
      return operation::create;
    }
    if (verb == "Delete") {
      return operation::del;
    }
    return std::nullopt;
  }
  if (action.substr(0, enumeration_action.size()) == enumeration_action) {
    const std::string_view verb = action.substr(enumeration_action.size());
    if (verb == "Enumerate") {
      return operation::enumerate;
    }
    if (verb == "Pull") {
      return operation::pull;
    }
    if (verb == "Release") {
      return operation::release;
    }
    if (verb == "Renew") {
      return operation::renew;
    }
    if (verb == "GetStatus") {
      return operation::get_status;
    }
    return std::nullopt;
  }
  if (action.substr(0, eventing_action.size()) == eventing_action) {
    return std::nullopt;  // WS-Eventing is not served (its own issue)
  }
  // Anything else names a custom action: <ResourceURI>/<Method>.
  if (action.find('/') != std::string_view::npos && action.back() != '/') {
    return operation::invoke;
  }
  return std::nullopt;
}

// A cursor over paths presented as named instances with empty instances (EPR mode needs
// only the paths, and the *_names operations avoid fetching instances).
class paths_as_items final : public cim::named_instance_cursor {
 public:
  explicit paths_as_items(std::unique_ptr<cim::path_cursor> inner) : inner_(std::move(inner)) {}
  cim::result<bool> next(std::vector<cim::named_instance>& batch, std::size_t max) override {
    paths_.clear();
    auto more = inner_->next(paths_, max);
    if (!more) {
      return more.error();
    }
    for (cim::object_path& p : paths_) {
      batch.push_back(cim::named_instance{std::move(p), {}});
    }
    return *more;
  }

 private:
  std::unique_ptr<cim::path_cursor> inner_;
  std::vector<cim::object_path> paths_;
};

// The selector filter (DSP0226 section 8.3.2): instances whose named properties have the given
// text values.
class selector_filtered final : public cim::named_instance_cursor {
 public:
  selector_filtered(std::unique_ptr<cim::named_instance_cursor> inner,
                    std::vector<std::pair<std::string, std::string>> selectors)
      : inner_(std::move(inner)), selectors_(std::move(selectors)) {}
  cim::result<bool> next(std::vector<cim::named_instance>& batch, std::size_t max) override {
    const std::size_t start = batch.size();
    bool more = true;
    while (more && batch.size() == start) {
      buf_.clear();
      auto r = inner_->next(buf_, max);
      if (!r) {
        return r.error();
      }
      more = *r;
      for (cim::named_instance& ni : buf_) {
        if (matches(ni)) {
          batch.push_back(std::move(ni));
        }
      }
    }
    return more;
  }

 private:
  bool matches(const cim::named_instance& ni) const {
    for (const auto& [name, text] : selectors_) {
      const cim::value* v = ni.inst.get(name);
      if (v == nullptr) {
        v = ni.path.key(name);
      }
      if (v == nullptr || v->is_null() || v->is_array() || cim::to_text(v->as_scalar()) != text) {
        return false;
      }
    }
    return true;
  }
  std::unique_ptr<cim::named_instance_cursor> inner_;
  std::vector<std::pair<std::string, std::string>> selectors_;
  std::vector<cim::named_instance> buf_;
};

// The reply being built: envelope, header, body, straight into one string.
class reply_writer {
 public:
  reply_writer(std::string_view action, std::optional<std::string_view> relates_to,
               std::string message_id, std::string_view extra_ns = {}) {
    out_.reserve(2048);
    out_ += R"(<?xml version="1.0" encoding="UTF-8"?><s:Envelope)";
    out_ += envelope_namespaces();
    out_ += extra_ns;
    out_ += "><s:Header><wsa:To>";
    out_ += ns::anonymous_address;
    out_ += "</wsa:To><wsa:Action>";
    xml::append_escaped(out_, action);
    out_ += "</wsa:Action>";
    if (relates_to) {
      out_ += "<wsa:RelatesTo>";
      xml::append_escaped(out_, *relates_to);
      out_ += "</wsa:RelatesTo>";
    }
    out_ += "<wsa:MessageID>";
    out_ += message_id;
    out_ += "</wsa:MessageID>";
  }
  std::string& out() { return out_; }
  void begin_body() { out_ += "</s:Header><s:Body>"; }
  std::string finish() {
    out_ += "</s:Body></s:Envelope>";
    return std::move(out_);
  }

 private:
  std::string out_;
};

std::string response_action(std::string_view action) {
  std::string a(action);
  a += "Response";
  return a;
}

// The selectors of a SelectorSet: name -> text or EPR value, in order.
struct selector {
  std::string name;
  cim::value v;
};

boost::system::result<std::vector<selector>, fault> read_selectors(pugi::xml_node set,
                                                                   const read_context& rc) {
  std::vector<selector> out;
  for (pugi::xml_node s = xml::first_element(set); s; s = s.next_sibling()) {
    if (s.type() != pugi::node_element || !xml::is(s, ns::wsman, "Selector")) {
      continue;
    }
    std::string name = s.attribute("Name").value();
    for (const selector& seen : out) {
      if (cim::name_equal(seen.name, name)) {
        return make_fault(fault_code::invalid_selectors,
                          "The selector '" + name + "' appears more than once.",
                          fault_detail::duplicate_selectors);
      }
    }
    if (xml::first_element(s)) {
      auto ref = parse_epr(s, rc);
      if (!ref) {
        return make_fault(fault_code::invalid_selectors,
                          "The selector '" + name + "' is not a valid endpoint reference: " +
                              ref.error().description + ".",
                          fault_detail::invalid_value);
      }
      out.push_back(
          {std::move(name),
           cim::value(cim::scalar(std::make_shared<const cim::object_path>(std::move(*ref))))});
    } else {
      out.push_back({std::move(name), cim::value(cim::scalar(element_text(s)))});
    }
  }
  return out;
}

std::optional<std::string_view> namespace_selector(pugi::xml_node set) {
  for (pugi::xml_node s = xml::first_element(set); s; s = s.next_sibling()) {
    if (xml::is(s, ns::wsman, "Selector") &&
        cim::name_equal(s.attribute("Name").value(), "__cimnamespace")) {
      return xml::trimmed_text(s);
    }
  }
  return std::nullopt;
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<std::uint64_t> read_uint(pugi::xml_node n) {
  const std::string_view v = xml::trimmed_text(n);
  std::uint64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || end != v.data() + v.size()) {
    return std::nullopt;
  }
  return out;
}

// wsman:FragmentTransfer, XPath level 1 (DSP0226 ANNEX D): `Prop`, `p:Prop`, `/p:Class/p:Prop`,
// each optionally followed by `/text()`.
struct fragment {
  std::string property;
  bool text_only = false;
};

boost::system::result<fragment, fault> read_fragment(pugi::xml_node header,
                                                     const cim::class_decl& cls) {
  std::string_view expr = xml::trimmed_text(header);
  if (auto d = header.attribute("Dialect");
      d && !iequals(d.value(), "http://www.w3.org/TR/1999/REC-xpath-19991116") &&
      !iequals(d.value(), "http://schemas.dmtf.org/wbem/wsman/1/wsman/XPath")) {
    return make_fault(fault_code::unsupported_feature,
                      "The fragment dialect '" + std::string(d.value()) + "' is not supported.",
                      fault_detail::fragment_level_access);
  }
  fragment f;
  constexpr std::string_view text_step = "/text()";
  if (expr.size() > text_step.size() && expr.substr(expr.size() - text_step.size()) == text_step) {
    f.text_only = true;
    expr.remove_suffix(text_step.size());
  }
  std::string_view step =
      expr.substr(expr.rfind('/') == std::string_view::npos ? 0 : expr.rfind('/') + 1);
  step = xml::local_name(step);
  if (step.empty() || step.find_first_of("[]()@*") != std::string_view::npos) {
    return make_fault(fault_code::unsupported_feature,
                      "The fragment expression '" + std::string(xml::trimmed_text(header)) +
                          "' is beyond XPath level 1 (one property, optionally /text()).",
                      fault_detail::fragment_level_access);
  }
  const cim::property_decl* p = cls.property(step);
  if (p == nullptr) {
    return make_fault(fault_code::invalid_parameter,
                      "The fragment names '" + std::string(step) +
                          "', which is not a property of " + cls.name + ".",
                      fault_detail::invalid_value);
  }
  f.property = p->name;
  return f;
}

}  // namespace

bool parsed_request::is_identify() const {
  const auto* env = std::get_if<soap::envelope>(&envelope);
  return env != nullptr && env->is_identify;
}

endpoint::endpoint(std::size_t max_envelope_size, const security& profiles)
    : endpoint(options{max_envelope_size, profiles, 64, std::chrono::seconds(600), "localhost", {}},
               nullptr) {}

endpoint::endpoint(const options& opts, const cim::object_manager& om) : endpoint(opts, &om) {}

endpoint::endpoint(const options& opts, const cim::object_manager* om)
    : opts_(opts),
      om_(om),
      enumerations_(std::make_unique<enumeration_table>(opts.max_enumerations_per_user,
                                                        opts.enumeration_expiry)),
      now_([] { return clock::now(); }),
      identify_http_(render_identify(transport::http, opts.profiles)),
      identify_https_(render_identify(transport::https, opts.profiles)) {}

endpoint::~endpoint() = default;

void endpoint::set_clock_for_test(std::function<clock::time_point()> now) { now_ = std::move(now); }

void endpoint::set_message_ids_for_test(std::function<std::string()> next) {
  message_ids_ = std::move(next);
}

std::string endpoint::message_id() const { return message_ids_ ? message_ids_() : "uuid:" + random_uuid(); }

void endpoint::parse(parsed_request& out, std::string&& body) const {
  out.text = std::move(body);
  out.envelope = soap::parse_envelope(out.doc, out.text, opts_.max_envelope_size);
}

reply endpoint::dispatch(const parsed_request& request, transport t) const {
  if (const auto* err = std::get_if<soap::envelope_error>(&request.envelope)) {
    return {soap::render(err->fault, err->message_id, message_id(), opts_.machine), true};
  }
  const auto& env = std::get<soap::envelope>(request.envelope);
  if (env.is_identify) {
    return {t == transport::https ? identify_https_ : identify_http_, false};
  }
  fault f = make_fault(fault_code::access_denied, "This action needs an authenticated user.");
  return {soap::render(f, env.message_id, message_id(), opts_.machine), true};
}

reply endpoint::dispatch(const parsed_request& request, transport t, const caller& who) const {
  if (std::holds_alternative<soap::envelope_error>(request.envelope) || request.is_identify()) {
    return dispatch(request, t);
  }
  return handle(std::get<soap::envelope>(request.envelope), who);
}

reply endpoint::fault_reply(const soap::fault& f) const {
  return {soap::render(f, std::nullopt, message_id(), opts_.machine), true};
}

namespace {

fault timeout_fault() {
  return make_fault(fault_code::timed_out,
                    "The operation did not complete within the wsman:OperationTimeout.",
                    fault_detail::operation_timeout);
}

}  // namespace

// Per-request state and the handlers of each operation.
struct endpoint::request_state {
  const endpoint& ep;
  const soap::envelope& env;
  const caller& who;
  operation op;
  const cim::class_repository& repo;
  std::optional<std::string_view> cimns;  ///< the __cimnamespace selector
  clock::time_point start;
  std::optional<clock::time_point> deadline;  ///< from wsman:OperationTimeout
  std::size_t reply_limit;                    ///< MaxEnvelopeSize of the reply
  std::string wsen_ns = std::string(" xmlns:wsen=\"") + std::string(ns::enumeration) + "\"";

  read_context reader(std::string_view ns) const {
    return read_context{&repo, ns, ep.opts_.parse_cimxml_instance};
  }
  cim::operation_context context(std::string_view ns) const {
    return cim::operation_context{std::string(ns), std::string(who.user)};
  }
  bool timed_out() const { return deadline && ep.now_() >= *deadline; }

  reply fail(const fault& f) const {
    return reply{soap::render(f, env.message_id, ep.message_id(), ep.opts_.machine), true};
  }
  auto resolve_resource() const { return resolve(repo, env.resource_uri, cimns); }
  boost::system::result<cim::object_path, fault> path_from_selectors(const resource& r) const {
    auto sels = read_selectors(env.selector_set, reader(r.ns));
    if (!sels) {
      return sels.error();
    }
    cim::object_path path(r.ns, r.cls->name);
    const auto keys = r.cls->keys();
    std::size_t given = 0;
    for (selector& s : *sels) {
      if (cim::name_equal(s.name, "__cimnamespace")) {
        continue;
      }
      const cim::property_decl* p = r.cls->property(s.name);
      if (p == nullptr || !p->is_key()) {
        return make_fault(fault_code::invalid_selectors,
                          "'" + s.name + "' is not a key of " + r.cls->name + ".",
                          fault_detail::unexpected_selectors);
      }
      ++given;
      path.set_key(p->name, std::move(s.v));
    }
    if (keys.empty()) {
      path.set_singleton(true);
      return path;
    }
    if (given == 0) {
      return make_fault(fault_code::invalid_selectors,
                        "No selectors were given; " + r.cls->name + " has " +
                            std::to_string(keys.size()) +
                            " key(s), so they do not identify one instance.",
                        fault_detail::ambiguous_selectors);
    }
    if (given < keys.size()) {
      std::string missing;
      for (const cim::property_decl* k : keys) {
        if (path.key(k->name) == nullptr) {
          missing += missing.empty() ? "" : ", ";
          missing += k->name;
        }
      }
      return make_fault(
          fault_code::invalid_selectors,
          "The selectors do not give the key(s) " + missing + " of " + r.cls->name + ".",
          fault_detail::insufficient_selectors);
    }
    return path;
  }
  /// Invoke only: selectors that give some keys but not all name the one instance they match,
  /// as Hyper-V's WinRM does (go-wsman invokes the snapshot service with CreationClassName
  /// alone). Get, Put and Delete keep DSP0226's InsufficientSelectors.
  boost::system::result<cim::object_path, fault> complete_selectors(const resource& r,
                                                                    fault insufficient) const {
    auto sels = read_selectors(env.selector_set, reader(r.ns));
    if (!sels) {
      return sels.error();
    }
    auto cursor = ep.om_->enumerate_instance_names(context(r.ns), r.cls->name);
    if (!cursor) {
      return soap::from_cim(cursor.error());
    }
    std::optional<cim::object_path> found;
    std::vector<cim::object_path> batch;
    for (bool more = true; more;) {
      batch.clear();
      auto next = (*cursor)->next(batch, 256);
      if (!next) {
        return soap::from_cim(next.error());
      }
      more = *next;
      for (auto& candidate : batch) {
        const bool matches = std::all_of(sels->begin(), sels->end(), [&](const selector& s) {
          if (cim::name_equal(s.name, "__cimnamespace")) {
            return true;
          }
          const cim::value* k = candidate.key(s.name);
          return k != nullptr && *k == s.v;
        });
        if (!matches) {
          continue;
        }
        if (found) {
          insufficient.detail = fault_detail::ambiguous_selectors;
          insufficient.reason += " They match more than one instance.";
          return insufficient;
        }
        found = std::move(candidate);
      }
    }
    if (!found) {
      return soap::from_cim(cim::error{cim::errc::not_found,
                                       "no instance of " + r.cls->name + " matches the selectors",
                                       {}});
    }
    return std::move(*found);
  }
  std::optional<fault> need_class(const resource& r) const {
    if (r.what == resource::kind::one_class) {
      return std::nullopt;
    }
    return make_fault(fault_code::destination_unreachable,
                      "The resource URI '" + std::string(env.resource_uri) +
                          "' does not name one class; this action needs one.",
                      fault_detail::invalid_resource_uri);
  }
  reply finish(reply_writer& w) const {
    std::string body = w.finish();
    if (body.size() > reply_limit) {
      return fail(make_fault(fault_code::encoding_limit,
                             "The reply of " + std::to_string(body.size()) +
                                 " bytes exceeds the MaxEnvelopeSize of " +
                                 std::to_string(reply_limit) + " bytes.",
                             fault_detail::max_envelope_size));
    }
    return reply{std::move(body), false};
  }
  boost::system::result<bool, fault> fill(enumeration_context& ctx, std::uint64_t max_elements,
                                          std::size_t max_chars,
                                          std::optional<clock::time_point> deadline_at,
                                          std::string& out) const {
    write_context wc{static_cast<uri_style>(ctx.style), ctx.ns, &repo};
    std::string item;
    std::uint64_t count = 0;
    while (count < max_elements) {
      if (ctx.pending.empty()) {
        if (ctx.cursor_done) {
          break;
        }
        if (count > 0 && deadline_at && ep.now_() >= *deadline_at) {
          break;  // MaxTime / OperationTimeout: send what we have
        }
        std::vector<cim::named_instance> batch;
        auto more = ctx.cursor->next(batch, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                cursor_batch, max_elements - count)));
        if (!more) {
          return soap::from_cim(more.error());
        }
        ctx.cursor_done = !*more;
        std::reverse(batch.begin(), batch.end());  // pending is consumed from the back
        ctx.pending = std::move(batch);
        continue;
      }
      cim::named_instance& ni = ctx.pending.back();
      item.clear();
      switch (ctx.mode) {
        case enumeration_mode::objects:
          append_instance(item, ni.inst, wc);
          break;
        case enumeration_mode::eprs:
          append_epr(item, ni.path, wc);
          break;
        case enumeration_mode::objects_and_eprs:
          item += "<wsman:Item>";
          append_instance(item, ni.inst, wc);
          append_epr(item, ni.path, wc);
          item += "</wsman:Item>";
          break;
      }
      if (out.size() + item.size() > max_chars) {
        if (count == 0) {
          return make_fault(fault_code::encoding_limit,
                            "The next item (" + std::to_string(item.size()) +
                                " bytes) does not fit the reply limit of " +
                                std::to_string(max_chars) + " characters.",
                            fault_detail::max_envelope_size);
        }
        break;  // the item stays pending for the next Pull
      }
      out += item;
      ctx.pending.pop_back();
      ++count;
      ++ctx.sent;
    }
    if (count == 0 && !(ctx.cursor_done && ctx.pending.empty()) && deadline_at &&
        ep.now_() >= *deadline_at) {
      return timeout_fault();
    }
    return ctx.cursor_done && ctx.pending.empty();
  }
  boost::system::result<std::optional<clock::time_point>, fault> parse_expires(
      pugi::xml_node body) const {
    const pugi::xml_node e = xml::child(body, ns::enumeration, "Expires");
    if (!e) {
      return std::optional<clock::time_point>{};
    }
    const std::string_view text = xml::trimmed_text(e);
    auto d = soap::parse_duration(text);
    if (!d) {
      // WS-Enumeration also allows an absolute xs:dateTime: turn it into the time left.
      if (const auto at = parse_xs_datetime(text); at && at->unix_micros()) {
        const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        d = std::chrono::microseconds(*at->unix_micros() - now_us);
      }
    }
    if (!d || d->count() <= 0) {
      return make_fault(fault_code::invalid_expiration_time,
                        "wsen:Expires '" + std::string(text) +
                            "' is neither a positive xs:duration nor a future xs:dateTime.");
    }
    return std::optional<clock::time_point>(ep.now_() +
                                            std::chrono::duration_cast<clock::duration>(*d));
  }
  void append_expires(std::string& out, clock::time_point at) const {
    out += "<wsen:Expires>";
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(at - ep.now_());
    soap::append_duration(out, static_cast<std::uint64_t>(std::max<std::int64_t>(0, left.count())));
    out += "</wsen:Expires>";
  }
  static std::string_view context_of(pugi::xml_node body) {
    return xml::trimmed_text(xml::child(body, ns::enumeration, "EnumerationContext"));
  }
  fault invalid_context(std::string_view id) const {
    return make_fault(fault_code::invalid_enumeration_context,
                      "The enumeration context '" + std::string(id) +
                          "' is unknown, expired, released or finished.");
  }
  /// WS-Transfer Get (whole instance or fragment) and Delete.
  reply get_or_delete() const {
    auto r = resolve_resource();
    if (!r) {
      return fail(r.error());
    }
    if (r->what == resource::kind::class_schema) {
      if (op == operation::del) {
        return fail(make_fault(fault_code::action_not_supported,
                               "Class declarations are read-only: the schema is compiled into "
                               "the server."));
      }
      return get_class(*r);
    }
    if (auto f = need_class(*r)) {
      return fail(*f);
    }
    auto path = path_from_selectors(*r);
    if (!path) {
      return fail(path.error());
    }
    if (op == operation::del) {
      if (auto done = ep.om_->delete_instance(context(r->ns), *path); !done) {
        return fail(soap::from_cim(done.error()));
      }
      reply_writer w(response_action(env.action), env.message_id, ep.message_id());
      w.begin_body();
      return finish(w);
    }
    std::optional<fragment> frag;
    if (env.fragment_transfer) {
      auto f = read_fragment(env.fragment_transfer, *r->cls);
      if (!f) {
        return fail(f.error());
      }
      frag = *f;
    }
    cim::get_instance_options go;
    go.keep_keys = true;
    auto inst = ep.om_->get_instance(context(r->ns), *path, go);
    if (!inst) {
      return fail(soap::from_cim(inst.error()));
    }
    if (timed_out()) {
      return fail(timeout_fault());
    }
    write_context wc{r->style, r->ns, &repo};
    const std::string uri = class_uri(r->style, r->ns, inst->class_name());
    // wsl put re-sends the Get reply's instance and needs its prefix declared on the Envelope.
    std::string extra = " xmlns:p=\"";
    xml::append_escaped(extra, uri);
    extra += '"';
    reply_writer w(response_action(env.action), env.message_id, ep.message_id(), extra);
    if (frag) {
      w.out() += "<wsman:FragmentTransfer s:mustUnderstand=\"true\">";
      xml::append_escaped(w.out(), xml::trimmed_text(env.fragment_transfer));
      w.out() += "</wsman:FragmentTransfer>";
    }
    w.begin_body();
    if (frag) {
      const cim::value* v = inst->get(frag->property);
      w.out() += "<wsman:XmlFragment>";
      if (frag->text_only) {
        if (v != nullptr && !v->is_null() && !v->is_array()) {
          xml::append_escaped(w.out(), cim::to_text(v->as_scalar()));
        }
      } else if (v != nullptr) {
        append_property(w.out(), "p", frag->property, *v, wc);
      }
      w.out() += "</wsman:XmlFragment>";
    } else {
      append_instance(w.out(), *inst, wc);
    }
    return finish(w);
  }
  /// A boolean wsman:Option of the request, or `fallback` when absent.
  bool option_flag(std::string_view name, bool fallback) const {
    for (pugi::xml_node o = xml::first_element(env.option_set); o; o = o.next_sibling()) {
      if (xml::is(o, ns::wsman, "Option") && cim::name_equal(o.attribute("Name").value(), name)) {
        const std::string_view v = xml::trimmed_text(o);
        return v == "true" || v == "1" || v.empty();  // a bare option means "on"
      }
    }
    return fallback;
  }
  /// Get of a class declaration (DSP0227 section 15.4, MS-WSMV 3.1.4.2; Get-CimClass): the
  /// ClassName selector names the class, the body is the CIM-XML CLASS element. The options of
  /// DSP0227 section 15.8 default to the complete class, which is what Get-CimClass shows.
  reply get_class(const resource& r) const {
    std::optional<std::string_view> class_name;
    for (pugi::xml_node sel = xml::first_element(env.selector_set); sel; sel = sel.next_sibling()) {
      if (xml::is(sel, ns::wsman, "Selector") &&
          cim::name_equal(sel.attribute("Name").value(), "ClassName")) {
        class_name = xml::trimmed_text(sel);
      }
    }
    if (!class_name || class_name->empty()) {
      return fail(make_fault(fault_code::invalid_selectors,
                             "A class declaration is addressed by the ClassName selector.",
                             fault_detail::insufficient_selectors));
    }
    cim::get_class_options go;
    go.local_only = !option_flag("IncludeInheritedElements", true);
    go.include_qualifiers = option_flag("IncludeQualifiers", true);
    go.include_class_origin = option_flag("IncludeClassOrigin", false);
    auto cls = ep.om_->get_class(context(r.ns), *class_name, go);
    if (!cls) {
      return fail(soap::from_cim(cls.error()));
    }
    reply_writer w(response_action(env.action), env.message_id, ep.message_id());
    w.begin_body();
    cimxml::append_class(w.out(), *cls);
    return finish(w);
  }
  /// WS-Transfer Put (whole instance or fragment) and Create.
  reply put_or_create() const {
    auto r = resolve_resource();
    if (!r) {
      return fail(r.error());
    }
    if (auto f = need_class(*r)) {
      return fail(*f);
    }
    const pugi::xml_node body = env.body_element;
    const read_context rc = reader(r->ns);
    if (op == operation::create) {
      if (!body) {
        return fail(make_fault(fault_code::invalid_representation,
                               "Create needs the new instance in the Body."));
      }
      const cim::class_decl* cls = repo.find_class(r->ns, xml::local_name(body.name()));
      if (cls == nullptr || !repo.is_a(r->ns, cls->name, r->cls->name)) {
        return fail(make_fault(fault_code::invalid_representation,
                               "The Body element '" + std::string(body.name()) +
                                   "' is not an instance of " + r->cls->name + "."));
      }
      auto inst = parse_instance(body, *cls, rc);
      if (!inst) {
        fault f = soap::from_cim(inst.error());
        return fail(f.code == fault_code::invalid_parameter
                        ? make_fault(fault_code::invalid_representation, inst.error().description)
                        : f);
      }
      auto created = ep.om_->create_instance(context(r->ns), *inst);
      if (!created) {
        return fail(soap::from_cim(created.error()));
      }
      std::string extra = " xmlns:wxf=\"";
      extra += ns::transfer;
      extra += '"';
      reply_writer w(response_action(env.action), env.message_id, ep.message_id(), extra);
      w.begin_body();
      w.out() += "<wxf:ResourceCreated>";
      append_epr_content(w.out(), *created, write_context{r->style, r->ns, &repo});
      w.out() += "</wxf:ResourceCreated>";
      return finish(w);
    }
    auto path = path_from_selectors(*r);
    if (!path) {
      return fail(path.error());
    }
    cim::instance changes(r->cls->name);
    cim::property_list names;
    std::optional<fragment> frag;
    if (env.fragment_transfer) {
      auto f = read_fragment(env.fragment_transfer, *r->cls);
      if (!f) {
        return fail(f.error());
      }
      frag = *f;
      const pugi::xml_node xf =
          body && xml::is(body, ns::wsman, "XmlFragment") ? body : pugi::xml_node{};
      if (!xf) {
        return fail(make_fault(fault_code::invalid_representation,
                               "A fragment Put needs a wsman:XmlFragment Body."));
      }
      const cim::property_decl* p = r->cls->property(frag->property);
      std::vector<pugi::xml_node> elements;
      cim::result<cim::value> v = cim::value::null(p->type, p->is_array);
      if (frag->text_only || !xml::first_element(xf)) {
        // The fragment is the property's text itself.
        std::string text = element_text(xf);
        auto s = p->type == cim::cim_type::string ? cim::result<cim::scalar>(cim::scalar(text))
                                                  : cim::parse_scalar(p->type, trim_view(text));
        v = s ? cim::result<cim::value>(cim::value(std::move(*s)))
              : cim::result<cim::value>(s.error());
      } else {
        for (pugi::xml_node c = xml::first_element(xf); c; c = c.next_sibling()) {
          if (c.type() == pugi::node_element) {
            if (!cim::name_equal(xml::local_name(c.name()), p->name)) {
              return fail(make_fault(fault_code::invalid_representation,
                                     "The fragment holds '" + std::string(c.name()) +
                                         "', not the property " + p->name + " it names."));
            }
            elements.push_back(c);
          }
        }
        v = parse_value(elements, p->type, p->is_array, p->embedded_class, rc);
      }
      if (!v) {
        return fail(make_fault(fault_code::invalid_representation, v.error().description));
      }
      changes.set(p->name, std::move(*v));
      names = std::vector<std::string>{p->name};
    } else {
      if (!body) {
        return fail(
            make_fault(fault_code::invalid_representation, "Put needs the instance in the Body."));
      }
      const cim::class_decl* cls = repo.find_class(r->ns, xml::local_name(body.name()));
      if (cls == nullptr || !repo.is_a(r->ns, cls->name, r->cls->name)) {
        return fail(make_fault(fault_code::invalid_representation,
                               "The Body element '" + std::string(body.name()) +
                                   "' is not an instance of " + r->cls->name + "."));
      }
      auto inst = parse_instance(body, *cls, rc);
      if (!inst) {
        fault f = soap::from_cim(inst.error());
        return fail(f.code == fault_code::invalid_parameter
                        ? make_fault(fault_code::invalid_representation, inst.error().description)
                        : f);
      }
      changes = std::move(*inst);
    }
    if (auto done = ep.om_->modify_instance(context(r->ns), *path, changes, names); !done) {
      return fail(soap::from_cim(done.error()));
    }
    cim::get_instance_options go;
    go.keep_keys = true;
    auto now_inst = ep.om_->get_instance(context(r->ns), *path, go);
    if (!now_inst) {
      return fail(soap::from_cim(now_inst.error()));
    }
    write_context wc{r->style, r->ns, &repo};
    reply_writer w(response_action(env.action), env.message_id, ep.message_id());
    if (frag) {
      w.out() += "<wsman:FragmentTransfer s:mustUnderstand=\"true\">";
      xml::append_escaped(w.out(), xml::trimmed_text(env.fragment_transfer));
      w.out() += "</wsman:FragmentTransfer>";
    }
    w.begin_body();
    if (frag) {
      w.out() += "<wsman:XmlFragment xmlns:p=\"";
      xml::append_escaped(w.out(), class_uri(r->style, r->ns, r->cls->name));
      w.out() += "\">";
      if (const cim::value* v = now_inst->get(frag->property)) {
        append_property(w.out(), "p", frag->property, *v, wc);
      }
      w.out() += "</wsman:XmlFragment>";
    } else {
      append_instance(w.out(), *now_inst, wc);
    }
    return finish(w);
  }
  /// WS-Enumeration Enumerate: opens a context over a cursor; optimized: the first items too.
  reply enumerate() const {
    const pugi::xml_node body = env.body_element;
    if (!body || !xml::is(body, ns::enumeration, "Enumerate")) {
      return fail(make_fault(fault_code::schema_validation_error,
                             "The Body of an Enumerate request must be wsen:Enumerate."));
    }
    auto r = resolve_resource();
    if (!r) {
      return fail(r.error());
    }
    if (r->what == resource::kind::class_schema) {
      return fail(make_fault(
          fault_code::action_not_supported,
          "Class enumeration over WS-Man is not supported; use CIM-XML EnumerateClasses."));
    }
    auto expires = parse_expires(body);
    if (!expires) {
      return fail(expires.error());
    }
    auto ctx = std::make_unique<enumeration_context>();
    ctx->user = std::string(who.user);
    ctx->style = static_cast<std::uint8_t>(r->style);
    ctx->ns = r->ns;
    ctx->expires_at = *expires;
    if (pugi::xml_node m = xml::child(body, ns::wsman, "EnumerationMode")) {
      const std::string_view mode = xml::trimmed_text(m);
      if (mode == "EnumerateEPR") {
        ctx->mode = enumeration_mode::eprs;
      } else if (mode == "EnumerateObjectAndEPR") {
        ctx->mode = enumeration_mode::objects_and_eprs;
      } else {
        return fail(
            make_fault(fault_code::unsupported_feature,
                       "The enumeration mode '" + std::string(mode) + "' is not supported."));
      }
    }
    const bool eprs_only = ctx->mode == enumeration_mode::eprs;
    const bool optimize = static_cast<bool>(xml::child(body, ns::wsman, "OptimizeEnumeration"));
    std::uint64_t max_elements = 1;
    if (pugi::xml_node me = xml::child(body, ns::wsman, "MaxElements")) {
      const auto n = read_uint(me);
      if (!n || *n == 0) {
        return fail(make_fault(fault_code::invalid_parameter,
                               "wsman:MaxElements must be a positive integer.",
                               fault_detail::invalid_value));
      }
      max_elements = std::min(*n, max_items_per_reply);
    }
    cim::enumerate_instances_options eo;
    eo.keep_keys = true;
    if (pugi::xml_node pm = xml::child(body, ns::cimbinding, "PolymorphismMode")) {
      const std::string_view mode = xml::trimmed_text(pm);
      if (mode == "ExcludeSubClassProperties") {
        eo.deep_inheritance = false;
      } else if (mode == "None") {
        eo.include_subclasses = false;
      } else if (mode != "IncludeSubClassProperties") {
        return fail(make_fault(fault_code::invalid_parameter,
                               "The polymorphism mode '" + std::string(mode) + "' is not defined.",
                               fault_detail::invalid_value));
      }
    }
    pugi::xml_node filter = xml::child(body, ns::wsman, "Filter");
    if (!filter) {
      filter = xml::child(body, ns::enumeration, "Filter");
    }
    const cim::operation_context opctx = context(r->ns);
    if (!filter) {
      if (r->what != resource::kind::one_class) {
        return fail(
            make_fault(fault_code::cannot_process_filter,
                       "The all-classes resource URI needs a filter (WQL, CQL or association)."));
      }
      if (eprs_only) {
        auto c = ep.om_->enumerate_instance_names(opctx, r->cls->name);
        if (!c) {
          return fail(soap::from_cim(c.error()));
        }
        ctx->cursor = std::make_unique<paths_as_items>(std::move(*c));
      } else {
        auto c = ep.om_->enumerate_instances(opctx, r->cls->name, eo);
        if (!c) {
          return fail(soap::from_cim(c.error()));
        }
        ctx->cursor = std::move(*c);
      }
    } else {
      const std::string_view dialect = filter.attribute("Dialect").value();
      const bool is_selector =
          std::any_of(std::begin(selector_dialects), std::end(selector_dialects),
                      [&](std::string_view d) { return iequals(d, dialect); });
      if (is_selector) {
        if (auto f = need_class(*r)) {
          return fail(*f);
        }
        std::vector<std::pair<std::string, std::string>> sels;
        for (pugi::xml_node s = xml::first_element(xml::child(filter, ns::wsman, "SelectorSet")); s;
             s = s.next_sibling()) {
          if (xml::is(s, ns::wsman, "Selector")) {
            sels.emplace_back(s.attribute("Name").value(), element_text(s));
          }
        }
        auto c = ep.om_->enumerate_instances(opctx, r->cls->name, eo);
        if (!c) {
          return fail(soap::from_cim(c.error()));
        }
        ctx->cursor = std::make_unique<selector_filtered>(std::move(*c), std::move(sels));
      } else if (iequals(dialect, association_dialect)) {
        const pugi::xml_node assoc = xml::first_element(filter);
        const bool associated = assoc && xml::is(assoc, ns::cimbinding, "AssociatedInstances");
        const bool references = assoc && xml::is(assoc, ns::cimbinding, "AssociationInstances");
        if (!associated && !references) {
          return fail(make_fault(fault_code::cannot_process_filter,
                                 "An association filter holds wsmb:AssociatedInstances or "
                                 "wsmb:AssociationInstances."));
        }
        auto source = parse_epr(xml::child(assoc, ns::cimbinding, "Object"), reader(r->ns));
        if (!source) {
          return fail(make_fault(fault_code::cannot_process_filter,
                                 "The association filter's Object: " + source.error().description));
        }
        auto text = [&](std::string_view name) {
          return std::string(xml::trimmed_text(xml::child(assoc, ns::cimbinding, name)));
        };
        cim::property_list props;
        for (pugi::xml_node p = xml::first_element(assoc); p; p = p.next_sibling()) {
          if (xml::is(p, ns::cimbinding, "IncludeResultProperty")) {
            if (!props) {
              props.emplace();
            }
            props->emplace_back(xml::trimmed_text(p));
          }
        }
        const cim::operation_context actx = context(source->ns());
        ctx->ns = source->ns();
        if (associated) {
          cim::associators_options ao;
          ao.assoc_class = text("AssociationClassName");
          ao.role = text("Role");
          ao.result_class = text("ResultClassName");
          ao.result_role = text("ResultRole");
          ao.properties = std::move(props);
          ao.keep_keys = true;
          if (eprs_only) {
            auto c = ep.om_->associator_names(actx, *source, ao);
            if (!c) {
              return fail(soap::from_cim(c.error()));
            }
            ctx->cursor = std::make_unique<paths_as_items>(std::move(*c));
          } else {
            auto c = ep.om_->associators(actx, *source, ao);
            if (!c) {
              return fail(soap::from_cim(c.error()));
            }
            ctx->cursor = std::move(*c);
          }
        } else {
          cim::references_options ro;
          ro.result_class = text("ResultClassName");
          ro.role = text("Role");
          ro.properties = std::move(props);
          ro.keep_keys = true;
          if (eprs_only) {
            auto c = ep.om_->reference_names(actx, *source, ro);
            if (!c) {
              return fail(soap::from_cim(c.error()));
            }
            ctx->cursor = std::make_unique<paths_as_items>(std::move(*c));
          } else {
            auto c = ep.om_->references(actx, *source, ro);
            if (!c) {
              return fail(soap::from_cim(c.error()));
            }
            ctx->cursor = std::move(*c);
          }
        }
      } else if (auto lang = cim::query_language_from_dialect(dialect)) {
        auto c = cim::exec_query(*ep.om_, opctx, cim::to_string(*lang), element_text(filter));
        if (!c) {
          return fail(soap::from_cim(c.error()));
        }
        ctx->cursor = std::move(*c);
      } else {
        return fail(make_fault(fault_code::filter_dialect_requested_unavailable,
                               "The filter dialect '" + std::string(dialect) +
                                   "' is not supported; use WQL, CQL, "
                                   "the selector filter or the association filter."));
      }
    }

    std::string items;
    bool done = false;
    if (optimize) {
      auto d = fill(*ctx, max_elements,
                    reply_limit > envelope_overhead ? reply_limit - envelope_overhead : 0, deadline,
                    items);
      if (!d) {
        // A timeout before the first item still returns a context to pull from (DSP0226 R8.2.3).
        if (d.error().code != fault_code::timed_out) {
          return fail(d.error());
        }
      } else {
        done = *d;
      }
    }
    std::optional<std::string> id;
    if (!done) {
      id = ep.enumerations_->add(std::move(ctx), ep.now_());
      if (!id) {
        return fail(make_fault(fault_code::quota_limit,
                               "The user '" + std::string(who.user) + "' holds " +
                                   std::to_string(ep.opts_.max_enumerations_per_user) +
                                   " open enumerations already; release or finish one first."));
      }
    }
    reply_writer w(response_action(env.action), env.message_id, ep.message_id(), wsen_ns);
    if (env.request_total_items_estimate) {
      if (done) {
        w.out() += "<wsman:TotalItemsCountEstimate>" + std::to_string(ctx->sent) +
                   "</wsman:TotalItemsCountEstimate>";
      } else {
        w.out() += "<wsman:TotalItemsCountEstimate xsi:nil=\"true\"/>";
      }
    }
    w.begin_body();
    w.out() += "<wsen:EnumerateResponse>";
    if (id) {
      w.out() += "<wsen:EnumerationContext>" + *id + "</wsen:EnumerationContext>";
    }
    if (optimize) {
      w.out() += "<wsman:Items>";
      w.out() += items;
      w.out() += "</wsman:Items>";
      if (done) {
        w.out() += "<wsman:EndOfSequence/>";
      }
    }
    w.out() += "</wsen:EnumerateResponse>";
    return finish(w);
  }
  /// WS-Enumeration Pull: the next items of a context, within MaxElements, MaxCharacters, MaxTime.
  reply pull() const {
    const pugi::xml_node body = env.body_element;
    if (!body || !xml::is(body, ns::enumeration, "Pull")) {
      return fail(make_fault(fault_code::schema_validation_error,
                             "The Body of a Pull request must be wsen:Pull."));
    }
    const std::string_view id = context_of(body);
    std::uint64_t max_elements = 1;
    if (pugi::xml_node me = xml::child(body, ns::enumeration, "MaxElements")) {
      const auto n = read_uint(me);
      if (!n || *n == 0) {
        return fail(make_fault(fault_code::invalid_parameter,
                               "wsen:MaxElements must be a positive integer.",
                               fault_detail::invalid_value));
      }
      max_elements = std::min(*n, max_items_per_reply);
    }
    std::size_t max_chars = reply_limit > envelope_overhead ? reply_limit - envelope_overhead : 0;
    if (pugi::xml_node mc = xml::child(body, ns::enumeration, "MaxCharacters")) {
      const auto n = read_uint(mc);
      if (!n || *n == 0) {
        return fail(make_fault(fault_code::invalid_parameter,
                               "wsen:MaxCharacters must be a positive integer.",
                               fault_detail::invalid_value));
      }
      max_chars = static_cast<std::size_t>(std::min<std::uint64_t>(*n, max_chars));
    }
    std::optional<clock::time_point> pull_deadline = deadline;
    if (pugi::xml_node mt = xml::child(body, ns::enumeration, "MaxTime")) {
      const auto d = soap::parse_duration(xml::trimmed_text(mt));
      if (!d) {
        return fail(make_fault(fault_code::invalid_parameter, "wsen:MaxTime is not an xs:duration.",
                               fault_detail::invalid_value));
      }
      const clock::time_point t = start + std::chrono::duration_cast<clock::duration>(*d);
      pull_deadline = pull_deadline ? std::min(*pull_deadline, t) : t;
    }
    take_status status = take_status::ok;
    auto ctx = ep.enumerations_->take(id, who.user, ep.now_(), status);
    if (!ctx) {
      if (status == take_status::busy) {
        return fail(make_fault(
            fault_code::concurrency,
            "Another request is pulling from enumeration context '" + std::string(id) + "'."));
      }
      return fail(invalid_context(id));
    }
    std::string items;
    auto d = fill(*ctx, max_elements, max_chars, pull_deadline, items);
    if (!d) {
      if (d.error().code == fault_code::timed_out || d.error().code == fault_code::encoding_limit) {
        // DSP0226 R8.2.3: the context survives a timeout; the client pulls again. An item too
        // large for MaxCharacters stays pending for a Pull that allows more.
        ep.enumerations_->put_back(id, std::move(ctx), ep.now_());
      } else {
        ep.enumerations_->erase_checked_out(id);
      }
      return fail(d.error());
    }
    const bool done = *d;
    const std::uint64_t sent = ctx->sent;
    if (done) {
      ep.enumerations_->erase_checked_out(id);
    } else {
      ep.enumerations_->put_back(id, std::move(ctx), ep.now_());
    }
    reply_writer w(response_action(env.action), env.message_id, ep.message_id(), wsen_ns);
    if (env.request_total_items_estimate) {
      if (done) {
        w.out() += "<wsman:TotalItemsCountEstimate>" + std::to_string(sent) +
                   "</wsman:TotalItemsCountEstimate>";
      } else {
        w.out() += "<wsman:TotalItemsCountEstimate xsi:nil=\"true\"/>";
      }
    }
    w.begin_body();
    w.out() += "<wsen:PullResponse>";
    if (!done) {
      // openwsman and wsl pull for as long as a context is present: none once finished.
      w.out() += "<wsen:EnumerationContext>";
      xml::append_escaped(w.out(), id);
      w.out() += "</wsen:EnumerationContext>";
    }
    w.out() += "<wsen:Items>";
    w.out() += items;
    w.out() += "</wsen:Items>";
    if (done) {
      w.out() += "<wsen:EndOfSequence/>";
    }
    w.out() += "</wsen:PullResponse>";
    return finish(w);
  }
  /// WS-Enumeration Release, Renew and GetStatus.
  reply context_operation() const {
    const pugi::xml_node body = env.body_element;
    const std::string_view id = context_of(body);
    reply_writer w(response_action(env.action), env.message_id, ep.message_id(), wsen_ns);
    if (op == operation::release) {
      if (!ep.enumerations_->release(id, who.user, ep.now_())) {
        return fail(invalid_context(id));
      }
      w.begin_body();
      return finish(w);
    }
    std::optional<clock::time_point> until;
    if (op == operation::renew) {
      auto expires = parse_expires(body);
      if (!expires) {
        return fail(expires.error());
      }
      until = ep.enumerations_->renew(id, who.user, *expires, ep.now_());
    } else {
      until = ep.enumerations_->status(id, who.user, ep.now_());
    }
    if (!until) {
      return fail(invalid_context(id));
    }
    w.begin_body();
    w.out() += op == operation::renew ? "<wsen:RenewResponse>" : "<wsen:GetStatusResponse>";
    append_expires(w.out(), *until);
    if (op == operation::renew) {
      w.out() += "<wsen:EnumerationContext>";
      xml::append_escaped(w.out(), id);
      w.out() += "</wsen:EnumerationContext>";
    }
    w.out() += op == operation::renew ? "</wsen:RenewResponse>" : "</wsen:GetStatusResponse>";
    return finish(w);
  }
  /// A custom action: <ResourceURI>/<Method> with <Method>_INPUT, answered with <Method>_OUTPUT.
  reply invoke() const {
    auto r = resolve_resource();
    if (!r) {
      return fail(r.error());
    }
    if (auto f = need_class(*r)) {
      return fail(*f);
    }
    const std::string_view action = env.action;
    const auto slash = action.rfind('/');
    const std::string_view method_name = action.substr(slash + 1);
    // DSP0227 section 8: the action is the class's resource URI plus the method name.
    if (!iequals(action.substr(0, slash), env.resource_uri)) {
      return fail(make_fault(fault_code::action_not_supported,
                             "The action '" + std::string(action) +
                                 "' does not belong to the resource URI '" +
                                 std::string(env.resource_uri) + "'.",
                             fault_detail::action_mismatch));
    }
    const cim::method_decl* method = r->cls->method(method_name);
    if (method == nullptr) {
      return fail(make_fault(
          fault_code::action_not_supported,
          "The class " + r->cls->name + " has no method '" + std::string(method_name) + "'."));
    }
    // A static method runs on the class (selectors other than __cimnamespace, which some
    // clients send anyway, do not matter); any other method needs selectors naming one instance.
    cim::object_path target(r->ns, r->cls->name);
    if (!method->is_static()) {
      auto path = path_from_selectors(*r);
      if (!path && path.error().detail == fault_detail::insufficient_selectors) {
        path = complete_selectors(*r, path.error());
      }
      if (!path) {
        return fail(path.error());
      }
      target = std::move(*path);
    }
    const pugi::xml_node body = env.body_element;
    std::vector<cim::param_value> in;
    if (body) {
      const std::string expected = method->name + "_INPUT";
      if (!cim::name_equal(xml::local_name(body.name()), expected)) {
        return fail(make_fault(
            fault_code::invalid_parameter,
            "The Body element is '" + std::string(body.name()) + "', expected " + expected + ".",
            fault_detail::invalid_value));
      }
      std::map<std::string, std::vector<pugi::xml_node>, cim::name_less> groups;
      std::vector<std::string> order;
      for (pugi::xml_node c = xml::first_element(body); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element) {
          continue;
        }
        auto [it, inserted] = groups.try_emplace(std::string(xml::local_name(c.name())));
        if (inserted) {
          order.push_back(it->first);
        }
        it->second.push_back(c);
      }
      const read_context rc = reader(r->ns);
      for (const std::string& name : order) {
        const cim::parameter_decl* p = method->parameter(name);
        if (p != nullptr && !p->is_in()) {
          // OUT-only parameters sent as input are ignored, as the object manager does: Hyper-V
          // clients send CreateSnapshot's ResultingSnapshot, which CIM 2.41 declares OUT only.
          continue;
        }
        if (p == nullptr) {
          return fail(
              make_fault(fault_code::invalid_parameter,
                         "The method " + method->name + " has no input parameter '" + name + "'.",
                         fault_detail::invalid_value));
        }
        auto v = parse_value(groups[name], p->type, p->is_array, p->embedded_class, rc);
        if (!v) {
          return fail(soap::from_cim(v.error()));
        }
        in.push_back(cim::param_value{p->name, std::move(*v)});
      }
    }
    auto result = ep.om_->invoke_method(context(r->ns), target, method->name, std::move(in));
    if (!result) {
      return fail(soap::from_cim(result.error()));
    }
    if (timed_out()) {
      return fail(timeout_fault());
    }
    write_context wc{r->style, r->ns, &repo};
    reply_writer w(response_action(env.action), env.message_id, ep.message_id());
    w.begin_body();
    const std::string output = method->name + "_OUTPUT";
    w.out() += "<p:" + output + " xmlns:p=\"";
    xml::append_escaped(w.out(), class_uri(r->style, r->ns, r->cls->name));
    w.out() += "\">";
    for (const cim::param_value& pv : result->out) {
      append_property(w.out(), "p", pv.name, pv.v, wc);
    }
    append_property(w.out(), "p", "ReturnValue", result->return_value, wc);
    w.out() += "</p:" + output + ">";
    return finish(w);
  }
};

reply endpoint::handle(const soap::envelope& env, const caller& who) const {
  auto fail = [&](const fault& f) {
    return reply{soap::render(f, env.message_id, message_id(), opts_.machine), true};
  };
  const std::optional<operation> op = classify(env.action);
  if (!op || om_ == nullptr) {
    return fail(make_fault(
        fault_code::action_not_supported,
        "The action '" + std::string(env.action) + "' is not supported by this service."));
  }
  if (!allowed(who.user_role, *op)) {
    return fail(make_fault(fault_code::access_denied,
                           "The user '" + std::string(who.user) + "' (role " +
                               std::string(to_string(who.user_role)) + ") may not perform '" +
                               std::string(env.action) + "'."));
  }
  // DSP0226 section 6.4: an option marked MustComply that we do not implement is refused; other
  // options are hints we may ignore.
  for (pugi::xml_node o = xml::first_element(env.option_set); o; o = o.next_sibling()) {
    if (!xml::is(o, ns::wsman, "Option")) {
      continue;
    }
    const std::string_view must = o.attribute("MustComply").value();
    // The class-declaration options (DSP0227 section 15.8) are implemented, so they may be
    // demanded.
    const std::string_view name = o.attribute("Name").value();
    const bool implemented = cim::name_equal(name, "IncludeInheritedElements") ||
                             cim::name_equal(name, "IncludeQualifiers") ||
                             cim::name_equal(name, "IncludeClassOrigin");
    if ((must == "true" || must == "1") && !implemented) {
      return fail(make_fault(fault_code::invalid_options,
                             "The option '" + std::string(o.attribute("Name").value()) +
                                 "' is marked MustComply but is not supported."));
    }
  }
  const clock::time_point start = now_();
  request_state rs{*this,
                   env,
                   who,
                   *op,
                   om_->repository(),
                   namespace_selector(env.selector_set),
                   start,
                   std::nullopt,
                   env.max_envelope_size != 0 ? env.max_envelope_size : opts_.max_envelope_size};
  if (env.operation_timeout) {
    rs.deadline = start + std::chrono::duration_cast<clock::duration>(*env.operation_timeout);
  }
  if (rs.timed_out()) {
    return fail(timeout_fault());
  }
  switch (*op) {
    case operation::get:
    case operation::del:
      return rs.get_or_delete();
    case operation::put:
    case operation::create:
      return rs.put_or_create();
    case operation::enumerate:
      return rs.enumerate();
    case operation::pull:
      return rs.pull();
    case operation::release:
    case operation::renew:
    case operation::get_status:
      return rs.context_operation();
    case operation::invoke:
      return rs.invoke();
  }
  return fail(make_fault(fault_code::internal_error, "unhandled operation"));
}

}  // namespace vsnapd::server::wsman
