// Golden request/response pairs for the CIM-XML endpoint (STYLE rule 27): every file
// tests/server/cimxml/golden/<case>.req is sent through cimxml::endpoint against the test
// fixture (5 generated elements), in name order, and the reply must equal <case>.rsp byte for
// byte. Every 200 reply is also validated against the DSP0203 2.4 DTD with xmllint.
//
// Request file: optional directive lines `@verb M-POST`, `@role reader|operator|admin`, then
// HTTP header lines, a blank line and the body. Response file: `HTTP <status>`, then a
// `CIMError: <value>` line when present, a blank line and the body.
//
// Enumeration context ids are random; replies show them as `#CTX#`, and `#CTX#` in a request
// stands for the id most recently returned. VSNAPD_GOLDEN_UPDATE=1 rewrites the .rsp files (to
// be reviewed by hand against DSP0200/DSP0201 before committing).

#include "server/cimxml/endpoint.hpp"

#include "cimom/runtime.hpp"
#include "tests/fixtures/test_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace vsnapd;
using namespace vsnapd::server;
namespace fs = std::filesystem;

namespace {

const fs::path golden_dir = fs::path(VSNAPD_SOURCE_DIR) / "tests/server/cimxml/golden";
const fs::path dtd = fs::path(VSNAPD_SOURCE_DIR "/../shared/specs/cim-dtd/DSP0203_2.4.0.dtd");

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// Runs xmllint on `xml`; returns its diagnostics, empty when the document is valid.
std::string dtd_errors(const std::string& xml) {
  const fs::path tmp = fs::temp_directory_path() /
                       ("vsnapd_cimxml_golden_" + std::to_string(::getpid()) + ".xml");
  write_file(tmp, xml);
  const std::string cmd =
      "xmllint --noout --dtdvalid '" + dtd.string() + "' '" + tmp.string() + "' 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) {
    out.append(buf, n);
  }
  const int status = ::pclose(p);
  fs::remove(tmp);
  return status == 0 ? std::string() : (out.empty() ? std::string("xmllint failed") : out);
}

struct parsed_request {
  std::string verb = "POST";
  role user_role = role::admin;
  boost::beast::http::fields fields;
  std::string body;
};

parsed_request parse_request(const std::string& text) {
  parsed_request r;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    if (line.empty()) {
      break;
    }
    if (line.rfind("@verb ", 0) == 0) {
      r.verb = line.substr(6);
    } else if (line.rfind("@role ", 0) == 0) {
      r.user_role = *parse_role(line.substr(6));
    } else {
      const auto colon = line.find(':');
      REQUIRE(colon != std::string::npos);
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.fields.insert(line.substr(0, colon), value);
    }
  }
  r.body = text.substr(pos);
  return r;
}

// Pulls the context id out of a reply (the VALUE of the EnumerationContext PARAMVALUE).
std::string context_id(const std::string& body) {
  const std::string marker = "<PARAMVALUE NAME=\"EnumerationContext\" PARAMTYPE=\"string\"><VALUE>";
  const auto at = body.find(marker);
  if (at == std::string::npos) {
    return {};
  }
  const auto start = at + marker.size();
  return body.substr(start, body.find('<', start) - start);
}

struct fixture {
  std::unique_ptr<cim::runtime> rt;
  std::shared_ptr<void> provider;
  std::unique_ptr<cimxml::endpoint> ep;

  fixture() {
    cim::runtime_options options;
    options.extra_mof = testing::fixture_mof();
    auto started = cim::runtime::start(options);
    REQUIRE(started);
    rt = std::move(*started);
    auto registered = testing::register_fixture(*rt, 5);
    REQUIRE(registered);
    provider = *registered;
    ep = std::make_unique<cimxml::endpoint>(rt->om(), cimxml::endpoint::limits{});
  }
};

}  // namespace

TEST_CASE("cimxml golden: every request gives its recorded, DTD-valid response", "[server][cimxml]") {
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(golden_dir)) {
    if (e.path().extension() == ".req") {
      cases.push_back(e.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 40);
  const bool update = std::getenv("VSNAPD_GOLDEN_UPDATE") != nullptr;

  fixture f;
  std::string last_context;
  for (const fs::path& req_path : cases) {
    const std::string name = req_path.stem().string();
    INFO("case " << name);
    parsed_request req = parse_request(replace_all(read_file(req_path), "#CTX#", last_context));
    cimxml::caller who{"tester", req.user_role, "testhost"};
    cimxml::reply r = f.ep->handle(req.verb, req.fields, std::move(req.body), who);

    if (const std::string id = context_id(r.body); !id.empty()) {
      last_context = id;
    }
    if (!last_context.empty()) {
      r.body = replace_all(r.body, last_context, "#CTX#");  // also in error descriptions
    }
    std::string got = "HTTP " + std::to_string(static_cast<unsigned>(r.status)) + "\n";
    if (r.cim_error) {
      got += "CIMError: " + std::string(cimxml::to_string(*r.cim_error)) + "\n";
    }
    got += "\n" + r.body;

    const fs::path rsp_path = fs::path(req_path).replace_extension(".rsp");
    if (update) {
      write_file(rsp_path, got);
    }
    const std::string expected = read_file(rsp_path);
    CHECK(got == expected);
    if (r.status == boost::beast::http::status::ok) {
      INFO(r.body);
      CHECK(dtd_errors(r.body).empty());
      CHECK(r.body.find("/>") == std::string::npos);  // wbemcli rejects self-closing elements
    }
  }
}
