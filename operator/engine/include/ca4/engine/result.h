// Errors as values. An error is classified ONCE, where it occurs: retryable (a later attempt can
// succeed without the user doing anything: a port not yet open, a broker electing a leader) or
// terminal (the user must change something: a port taken by another program, a missing binary).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ca4::engine {

struct Error {
  enum class Kind { Retryable, Terminal };
  Kind kind = Kind::Terminal;
  std::string message;  // names the thing: "kafka: not listening on 127.0.0.1:9092 after 120 s"
  std::string fix;      // what the user does: "see .ca4/local/kafka.log; free the port or …"

  static Error retryable(std::string msg, std::string fix = {}) {
    return {Kind::Retryable, std::move(msg), std::move(fix)};
  }
  static Error terminal(std::string msg, std::string fix = {}) {
    return {Kind::Terminal, std::move(msg), std::move(fix)};
  }
  bool isRetryable() const { return kind == Kind::Retryable; }
};

// Minimal std::expected stand-in (C++20 here).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

}  // namespace ca4::engine
