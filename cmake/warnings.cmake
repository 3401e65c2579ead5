# Project-wide warnings and sanitizer flags (STYLE rules 16 and 38).
# -Werror=unused-result makes a dropped [[nodiscard]] result<T> a build error,
# standing in for RocksDB's must-check status.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow=local -Werror=unused-result
                    -Werror=return-type -Wno-missing-field-initializers)
# GCC 12 reports -Wrestrict false positives inside libstdc++ for `std::string + literal`
# chains at -O2/-O3 (GCC bug 105329); the warning finds nothing real in this code base.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  add_compile_options(-Wno-restrict)
endif()

if(VSNAPD_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(VSNAPD_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT VSNAPD_SANITIZE STREQUAL "")
  message(FATAL_ERROR "VSNAPD_SANITIZE must be empty, 'address' or 'thread', not '${VSNAPD_SANITIZE}'")
endif()

# Sanitizer builds (scripts/test.sh builds them as RelWithDebInfo): -O1 is what the sanitizers
# are designed for, and -g1 line tables still give every report frame its file:line (inlined
# frames included). Against RelWithDebInfo's -O2 -g this halves their compile time.
if(NOT VSNAPD_SANITIZE STREQUAL "")
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -g1 -DNDEBUG")
endif()
