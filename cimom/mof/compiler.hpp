#pragma once
// The MOF compiler: parses MOF files (following #pragma include), checks them against DSP0004
// (qualifier declarations, scopes, flavors and overrides, types and ranges, inheritance, keys,
// associations, references, aliases) and lowers them into a cim::class_repository and a list of
// instances. Every problem is a diagnostic with file, line and column; nothing throws.
//
// One call to compile_file/compile_text is one compilation unit: forward references to classes
// and aliases declared later in the same unit are resolved; the repository carries classes and
// qualifier declarations from one unit to the next.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cimom/class_repository.hpp"
#include "cimom/instance.hpp"
#include "cimom/mof/diagnostic.hpp"

namespace vsnapd::cim::mof {

struct compile_options {
  /// Searched, in order, for `#pragma include` files not found next to the including file.
  std::vector<std::string> include_dirs;
  /// The namespace of productions before any `#pragma namespace`.
  std::string default_namespace = "root/cimv2";
  /// Reads a file for compile_file and `#pragma include`; empty means the file system. Set it to
  /// compile MOF held in memory (the schema embedded in the binary). On failure it returns false
  /// and says why in its third argument.
  std::function<bool(const std::string& path, std::string& text, std::string& why)> read_file;
};

/// An `instance of` declaration, lowered.
struct compiled_instance {
  std::string ns;
  std::string alias;  ///< without the '$'; empty when none
  cim::instance value;
  source_location where;
};

/// Compiles MOF into a repository. Not thread-safe; use one compiler per thread.
class compiler {
 public:
  /// @param repo receives namespaces, qualifier declarations and classes; must outlive this.
  explicit compiler(class_repository& repo, compile_options options = {});
  ~compiler();
  compiler(const compiler&) = delete;
  compiler& operator=(const compiler&) = delete;

  /// Compiles the file at @p path and everything it includes as one unit.
  /// @return true when the unit produced no error (warnings allowed).
  bool compile_file(std::string_view path);
  /// Compiles in-memory MOF text as one unit; @p name appears in diagnostics and anchors
  /// relative includes.
  bool compile_text(std::string name, std::string text);

  /// Diagnostics of every unit compiled so far, in order.
  const diagnostics& diags() const;
  /// The files read so far (for formatting diagnostics).
  const source_manager& sources() const;
  /// Classes added to the repository by this compiler.
  std::size_t classes_added() const;
  /// Instances declared by the units compiled so far.
  const std::vector<compiled_instance>& instances() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vsnapd::cim::mof
