#include "server/cimxml/endpoint.hpp"

#include "cimom/runtime.hpp"
#include "tests/fixtures/test_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

using namespace vsnapd;
using namespace vsnapd::server;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

const std::string ns_xml =
    "<LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"vsnapd\"/>"
    "<NAMESPACE NAME=\"test\"/></LOCALNAMESPACEPATH>";

std::string element_name(const std::string& id) {
  return "<INSTANCENAME CLASSNAME=\"Vsnapd_TestElement\"><KEYBINDING NAME=\"InstanceID\">"
         "<KEYVALUE VALUETYPE=\"string\">" + id + "</KEYVALUE></KEYBINDING></INSTANCENAME>";
}

struct fixture {
  std::unique_ptr<cim::runtime> rt;
  std::shared_ptr<void> provider;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  std::unique_ptr<cimxml::endpoint> ep;

  explicit fixture(std::size_t elements, cimxml::endpoint::limits limits = {}) {
    cim::runtime_options options;
    options.extra_mof = testing::fixture_mof();
    auto started = cim::runtime::start(options);
    REQUIRE(started);
    rt = std::move(*started);
    auto registered = testing::register_fixture(*rt, elements);
    REQUIRE(registered);
    provider = *registered;
    ep = std::make_unique<cimxml::endpoint>(rt->om(), limits, [this] { return now; });
  }

  cimxml::reply call(const std::string& method, const std::string& params,
                     role r = role::admin, const std::string& user = "tester",
                     bool may_stream = false) {
    http::fields f;
    f.set(http::field::content_type, "application/xml; charset=\"utf-8\"");
    f.set("CIMOperation", "MethodCall");
    f.set("CIMMethod", method);
    f.set("CIMObject", "root%2Fvsnapd%2Ftest");
    std::string body =
        "<?xml version=\"1.0\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"7\" "
        "PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"" + method + "\">" + ns_xml +
        params + "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>";
    return ep->handle("POST", f, std::move(body), cimxml::caller{user, r, "h"}, may_stream);
  }

  cimxml::reply streamed(const std::string& method, const std::string& params) {
    return call(method, params, role::admin, "tester", true);
  }

  cimxml::reply fail_with(std::uint32_t code, const std::string& cls = "Vsnapd_TestElement",
                          const std::string& id = "E0") {
    http::fields f;
    f.set("CIMOperation", "MethodCall");
    f.set("CIMMethod", "Fail");
    f.set("CIMObject", "root%2Fvsnapd%2Ftest%3A" + cls + ".InstanceID=\"" + id + "\"");
    std::string name = element_name(id);
    name.replace(name.find("Vsnapd_TestElement"), 18, cls);
    std::string body =
        "<?xml version=\"1.0\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"7\" "
        "PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><METHODCALL NAME=\"Fail\"><LOCALINSTANCEPATH>" +
        ns_xml + name + "</LOCALINSTANCEPATH><PARAMVALUE NAME=\"Code\"><VALUE>" +
        std::to_string(code) + "</VALUE></PARAMVALUE></METHODCALL></SIMPLEREQ></MESSAGE></CIM>";
    return ep->handle("POST", f, std::move(body), cimxml::caller{"tester", role::operator_, "h"});
  }
};

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) {
    ++n;
  }
  return n;
}

bool dtd_valid(const std::string& xml) {
  const fs::path tmp = fs::temp_directory_path() /
                       ("vsnapd_cimxml_endpoint_" + std::to_string(::getpid()) + ".xml");
  std::ofstream(tmp, std::ios::binary) << xml;
  const std::string cmd = "xmllint --noout --dtdvalid '" VSNAPD_SOURCE_DIR
                          "/../shared/specs/cim-dtd/DSP0203_2.4.0.dtd' '" +
                          tmp.string() + "' >/dev/null 2>&1";
  const int rc = std::system(cmd.c_str());
  fs::remove(tmp);
  return rc == 0;
}

