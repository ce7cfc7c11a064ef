// Human progress for `-o table`. All output goes through Impl::print* under one mutex; on a TTY
// a ticker thread redraws the spinner line of the stage in flight every 100 ms.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ca4/engine/events.h"

namespace ca4::engine {
namespace {

constexpr std::array<const char*, 10> kSpinner{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
constexpr std::chrono::milliseconds kTick{100};
constexpr const char* kClearLine = "\r\033[K";
constexpr std::size_t kMinNameWidth = 10;
constexpr std::size_t kStatusWidth = 8;

std::string formatDuration(long long ms) {
  if (ms < 0) return "-";
  char buf[32];
  if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", ms / 60'000, (ms / 1000) % 60);
  }
  return buf;
}

// Display columns of a UTF-8 string, approximated as code points (our symbols are 1 column).
std::size_t columns(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, std::size_t width) {
  const std::size_t n = columns(s);
  return n >= width ? s : s + std::string(width - n, ' ');
}

// Cuts to at most `width` columns without splitting a UTF-8 sequence.
std::string truncate(const std::string& s, std::size_t width) {
  std::size_t cols = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80) {
      if (cols == width) return s.substr(0, i);
      ++cols;
    }
  }
  return s;
}

const char* symbolFor(const std::string& status) {
  if (status == "Ready" || status == "ok") return "✓";
  if (status == "Stalled" || status == "failed") return "✗";
  if (status == "Planned") return "~";
  if (status == "Skipped" || status == "Blocked") return "–";
  return "!";
}

const char* changeSymbol(const std::string& action) {
  if (action == "create" || action == "start" || action == "run") return "+";
  if (action == "delete" || action == "stop") return "-";
  return "~";  // update, restart
}

