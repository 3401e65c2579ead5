# Integration tests (Python 3 stdlib unittest) run against the built vsnapd binary.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is <source>/tests.
foreach(_vsnapd_it test_cli test_http test_pywinrm test_tls test_wsl)
  add_test(NAME integration.${_vsnapd_it}
           COMMAND /usr/bin/python3 -m unittest -v ${CMAKE_CURRENT_SOURCE_DIR}/integration/${_vsnapd_it}.py
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(integration.${_vsnapd_it} PROPERTIES
                       ENVIRONMENT "VSNAPD_BIN=$<TARGET_FILE:vsnapd>"
                       LABELS integration
                       TIMEOUT 180)
endforeach()

# vsnapd-img against qemu-img/qemu-io (real qcow2 files; needs qemu-utils).
add_test(NAME integration.test_vsnapd_img
         COMMAND /usr/bin/python3 -m unittest -v ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_vsnapd_img.py
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(integration.test_vsnapd_img PROPERTIES
                     ENVIRONMENT "VSNAPD_IMG_BIN=$<TARGET_FILE:vsnapd-img>"
                     LABELS integration
                     TIMEOUT 180)

# The test guest (scripts/build-test-guest.sh) boots under QEMU/TCG and answers on its serial
# console; skips only when the guest cannot be built (no network for apt-get download). It runs
# no vsnapd code, so the sanitizer builds do not repeat its ~20 s of emulation.
if(VSNAPD_SANITIZE STREQUAL "")
  add_test(NAME integration.test_guest_boot
           COMMAND /usr/bin/python3 -m unittest -v ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_guest_boot.py
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(integration.test_guest_boot PROPERTIES
                       LABELS integration
                       TIMEOUT 300)
endif()