std::string context_of(const std::string& body) {
  const std::string marker = "<PARAMVALUE NAME=\"EnumerationContext\" PARAMTYPE=\"string\"><VALUE>";
  const auto at = body.find(marker);
  REQUIRE(at != std::string::npos);
  const auto start = at + marker.size();
  return body.substr(start, body.find('<', start) - start);
}

std::string pull_params(const std::string& ctx, int max) {
  return "<IPARAMVALUE NAME=\"EnumerationContext\"><VALUE>" + ctx +
         "</VALUE></IPARAMVALUE><IPARAMVALUE NAME=\"MaxObjectCount\"><VALUE>" +
         std::to_string(max) + "</VALUE></IPARAMVALUE>";
}

}  // namespace

TEST_CASE("endpoint: every CIM status a provider returns reaches the client as ERROR CODE",
          "[server][cimxml]") {
  fixture f(3);
  for (const cim::errc e : cim::all_errcs) {
    if (e == cim::errc::ok) {
      continue;
    }
    const auto code = static_cast<std::uint32_t>(e);
    INFO("code " << code);
    CHECK(cimxml::error_code_of(e) == code);
    const cimxml::reply r = f.fail_with(code);
    REQUIRE(r.status == http::status::ok);
    CHECK_THAT(r.body, Catch::Contains("<ERROR CODE=\"" + std::to_string(code) +
                                       "\" DESCRIPTION=\"" + std::string(cim::to_string(e)) + ": "));
    CHECK(dtd_valid(r.body));
  }
}

namespace {

// A method provider whose errors carry a CIM_Error instance (DSP0223), as providers may.
class cim_error_provider final : public cim::method_provider {
 public:
  cim::result<cim::method_result> invoke(const cim::operation_context&, const cim::class_decl&,
                                         const cim::object_path&, const cim::method_decl&,
                                         std::vector<cim::param_value>) override {
    auto e = std::make_shared<cim::instance>("CIM_Error");
    e->set("Message", cim::value("disk <full>"));
    e->set("CIMStatusCode", cim::value(cim::scalar(std::uint32_t{1})));
    return cim::error{cim::errc::failed, "the job failed", std::move(e)};
  }
};

}  // namespace

TEST_CASE("endpoint: an error's CIM_Error instance travels inside ERROR", "[server][cimxml]") {
  fixture f(3);
  cim_error_provider p;
  REQUIRE(f.rt->om().register_method_provider(testing::fixture_namespace, "Vsnapd_TestSubElement", p));
  const cimxml::reply r = f.fail_with(1, "Vsnapd_TestSubElement", "S0");
  CHECK_THAT(r.body, Catch::Contains(
                         "<ERROR CODE=\"1\" DESCRIPTION=\"CIM_ERR_FAILED: the job failed\"><INSTANCE "
                         "CLASSNAME=\"CIM_Error\"><PROPERTY NAME=\"Message\" TYPE=\"string\"><VALUE>disk "
                         "&lt;full&gt;</VALUE></PROPERTY>"));
  CHECK(dtd_valid(r.body));
}

namespace {

// Instances of Vsnapd_TestSubElement whose enumeration fails after the first batch.
class failing_provider final : public cim::instance_provider {
 public:
  cim::result<cim::instance> get_instance(const cim::operation_context&, const cim::class_decl&,
                                          const cim::object_path&) override {
    return cim::fail(cim::errc::not_found, "none");
  }
  cim::result<std::unique_ptr<cim::instance_cursor>> enumerate_instances(
      const cim::operation_context&, const cim::class_decl&) override {
    class cursor final : public cim::instance_cursor {
     public:
      cim::result<bool> next(std::vector<cim::instance>& batch, std::size_t) override {
        if (done_) {
          return cim::fail(cim::errc::failed, "the disk went away");
        }
        done_ = true;
        cim::instance i("Vsnapd_TestSubElement");
        i.set("InstanceID", cim::value("S9"));
        batch.push_back(std::move(i));
        return true;
      }

     private:
      bool done_ = false;
    };
    return std::unique_ptr<cim::instance_cursor>(std::make_unique<cursor>());
  }
};

}  // namespace

