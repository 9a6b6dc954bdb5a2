# Every test of a ctest run writes its temporary files (certificates, key
# logs, workspaces, sockets' helper files) in one directory of the build
# tree, TMPDIR=<build>/test-tmp, never in /tmp. A setup test empties it
# before the run; a cleanup test, after every test that uses it, fails when a
# test left anything there (naming what), then removes it. gtest's TempDir(),
# mkdtemp(3) on a TMPDIR-derived path, mktemp(1) and Python's tempfile all
# honour TMPDIR.
set(LASTBYTE_TEST_TMPDIR "${CMAKE_BINARY_DIR}/test-tmp")

function(lastbyte_add_test_tmpdir_fixture)
  add_test(NAME test_tmpdir_create COMMAND sh -c "rm -rf \"$0\" && mkdir -p \"$0\"" ${LASTBYTE_TEST_TMPDIR})
  add_test(NAME tests_left_no_temporary_files
           COMMAND sh -c "left=$(ls -A \"$0\" 2>/dev/null); if [ -n \"$left\" ]; then
                            echo \"tests left these in their TMPDIR $0 (a test must remove what it creates):\" >&2;
                            ls -lA \"$0\" >&2; rm -rf \"$0\"; exit 1; fi; rm -rf \"$0\"; echo \"no temporary file left\""
                   ${LASTBYTE_TEST_TMPDIR})
  set_tests_properties(test_tmpdir_create PROPERTIES FIXTURES_SETUP lastbyte_test_tmpdir)
  set_tests_properties(tests_left_no_temporary_files PROPERTIES FIXTURES_CLEANUP lastbyte_test_tmpdir)
endfunction()

# Gives every test add_test declared so far in the calling directory that
# TMPDIR and the fixture (gtest_discover_tests and the catalogue's generated
# tests set both themselves).
function(lastbyte_use_test_tmpdir)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(test IN LISTS tests)
    if(test MATCHES "^(test_tmpdir_create|tests_left_no_temporary_files)$")
      continue()
    endif()
    set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT "TMPDIR=${LASTBYTE_TEST_TMPDIR}")
    set_property(TEST ${test} APPEND PROPERTY FIXTURES_REQUIRED lastbyte_test_tmpdir)
  endforeach()
endfunction()
