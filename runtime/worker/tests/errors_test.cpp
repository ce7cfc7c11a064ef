#include <ca4/worker/errors.h>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

namespace ca4::worker {
namespace {

constexpr auto R = Disposition::Retry;
constexpr auto J = Disposition::Reject;

TEST(ClassifyMongoCommand, ClientSideDomainsAreRetried) {
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT), R);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET), R);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE), R);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_AUTHENTICATE), R);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_PROTOCOL, MONGOC_ERROR_PROTOCOL_INVALID_REPLY), R);
}

TEST(ClassifyMongoCommand, ContentErrorsAreRejected) {
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_TOO_BIG), J);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG), J);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID), J);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_SERVER, 121), J);
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_SERVER, 10334), J);
}

TEST(ClassifyMongoCommand, ServerStateErrorsAreRetried) {
  for (std::uint32_t code : {1u, 13u, 18u, 89u, 91u, 189u, 10107u, 11600u, 16500u, 262u, 50u, 12345u})
    EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_SERVER, code), R) << code;
  EXPECT_EQ(classifyMongoCommandError(MONGOC_ERROR_WRITE_CONCERN, 64), R);
}

TEST(ClassifyMongoWrite, TransientCodesRetryEverythingElseRejects) {
  for (std::int32_t code : {91, 189, 10107, 11600, 11602, 112, 16500, 50, 262, 1})
    EXPECT_EQ(classifyMongoWriteError(code), R) << code;
  for (std::int32_t code : {121, 2, 52, 56, 57, 10334, 17280, 9, 4242})
    EXPECT_EQ(classifyMongoWriteError(code), J) << code;
}

TEST(ClassifyHttp, TransportFailuresAndServerErrorsRetry) {
  EXPECT_EQ(classifyHttp(CURLE_COULDNT_CONNECT, 0, ""), R);
  EXPECT_EQ(classifyHttp(CURLE_OPERATION_TIMEDOUT, 0, ""), R);
  EXPECT_EQ(classifyHttp(CURLE_COULDNT_RESOLVE_HOST, 0, ""), R);
  EXPECT_EQ(classifyHttp(CURLE_SSL_CACERT_BADFILE, 0, ""), R);
  EXPECT_EQ(classifyHttp(CURLE_OK, 500, "InternalError"), R);
  EXPECT_EQ(classifyHttp(CURLE_OK, 503, "SlowDown"), R);
  EXPECT_EQ(classifyHttp(CURLE_OK, 429, ""), R);
  EXPECT_EQ(classifyHttp(CURLE_OK, 408, ""), R);
}

TEST(ClassifyHttp, ConfigurationErrorsRetryUntilFixed) {
  EXPECT_EQ(classifyHttp(CURLE_OK, 403, "SignatureDoesNotMatch"), R);
  EXPECT_EQ(classifyHttp(CURLE_OK, 403, "AccessDenied"), R);
  EXPECT_EQ(classifyHttp(CURLE_OK, 404, "NoSuchBucket"), R);
  EXPECT_EQ(classifyHttp(CURLE_OK, 400, "AuthorizationHeaderMalformed"), R);
}

TEST(ClassifyHttp, ObjectErrorsReject) {
  EXPECT_EQ(classifyHttp(CURLE_OK, 400, "EntityTooLarge"), J);
  EXPECT_EQ(classifyHttp(CURLE_OK, 400, "KeyTooLongError"), J);
  EXPECT_EQ(classifyHttp(CURLE_OK, 413, ""), J);
  EXPECT_EQ(classifyHttp(CURLE_OK, 414, ""), J);
}

}  // namespace
}  // namespace ca4::worker
