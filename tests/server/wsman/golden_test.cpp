// Golden tests of the WS-Man endpoint: every request in golden/<case>.request.xml goes through
// the endpoint in process, over the runtime's object manager with the test fixture
// (root/vsnapd/test, 5 elements), and the reply must equal golden/<case>.response.xml.
//
// Cases run in file-name order against one endpoint, so a case can build on the previous ones
// (Enumerate then Pull, Create then Delete). Directives in XML comments at the top of a request:
//   <!-- role: reader|operator|admin -->  the caller's role (default admin)
//   <!-- advance: N -->                   move the fake clock N seconds forward first
// `$CONTEXT` in a request is replaced by the last enumeration context a reply returned, and
// every context id in a reply is written as `$CONTEXT` (ids are random). Reply MessageIDs are
// fixed. VSNAPD_UPDATE_GOLDEN=1 rewrites the response files (review them by hand).

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cimom/runtime.hpp"
#include "server/cimxml/instance_codec.hpp"
#include "server/wsman/endpoint.hpp"
#include "tests/fixtures/test_fixture.hpp"

namespace fs = std::filesystem;
using namespace vsnapd;
using namespace vsnapd::server;

namespace {

const fs::path golden_dir = fs::path(VSNAPD_SOURCE_DIR) / "tests/server/wsman/golden";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::string> directive(const std::string& text, const std::string& name) {
  const std::regex re("<!-- " + name + ": ([^ ]+) -->");
  std::smatch m;
  if (std::regex_search(text, m, re)) {
    return m[1].str();
  }
  return std::nullopt;
}

// A line-by-line diff of two replies, each element on its own line, for failure messages.
std::string split_tags(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i > 0 && s[i - 1] == '>') {
      out += '\n';
    }
    out += s[i];
  }
  return out;
}

std::string first_difference(const std::string& expected, const std::string& actual) {
  std::istringstream e(split_tags(expected));
  std::istringstream a(split_tags(actual));
  std::string le;
  std::string la;
  int line = 1;
  while (true) {
    const bool ge = static_cast<bool>(std::getline(e, le));
    const bool ga = static_cast<bool>(std::getline(a, la));
    if (!ge && !ga) {
      return "no difference";
    }
    if (le != la || ge != ga) {
      return "element " + std::to_string(line) + ":\n  expected: " + (ge ? le : "<end>") +
             "\n  actual:   " + (ga ? la : "<end>");
    }
    ++line;
  }
}

struct golden_world {
  std::unique_ptr<cim::runtime> rt;
  std::shared_ptr<void> fixture;
  std::unique_ptr<wsman::endpoint> ep;
  wsman::clock::time_point now = wsman::clock::time_point{} + std::chrono::hours(1);

  golden_world() {
    cim::runtime_options ro;
    ro.host_name = "testhost";
    ro.extra_mof = testing::fixture_mof();
    auto started = cim::runtime::start(ro);
    REQUIRE(started);
    rt = std::move(*started);
    auto f = testing::register_fixture(*rt, 5);
    REQUIRE(f);
    fixture = *f;
    wsman::endpoint::options opts;
    opts.max_enumerations_per_user = 8;
    opts.enumeration_expiry = std::chrono::seconds(600);
    opts.machine = "testhost";
    opts.parse_cimxml_instance = [](std::string_view t) { return cimxml::parse_instance(t); };
    ep = std::make_unique<wsman::endpoint>(opts, rt->om());
    ep->set_clock_for_test([this] { return now; });
    // One fixed reply MessageID, so adding a case does not change the others' replies.
    ep->set_message_ids_for_test(
        [] { return std::string("uuid:00000000-0000-4000-8000-000000000000"); });
  }
};

}  // namespace

TEST_CASE("wsman golden: every request file gets its recorded reply", "[server][wsman][golden]") {
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(golden_dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 12 && name.substr(name.size() - 12) == ".request.xml") {
      cases.push_back(e.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() > 50);
  const bool update = std::getenv("VSNAPD_UPDATE_GOLDEN") != nullptr;

  golden_world w;
  std::string last_context;
  const std::regex context_re(
      "(<wsen:EnumerationContext>)(uuid:[0-9a-f-]+)(</wsen:EnumerationContext>)");
  for (const fs::path& request_path : cases) {
    std::string name = request_path.filename().string();
    name.resize(name.size() - 12);
    INFO("case " << name);
    std::string request = read_file(request_path);
    if (auto adv = directive(request, "advance")) {
      w.now += std::chrono::seconds(std::stoi(*adv));
    }
    wsman::caller who{"golden", role::admin};
    if (auto r = directive(request, "role")) {
      who.user_role = *r == "reader"     ? role::reader
                      : *r == "operator" ? role::operator_
                                         : role::admin;
    }
    for (auto pos = request.find("$CONTEXT"); pos != std::string::npos;
         pos = request.find("$CONTEXT")) {
      request.replace(pos, 8, last_context);
    }
    wsman::parsed_request parsed;
    w.ep->parse(parsed, std::move(request));
    wsman::reply reply = w.ep->dispatch(parsed, wsman::transport::https, who);

    std::smatch m;
    if (std::regex_search(reply.body, m, context_re)) {
      last_context = m[2].str();
    }
    // A request's own context (Pull of an expired one) is masked as well.
    std::string masked = reply.body;
    if (!last_context.empty()) {
      // Context ids also appear in fault reasons ("context 'uuid:...' is unknown").
      for (auto pos = masked.find(last_context); pos != std::string::npos;
           pos = masked.find(last_context, pos)) {
        masked.replace(pos, last_context.size(), "$CONTEXT");
      }
    }
    CHECK(reply.is_fault == (masked.find("<s:Fault>") != std::string::npos));

    const fs::path response_path = golden_dir / (name + ".response.xml");
    if (update) {
      std::ofstream(response_path, std::ios::binary) << masked << '\n';
      continue;
    }
    REQUIRE(fs::exists(response_path));
    std::string expected = read_file(response_path);
    while (!expected.empty() && expected.back() == '\n') {
      expected.pop_back();
    }
    INFO(first_difference(expected, masked));
    CHECK(expected == masked);
  }
}
