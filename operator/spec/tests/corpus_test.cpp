// Data-driven: every tests/invalid/*.yaml must fail, with each `# expect: LINE:COL PATH` of its
// header matched by a diagnostic at exactly that position whose path contains PATH, and no
// diagnostic containing any `# absent: TEXT`.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"

namespace ca4::spec {
namespace {

namespace fs = std::filesystem;

struct Expect {
  int line = 0;
  int column = 0;
  std::string path;
};

struct Case {
  std::string text;
  std::vector<Expect> expects;
  std::vector<std::string> absent;
};

Case readCase(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  Case c{ss.str(), {}, {}};
  std::istringstream lines(c.text);
  for (std::string l; std::getline(lines, l) && l.rfind("#", 0) == 0;) {
    if (l.rfind("# expect: ", 0) == 0) {
      std::istringstream f(l.substr(10));
      Expect e;
      char colon = 0;
      f >> e.line >> colon >> e.column >> e.path;
      c.expects.push_back(e);
    } else if (l.rfind("# absent: ", 0) == 0) {
      c.absent.push_back(l.substr(10));
    }
  }
  return c;
}

std::vector<fs::path> corpus() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(CA4_SPEC_CORPUS_DIR)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Corpus, HasAtLeast24Cases) { EXPECT_GE(corpus().size(), 24u); }

TEST(Corpus, EveryCaseFailsWithItsExpectedDiagnostics) {
  for (const auto& file : corpus()) {
    SCOPED_TRACE(file.filename().string());
    const auto c = readCase(file);
    ASSERT_FALSE(c.expects.empty()) << "no `# expect:` header";
    const auto r = loadString(c.text, file.filename().string(), testing::fakeEnv({}));
    ASSERT_FALSE(r.ok());
    for (const auto& e : c.expects) {
      const bool found =
          std::any_of(r.diagnostics.begin(), r.diagnostics.end(), [&](const auto& d) {
            return d.line == e.line && d.column == e.column &&
                   d.path.find(e.path) != std::string::npos;
          });
      EXPECT_TRUE(found) << "expected " << e.line << ":" << e.column << " " << e.path << "; got:\n"
                         << testing::dump(r);
    }
    for (const auto& text : c.absent) {
      for (const auto& d : r.diagnostics) {
        EXPECT_EQ(d.str().find(text), std::string::npos) << "leaked into: " << d.str();
      }
    }
  }
}

}  // namespace
}  // namespace ca4::spec
