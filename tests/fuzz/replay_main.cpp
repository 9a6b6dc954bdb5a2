// The fuzz targets without libFuzzer: `fuzz_<target>_<backend> FILE|DIR...`
// runs each input once through LLVMFuzzerTestOneInput. Built by every build
// with tests but without LASTBYTE_BUILD_FUZZ (g++ included), so that the
// targets compile warning-free everywhere and a crash artifact replays under
// a debugger or valgrind. An oracle violation aborts, as under libFuzzer.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::size_t runs = 0;
  auto run = [&](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++runs;
  };
  for (int i = 1; i < argc; ++i) {
    fs::path arg = argv[i];
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg))
        if (entry.is_regular_file()) run(entry.path());
    } else {
      run(arg);
    }
  }
  std::printf("replayed %zu inputs\n", runs);
  return 0;
}
