// The report as a person sees it: opened in headless Chromium, it loads with no console
// errors, its DOM is complete, the screenshot shows the figures (curve colours, the embedded
// images), and it prints to PDF. Skipped where Chromium is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "png_decode.h"
#include "report/report.h"
#include "report_fixtures.h"

namespace fs = std::filesystem;
using kiln::testing::decode_png;
using kiln::testing::ink;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// KILN_CHROMIUM names another binary; otherwise Debian's package.
std::string chromium_path() {
  if (const char* env = std::getenv("KILN_CHROMIUM"); env && *env) return env;
  return "/usr/bin/chromium";
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = 0; (p = s.find(what, p)) != std::string::npos; p += what.size()) ++n;
  return n;
}

class Browser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(chromium_path())) GTEST_SKIP() << "Chromium not installed at " << chromium_path() << " (set KILN_CHROMIUM)";
    if (std::system("command -v timeout > /dev/null 2>&1") != 0) GTEST_SKIP() << "coreutils 'timeout' not found";
    dir_ = (fs::temp_directory_path() / ("kiln-browser-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    html_ = kiln::write_report(kiln::testing::sample_report_data(), dir_ + "/run");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs Chromium on the report with `args`, in a fresh profile, killed after 60 s; stdout and
  // stderr go to files. Returns the exit status.
  int chromium(const std::string& name, const std::string& args) {
    const std::string profile = dir_ + "/profile-" + name;
    const std::string cmd = "timeout 60 '" + chromium_path() +
                            "' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
                            "--disable-component-update --disable-sync --disable-extensions --user-data-dir='" + profile + "' " + args +
                            " 'file://" + fs::absolute(html_).string() + "' > '" + dir_ + "/" + name + ".out' 2> '" + dir_ + "/" + name +
                            ".err' < /dev/null";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  std::string dir_, html_;
};

// The lines of Chromium's log that come from the page: console messages and failed loads.
std::vector<std::string> page_errors(const std::string& log) {
  std::vector<std::string> bad;
  std::istringstream is(log);
  for (std::string line; std::getline(is, line);)
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos ||
        line.find("net::ERR_") != std::string::npos || line.find("Failed to load") != std::string::npos)
      bad.push_back(line);
  return bad;
}

}  // namespace

TEST_F(Browser, LoadsCleanlyAndTheDomIsComplete) {
  ASSERT_EQ(chromium("dom", "--enable-logging=stderr --v=0 --dump-dom"), 0) << slurp(dir_ + "/dom.err");
  const std::string dom = slurp(dir_ + "/dom.out");
  for (const char* id : {"curves", "dynamics", "confusion", "per-class", "filters", "mistakes", "correct", "model", "hyperparameters", "manifest"})
    EXPECT_NE(dom.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_EQ(count(dom, "<svg"), 9u);  // the 7 figures of the results and the 2 of gradients and weights
  EXPECT_EQ(count(dom, "<image"), 9u + 8u + 8u + 1u);  // mistakes, correct, filters, scale bar
  EXPECT_NE(dom.find("</html>"), std::string::npos);
  const auto errors = page_errors(slurp(dir_ + "/dom.err"));
  EXPECT_TRUE(errors.empty()) << errors.size() << " page errors, first: " << errors.front();
}

TEST_F(Browser, ScreenshotShowsTheFigures) {
  const std::string shot = dir_ + "/shot.png";
  ASSERT_EQ(chromium("shot", "--enable-logging=stderr --v=0 --hide-scrollbars --window-size=1280,7000 --screenshot='" + shot + "'"), 0)
      << slurp(dir_ + "/shot.err");
  const auto errors = page_errors(slurp(dir_ + "/shot.err"));
  EXPECT_TRUE(errors.empty()) << errors.size() << " page errors, first: " << errors.front();
  ASSERT_TRUE(fs::exists(shot));
  const auto png = decode_png(slurp(shot));
  ASSERT_EQ(png.width, 1280);
  ASSERT_GE(png.height, 4000);
  const auto all = ink(png);
  EXPECT_GT(all.non_white, all.pixels / 50) << "the page is (nearly) blank";
  EXPECT_GE(all.colours, 100u);

  // Where the page ends, and no tall blank gap before that (a figure that failed to show).
  int64_t last = 0;
  for (int64_t y = 0; y < png.height; ++y)
    for (int64_t x = 0; x < png.width; x += 2)
      if (png.rgb(x, y) != 0xffffffu) last = y;
  EXPECT_GT(last, 3000) << "the report is shorter than its content";
  for (int64_t y = 0; y + 400 < last; y += 400) {
    const auto band = ink(png, 0, y, png.width, y + 400);
    EXPECT_GT(band.non_white, 500) << "blank band at y = " << y;
  }

  // Curve colours drawn by the browser (line centres are the exact colour; allow a little
  // for colour management), and the embedded images: their near-black pixels are found
  // nowhere else on the page (the darkest text is #222).
  auto near = [](uint32_t c, uint32_t want, int tol) {
    for (int s = 0; s < 24; s += 8)
      if (std::abs(static_cast<int>((c >> s) & 255) - static_cast<int>((want >> s) & 255)) > tol) return false;
    return true;
  };
  int64_t blue = 0, orange = 0, dark = 0;
  for (int64_t y = 0; y < png.height; ++y)
    for (int64_t x = 0; x < png.width; ++x) {
      const uint32_t c = png.rgb(x, y);
      blue += near(c, 0x0072B2, 12), orange += near(c, 0xE69F00, 12), dark += near(c, 0x000000, 16);
    }
  EXPECT_GT(blue, 1000) << "no curves in the train colour";
  EXPECT_GT(orange, 500) << "no curves in the test colour";
  EXPECT_GT(dark, 5000) << "the embedded images did not show";
}

TEST_F(Browser, PrintsToPdf) {
  const std::string pdf = dir_ + "/report.pdf";
  ASSERT_EQ(chromium("pdf", "--no-pdf-header-footer --print-to-pdf='" + pdf + "'"), 0) << slurp(dir_ + "/pdf.err");
  const std::string bytes = slurp(pdf);
  ASSERT_GT(bytes.size(), 20000u);
  EXPECT_EQ(bytes.substr(0, 5), "%PDF-");
  EXPECT_GE(count(bytes, "/Type /Page") + count(bytes, "/Type/Page"), 3u) << "expected several pages";
}
