// Shared helpers for the ca4::common envelope tests.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "ca4/common/envelope.h"
#include "ca4/common/testing/sample_envelope.h"

namespace ca4::envelope {

inline void PrintTo(const Envelope& e, std::ostream* os) { *os << toCanonicalJson(e); }
inline void PrintTo(const FieldError& e, std::ostream* os) {
  *os << "{\"" << e.path << "\", \"" << e.message << "\"}";
}

namespace test {

// A small valid envelope as a mutable JSON tree (8 floats keeps failures readable).
inline nlohmann::json sample(std::size_t dims = 8) {
  return nlohmann::json::parse(testing::sampleEnvelopeJson("evt-1", dims));
}

inline std::vector<FieldError> errorsOf(const std::string& json, const Limits& limits = {}) {
  return parseEnvelope(json, limits).errors;
}
inline std::vector<FieldError> errorsOf(const nlohmann::json& j, const Limits& limits = {}) {
  return errorsOf(j.dump(), limits);
}

inline Envelope parseOk(const std::string& json) {
  ParseResult r = parseEnvelope(json);
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
  return r.ok() ? *r.envelope : Envelope{};
}
inline Envelope parseOk(const nlohmann::json& j) { return parseOk(j.dump()); }

inline std::vector<FieldError> one(std::string path, std::string message) {
  return {FieldError{std::move(path), std::move(message)}};
}

}  // namespace test
}  // namespace ca4::envelope