std::string str(const nlohmann::json& fields, const char* key) {
  if (!fields.is_object()) return {};
  auto it = fields.find(key);
  if (it == fields.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

long long num(const nlohmann::json& fields, const char* key) {
  if (!fields.is_object()) return 0;
  auto it = fields.find(key);
  return it != fields.end() && it->is_number() ? it->get<long long>() : 0;
}

}  // namespace

struct TerminalSink::Impl {
  struct Row {
    std::string stage, status, duration, message;
  };

  std::FILE* out;
  bool tty;
  bool verbose;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread ticker;

  // The stage in flight (tty spinner line).
  std::string current;
  std::chrono::steady_clock::time_point started;
  std::string note;
  std::size_t frame = 0;
  bool line_drawn = false;

  std::vector<Row> rows;
  std::size_t name_width = kMinNameWidth;

  std::size_t terminalWidth() const {
    winsize ws{};
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
  }

  void clearLine() {
    if (tty && line_drawn) {
      std::fputs(kClearLine, out);
      line_drawn = false;
    }
  }

  void drawSpinner() {
    if (!tty || current.empty()) return;
    const auto secs =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
            .count();
    std::string line = std::string(kSpinner[frame % kSpinner.size()]) + " " +
                       pad(current, name_width) + " " + std::to_string(secs) + "s";
    if (!note.empty()) line += "  " + note;
    // Never wrap: a wrapped line cannot be redrawn with \r.
    line = truncate(line, terminalWidth() - 1);
    std::fputs(kClearLine, out);
    std::fputs(line.c_str(), out);
    line_drawn = true;
    std::fflush(out);
  }

  void println(const std::string& s) {
    clearLine();
    std::fputs(s.c_str(), out);
    std::fputc('\n', out);
    drawSpinner();
    std::fflush(out);
  }

  void tickerLoop() {
    std::unique_lock lk(mu);
    while (!stopping) {
      cv.wait_for(lk, kTick);
      if (stopping) break;
      if (!current.empty()) {
        ++frame;
        drawSpinner();
      }
    }
  }

  void stageLine(const Event& e) {
    name_width = std::max(name_width, columns(e.stage));
    const std::string dur = e.type == "stage.skipped" ? "" : formatDuration(e.duration_ms);
    std::string line = std::string(symbolFor(e.status)) + " " + pad(e.stage, name_width) + " " +
                       pad(e.status, kStatusWidth) + " " + pad(dur, 6);
    if (!e.message.empty()) line += "  " + e.message;
    println(line);
    const std::string fix = str(e.fields, "fix");
    if (!fix.empty()) println("    fix: " + fix);
    rows.push_back({e.stage, e.status, e.type == "stage.skipped" ? "-" : dur, e.message});
  }

  void summary(const Event& e) {
    if (!rows.empty()) {
      std::size_t w0 = columns("STAGE"), w1 = columns("STATUS"), w2 = columns("DURATION");
      for (const auto& r : rows) {
        w0 = std::max(w0, columns(r.stage));
        w1 = std::max(w1, columns(r.status));
        w2 = std::max(w2, columns(r.duration));
      }
      println("");
      println(pad("STAGE", w0) + "  " + pad("STATUS", w1) + "  " + pad("DURATION", w2) +
              "  MESSAGE");
      for (const auto& r : rows) {
        std::string line = pad(r.stage, w0) + "  " + pad(r.status, w1) + "  " + pad(r.duration, w2);
        if (!r.message.empty()) line += "  " + r.message;
        println(line);
      }
    }
    // plan changes nothing, so "Ready" would mislead: say what was done
    const bool planned = str(e.fields, "mode") == "plan" && e.status == "Ready";
    std::string last = (planned ? std::string("Plan complete") : e.status) + " in " + formatDuration(e.duration_ms);
    if (!e.message.empty()) last += ": " + e.message;
    println(last);
    rows.clear();
  }

  void handle(const Event& e) {
    const std::string& t = e.type;
    if (t == "run.start") {
      rows.clear();
      std::string line = "ca4ctl " + str(e.fields, "command");
      const std::string target = str(e.fields, "target");
      if (!target.empty()) line += " (target " + target + ", run " + e.run + ")";
      println(line);
    } else if (t == "stage.start") {
      current = e.stage;
      name_width = std::max(name_width, columns(e.stage));
      started = std::chrono::steady_clock::now();
      note.clear();
      if (tty) {
        drawSpinner();
      } else {
        println("→ " + e.stage);
      }
    } else if (t == "stage.progress") {
      if (tty && !verbose) {
        note = e.message;
        drawSpinner();
      } else {
        println("    " + e.message);
      }
    } else if (t == "stage.change") {
      const std::string detail = str(e.fields, "detail");
      std::string line = std::string("  ") + changeSymbol(str(e.fields, "action")) + " " +
                         str(e.fields, "action") + " " + str(e.fields, "object");
      if (!detail.empty()) line += "  (" + detail + ")";
      println(line);
      if (const auto d = e.fields.find("diff"); d != e.fields.end() && d->is_array()) {
        for (const auto& l : *d)
          if (l.is_string()) println("      " + l.get<std::string>());
      }
    } else if (t == "stage.retry") {
      const std::string text = "retry " + str(e.fields, "attempt") + " in " +
                               formatDuration(num(e.fields, "delay_ms")) + ": " +
                               str(e.fields, "error");
      if (tty && !verbose) {
        note = text;
        drawSpinner();
      } else {
        println("    ↻ " + text);
      }
    } else if (t == "stage.done" || t == "stage.skipped") {
      if (current == e.stage) {
        current.clear();
        clearLine();
      }
      stageLine(e);
    } else if (t == "check") {
      std::string name = str(e.fields, "name");
      if (name.empty()) name = e.stage;
      std::string line = std::string(symbolFor(e.status)) + " " + name;
      if (!e.message.empty()) line += "  " + e.message;
      println(line);
      const std::string fix = str(e.fields, "fix");
      if (!fix.empty() && e.status != "ok") println("    fix: " + fix);
    } else if (t == "run.done") {
      current.clear();
      clearLine();
      summary(e);
    } else {  // log and anything newer than this sink
      std::string line = e.status == "failed" ? "✗ " + e.message : "  " + e.message;
      println(line);
      const std::string fix = str(e.fields, "fix");
      if (!fix.empty()) println("    fix: " + fix);
    }
  }
};

TerminalSink::TerminalSink(std::FILE* out, bool tty, bool verbose)
    : impl_(std::make_unique<Impl>()) {
  impl_->out = out;
  impl_->tty = tty;
  impl_->verbose = verbose;
  if (tty) impl_->ticker = std::thread([impl = impl_.get()] { impl->tickerLoop(); });
}

TerminalSink::~TerminalSink() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
    impl_->clearLine();
    std::fflush(impl_->out);
  }
  impl_->cv.notify_all();
  if (impl_->ticker.joinable()) impl_->ticker.join();
}

void TerminalSink::emit(const Event& e) {
  std::lock_guard lk(impl_->mu);
  impl_->handle(e);
}

}  // namespace ca4::engine
