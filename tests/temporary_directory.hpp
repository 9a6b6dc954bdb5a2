// A directory of the test's own under TMPDIR (ctest sets it per run:
// cmake/LastbyteTestTmpdir.cmake), removed with everything in it when the
// test ends, passed or failed.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace lastbyte_test {

// mkdtemp(3)'s template under $TMPDIR (else /tmp), for the programs that are
// not gtest tests and the files that must outlive a scope.
inline std::string temporary_template(const std::string& prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  return std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/" + prefix + "-XXXXXX";
}

class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& prefix) : path_(temporary_template(prefix)) {
    if (!::mkdtemp(path_.data())) throw std::runtime_error("mkdtemp " + path_ + " failed");
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace lastbyte_test