TEST_CASE("endpoint: an enumeration failing midway answers with the ERROR alone",
          "[server][cimxml]") {
  fixture f(300);
  failing_provider p;
  REQUIRE(f.rt->om().register_instance_provider(testing::fixture_namespace, "Vsnapd_TestSubElement", p));
  const cimxml::reply r =
      f.call("EnumerateInstances", "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME "
                                   "NAME=\"Vsnapd_TestElement\"/></IPARAMVALUE>");
  CHECK(r.body.find("VALUE.NAMEDINSTANCE") == std::string::npos);
  CHECK(r.body.find("IRETURNVALUE") == std::string::npos);
  CHECK_THAT(r.body, Catch::Contains("<IMETHODRESPONSE NAME=\"EnumerateInstances\"><ERROR CODE=\"1\" "
                                     "DESCRIPTION=\"CIM_ERR_FAILED: the disk went away\"></ERROR>"
                                     "</IMETHODRESPONSE>"));
  CHECK(dtd_valid(r.body));
}

TEST_CASE("endpoint: roles decide who may call what", "[server][cimxml]") {
  for (const char* read : {"GetClass", "EnumerateInstances", "ExecQuery", "OpenQueryInstances",
                           "PullInstancesWithPath", "CloseEnumeration", "ReferenceNames"}) {
    CHECK(cimxml::allowed(role::reader, read, false));
    CHECK(cimxml::allowed(role::operator_, read, false));
    CHECK(cimxml::allowed(role::admin, read, false));
  }
  for (const char* write : {"CreateInstance", "ModifyInstance", "DeleteInstance", "SetProperty",
                            "DeleteClass", "SetQualifier"}) {
    CHECK_FALSE(cimxml::allowed(role::reader, write, false));
    CHECK_FALSE(cimxml::allowed(role::operator_, write, false));
    CHECK(cimxml::allowed(role::admin, write, false));
  }
  CHECK_FALSE(cimxml::allowed(role::reader, "", true));
  CHECK(cimxml::allowed(role::operator_, "", true));
  CHECK(cimxml::allowed(role::admin, "", true));
}

TEST_CASE("endpoint: a large EnumerateInstances streams every instance into a valid document",
          "[server][cimxml]") {
  fixture f(5000);
  const cimxml::reply r =
      f.call("EnumerateInstances", "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME "
                                   "NAME=\"Vsnapd_TestElement\"/></IPARAMVALUE>");
  REQUIRE(r.status == http::status::ok);
  CHECK(count(r.body, "<VALUE.NAMEDINSTANCE>") == 5003);
  CHECK(count(r.body, "</VALUE.NAMEDINSTANCE>") == 5003);
  CHECK(dtd_valid(r.body));
}

TEST_CASE("endpoint: a pull enumeration walks every instance once, in MaxObjectCount pieces",
          "[server][cimxml]") {
  fixture f(1000, cimxml::endpoint::limits{{8, std::chrono::seconds(60), std::chrono::seconds(600)}, 300});
  cimxml::reply r = f.call("OpenEnumerateInstancePaths",
                           "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Vsnapd_TestElement\"/>"
                           "</IPARAMVALUE><IPARAMVALUE NAME=\"MaxObjectCount\"><VALUE>7</VALUE>"
                           "</IPARAMVALUE>");
  std::size_t total = count(r.body, "<INSTANCEPATH>");
  CHECK(total == 7);
  const std::string ctx = context_of(r.body);
  CHECK(f.ep->open_contexts() == 1);
  int pulls = 0;
  while (r.body.find("<VALUE>TRUE</VALUE></PARAMVALUE>") == std::string::npos) {
    r = f.call("PullInstancePaths", pull_params(ctx, 1000));  // capped at 300 by the limits
    REQUIRE(r.body.find("<ERROR") == std::string::npos);
    const std::size_t n = count(r.body, "<INSTANCEPATH>");
    CHECK(n <= 300);
    total += n;
    REQUIRE(++pulls < 10);
  }
  CHECK(total == 1003);
  CHECK(f.ep->open_contexts() == 0);  // dropped at the end of the sequence
}

