// RFC 3339 date-times <-> UTC microseconds since the Unix epoch, proleptic Gregorian calendar.
// Civil-date arithmetic after Howard Hinnant's days_from_civil / civil_from_days.
#include <array>
#include <charconv>

#include "ca4/common/envelope.h"

namespace ca4::envelope {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

constexpr std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t y;
  unsigned m, d;
};

constexpr Civil civilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

constexpr bool isLeap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned daysInMonth(std::int64_t y, unsigned m) {
  constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n ASCII digits at s[pos]; false if any is not a digit.
bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  return true;
}

// The range every parsed time lies in, so formatRfc3339 of it is always 4-digit-year RFC 3339.
constexpr std::int64_t kMinMicros = daysFromCivil(0, 1, 1) * kSecondsPerDay * kMicrosPerSecond;
constexpr std::int64_t kMaxMicros =
    (daysFromCivil(10000, 1, 1) * kSecondsPerDay) * kMicrosPerSecond - 1;

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

std::optional<std::int64_t> parseRfc3339(std::string_view s) {
  // YYYY-MM-DD(T|t)HH:MM:SS[.f{1,9}](Z|z|(+|-)HH:MM)
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {  // leap second 60 is rejected: no producer emits it
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t frac_us = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) frac_us = frac_us * 10 + (s[pos] - '0');  // digits past µs are truncated
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t i = n; i < 6; ++i) frac_us *= 10;
  }
  if (pos >= s.size()) return std::nullopt;  // the offset is mandatory
  std::int64_t offset_s = 0;
  const char z = s[pos];
  if (z == 'Z' || z == 'z') {
    ++pos;
  } else if (z == '+' || z == '-') {
    unsigned oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (static_cast<std::int64_t>(oh) * 3600 + om * 60) * (z == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t secs = daysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 +
                            minute * 60 + second - offset_s;
  const std::int64_t us = secs * kMicrosPerSecond + frac_us;
  if (us < kMinMicros || us > kMaxMicros) return std::nullopt;
  return us;
}

std::string formatRfc3339(std::int64_t micros) {
  std::int64_t secs = micros / kMicrosPerSecond;
  std::int64_t us = micros % kMicrosPerSecond;
  if (us < 0) {
    us += kMicrosPerSecond;
    --secs;
  }
  std::int64_t days = secs / kSecondsPerDay;
  std::int64_t sod = secs % kSecondsPerDay;
  if (sod < 0) {
    sod += kSecondsPerDay;
    --days;
  }
  const Civil c = civilFromDays(days);
  // Years outside 0000..9999 (never produced by parseRfc3339) are written as plain integers.
  char buf[48];
  char* p = buf;
  if (c.y >= 0 && c.y <= 9999) {
    put2(p, static_cast<unsigned>(c.y / 100));
    put2(p + 2, static_cast<unsigned>(c.y % 100));
    p += 4;
  } else {
    p = std::to_chars(p, buf + 24, c.y).ptr;
  }
  *p++ = '-';
  put2(p, c.m);
  p[2] = '-';
  put2(p + 3, c.d);
  p[5] = 'T';
  put2(p + 6, static_cast<unsigned>(sod / 3600));
  p[8] = ':';
  put2(p + 9, static_cast<unsigned>(sod / 60 % 60));
  p[11] = ':';
  put2(p + 12, static_cast<unsigned>(sod % 60));
  p[14] = '.';
  auto u = static_cast<unsigned>(us);
  for (int i = 5; i >= 0; --i) {
    p[15 + i] = static_cast<char>('0' + u % 10);
    u /= 10;
  }
  p[21] = 'Z';
  return std::string(buf, p + 22);
}

}  // namespace ca4::envelope