TEST_CASE("endpoint: pull contexts expire, belong to their user and are bounded",
          "[server][cimxml]") {
  fixture f(50, cimxml::endpoint::limits{{2, std::chrono::seconds(60), std::chrono::seconds(600)}, 100});
  const std::string open =
      "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Vsnapd_TestElement\"/></IPARAMVALUE>"
      "<IPARAMVALUE NAME=\"OperationTimeout\"><VALUE>5</VALUE></IPARAMVALUE>";
  const std::string a = context_of(f.call("OpenEnumerateInstances", open).body);
  const std::string b = context_of(f.call("OpenEnumerateInstances", open, role::reader, "other").body);
  CHECK_THAT(f.call("OpenEnumerateInstances", open).body, Catch::Contains("CODE=\"27\""));

  // Another user's context is not found; the owner's still works afterwards.
  CHECK_THAT(f.call("PullInstancesWithPath", pull_params(a, 1), role::admin, "other").body,
             Catch::Contains("CODE=\"21\""));
  CHECK_THAT(f.call("PullInstancesWithPath", pull_params(a, 1)).body,
             Catch::Contains("<VALUE>FALSE</VALUE>"));

  f.now += std::chrono::seconds(6);
  CHECK_THAT(f.call("PullInstancesWithPath", pull_params(a, 1)).body, Catch::Contains("CODE=\"21\""));
  CHECK_THAT(f.call("PullInstancesWithPath", pull_params(b, 1), role::reader, "other").body,
             Catch::Contains("expired"));
  CHECK(f.ep->open_contexts() == 0);
}

namespace {

// What a streamed reply's source hands out, piece by piece.
struct drained {
  std::string document;
  std::size_t pieces = 0;
  std::size_t largest = 0;
  std::size_t short_ready = 0;  // pieces under 64 KiB handed out without a provider call
};

drained drain(server::body_source& src) {
  drained d;
  std::string piece;
  for (;;) {
    const bool ready = src.ready();
    if (!src.next(piece)) {
      break;
    }
    // ready() promised a piece made from memory: a full one, or the document's last.
    if (ready && piece.size() != 64 * 1024) {
      ++d.short_ready;
    }
    REQUIRE_FALSE(piece.empty());
    d.document += piece;
    ++d.pieces;
    d.largest = std::max(d.largest, piece.size());
  }
  return d;
}

const std::string element_class =
    "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Vsnapd_TestElement\"/></IPARAMVALUE>";

}  // namespace

TEST_CASE("endpoint: a large enumeration streams in bounded pieces that make the same document",
          "[server][cimxml]") {
  fixture f(3000);
  struct row {
    const char* method;
    std::string params;
    const char* item;
  };
  const row rows[] = {
      {"EnumerateInstances", element_class, "<VALUE.NAMEDINSTANCE>"},
      {"EnumerateInstanceNames", element_class, "<INSTANCENAME "},
      {"ExecQuery",
       "<IPARAMVALUE NAME=\"QueryLanguage\"><VALUE>WQL</VALUE></IPARAMVALUE><IPARAMVALUE "
       "NAME=\"Query\"><VALUE>SELECT * FROM Vsnapd_TestElement</VALUE></IPARAMVALUE>",
       "<VALUE.OBJECTWITHPATH>"},
  };
  for (const row& r : rows) {
    INFO(r.method);
    const cimxml::reply whole = f.call(r.method, r.params);
    REQUIRE(whole.status == http::status::ok);
    REQUIRE(whole.stream == nullptr);
    REQUIRE(count(whole.body, r.item) == 3003);

    cimxml::reply s = f.streamed(r.method, r.params);
    REQUIRE(s.status == http::status::ok);
    REQUIRE(s.stream != nullptr);
    CHECK(s.body.empty());
    const drained d = drain(*s.stream);
    CHECK(d.document == whole.body);
    CHECK(d.largest <= 64 * 1024);
    CHECK(d.short_ready <= 1);
    CHECK(d.pieces >= whole.body.size() / (64 * 1024));
    CHECK_FALSE(s.stream->failed());
    CHECK(s.stream->trailer_names() == "CIMStatusCode, CIMStatusCodeDescription");
    CHECK(s.stream->trailers() ==
          std::vector<std::pair<std::string, std::string>>{{"CIMStatusCode", "0"}});
  }
  const cimxml::reply s = f.streamed("EnumerateInstances", element_class);
  CHECK(dtd_valid(drain(*s.stream).document));
}

TEST_CASE("endpoint: small answers, pull operations and HTTP/1.0 answers are never streamed",
          "[server][cimxml]") {
  fixture f(3000);
  // Bounded by MaxObjectCount: built whole, whatever its size.
  const cimxml::reply open = f.streamed(
      "OpenEnumerateInstances",
      element_class + "<IPARAMVALUE NAME=\"MaxObjectCount\"><VALUE>3000</VALUE></IPARAMVALUE>");
  CHECK(open.stream == nullptr);
  CHECK(count(open.body, "<VALUE.INSTANCEWITHPATH>") == 3000);
  // Below the threshold: the document as today, with its Content-Length.
  fixture small(10);
  const cimxml::reply r = small.streamed("EnumerateInstances", element_class);
  CHECK(r.stream == nullptr);
  CHECK(count(r.body, "<VALUE.NAMEDINSTANCE>") == 13);
  // may_stream false (the router passes it for HTTP/1.0): the whole document.
  const cimxml::reply whole = f.call("EnumerateInstances", element_class);
  CHECK(whole.stream == nullptr);
  CHECK(count(whole.body, "<VALUE.NAMEDINSTANCE>") == 3003);
}

TEST_CASE("endpoint: a streamed enumeration failing midway stops and reports the error in trailers",
          "[server][cimxml]") {
  fixture f(2000);
  failing_provider p;
  REQUIRE(f.rt->om().register_instance_provider(testing::fixture_namespace, "Vsnapd_TestSubElement", p));
  cimxml::reply s = f.streamed("EnumerateInstances", element_class);
  REQUIRE(s.stream != nullptr);
  const drained d = drain(*s.stream);
  CHECK(count(d.document, "<VALUE.NAMEDINSTANCE>") >= 256);
  // Never a complete document: the client must not take the part for the whole.
  CHECK(d.document.find("</CIM>") == std::string::npos);
  CHECK(s.stream->failed());
  CHECK(s.stream->trailers() == std::vector<std::pair<std::string, std::string>>{
                                    {"CIMStatusCode", "1"},
                                    {"CIMStatusCodeDescription",
                                     "CIM_ERR_FAILED%3A%20the%20disk%20went%20away"}});
  std::string piece = "x";
  CHECK_FALSE(s.stream->next(piece));
  CHECK(piece.empty());
}

TEST_CASE("endpoint: CPU time per GetInstance", "[server][cimxml][.bench]") {
  fixture f(1000);
  const std::string params = "<IPARAMVALUE NAME=\"InstanceName\">" + element_name("E7") +
                             "</IPARAMVALUE>";
  constexpr int n = 20000;
  const std::clock_t start = std::clock();
  std::size_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    bytes += f.call("GetInstance", params, role::reader).body.size();
  }
  const double us = 1e6 * static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC / n;
  std::printf("GetInstance: %.1f us CPU per request (endpoint.handle: framing, parse, object "
              "manager, encode; %zu-byte response)\n",
              us, bytes / n);
  CHECK(bytes > 0);

  const std::string enum_params =
      "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"Vsnapd_TestElement\"/></IPARAMVALUE>"
      "<IPARAMVALUE NAME=\"DeepInheritance\"><VALUE>FALSE</VALUE></IPARAMVALUE>";
  constexpr int m = 200;
  const std::clock_t enum_start = std::clock();
  bytes = 0;
  for (int i = 0; i < m; ++i) {
    bytes += f.call("EnumerateInstances", enum_params, role::reader).body.size();
  }
  const double enum_us = 1e6 * static_cast<double>(std::clock() - enum_start) / CLOCKS_PER_SEC / m;
  std::printf("EnumerateInstances of 1003 instances: %.0f us CPU per request (%zu-byte response)\n",
              enum_us, bytes / m);
}
