// Pure parts of the Mongo driver: URI redaction, error classification, client creation.
#include <ca4/drivers/mongo/probe.h>
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

namespace ca4::drivers::mongo {
namespace {

TEST(RedactUri, KeepsHostsAndDatabaseDropsCredentialsAndOptions) {
  EXPECT_EQ(redactUri("mongodb://127.0.0.1:27017/"), "mongodb://127.0.0.1:27017");
  EXPECT_EQ(redactUri("mongodb://127.0.0.1:27017"), "mongodb://127.0.0.1:27017");
  EXPECT_EQ(redactUri("mongodb://user:hunter2@h1:27017,h2:27018/ca4?authSource=admin&tls=true"),
            "mongodb://***@h1:27017,h2:27018/ca4");
  EXPECT_EQ(redactUri("mongodb+srv://svc:pw@cluster0.example.net/ca4?retryWrites=true"),
            "mongodb+srv://***@cluster0.example.net/ca4");
  EXPECT_EQ(redactUri("mongodb://user@host/"), "mongodb://***@host");
  EXPECT_EQ(redactUri("mongodb://host/?tlsCertificateKeyFilePassword=s3cr3t"), "mongodb://host");
}

TEST(RedactUri, PercentEncodedPasswordsAndRawSpecialCharacters) {
  EXPECT_EQ(redactUri("mongodb://u:p%40ss%2Fw@host:1/db"), "mongodb://***@host:1/db");
  // a raw '@' in the password: the last '@' before the host list ends the userinfo
  EXPECT_EQ(redactUri("mongodb://u:p@ss@host:1/db"), "mongodb://***@host:1/db");
  // raw '/' or '?' in the password cuts the authority early: nothing shown
  for (const char* uri : {"mongodb://u:pa/ss@host/db", "mongodb://u:pa?ss@host/db",
                          "mongodb://host/?authMechanismProperties=AWS_SESSION_TOKEN:ab@cd"}) {
    const std::string r = redactUri(uri);
    EXPECT_EQ(r, "mongodb://<redacted>") << uri;
  }
}

TEST(RedactUri, NotAMongoUri) {
  EXPECT_EQ(redactUri("http://host"), "<not a mongodb URI>");
  EXPECT_EQ(redactUri(""), "<not a mongodb URI>");
  EXPECT_EQ(redactUri("user:pw@host"), "<not a mongodb URI>");
}

TEST(MongoErrors, ServerDownIsRetryableAuthIsNot) {
  EXPECT_TRUE(
      isRetryableMongoError(MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE));
  EXPECT_TRUE(isRetryableMongoError(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT));
  EXPECT_TRUE(isRetryableMongoError(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET));
  EXPECT_TRUE(isRetryableMongoError(MONGOC_ERROR_SERVER, 91));     // ShutdownInProgress
  EXPECT_TRUE(isRetryableMongoError(MONGOC_ERROR_SERVER, 10107));  // NotWritablePrimary
  EXPECT_TRUE(isRetryableMongoError(MONGOC_ERROR_SERVER, 1));      // FerretDB backend error
  EXPECT_TRUE(isRetryableMongoError(MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_NOT_READY));

  EXPECT_FALSE(isRetryableMongoError(MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_AUTHENTICATE));
  EXPECT_FALSE(isRetryableMongoError(MONGOC_ERROR_SERVER, 18));  // AuthenticationFailed
  EXPECT_FALSE(isRetryableMongoError(MONGOC_ERROR_SERVER, 13));  // Unauthorized
  EXPECT_FALSE(isRetryableMongoError(MONGOC_ERROR_SASL, 1));
  EXPECT_FALSE(isRetryableMongoError(MONGOC_ERROR_SCRAM, MONGOC_ERROR_SCRAM_PROTOCOL_ERROR));
  EXPECT_FALSE(isRetryableMongoError(MONGOC_ERROR_SERVER, 2));  // BadValue
  EXPECT_FALSE(isRetryableMongoError(MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID));
}

TEST(ProbeCreate, UnparseableUriIsTerminalAndNotShown) {
  auto p = Probe::create({"mongodb://user:hunter2@host:notaport/", "", std::chrono::seconds(1)});
  ASSERT_FALSE(p.ok());
  EXPECT_FALSE(p.error().isRetryable());
  EXPECT_EQ(p.error().message.find("hunter2"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("does not parse"), std::string::npos) << p.error().message;

  auto q = Probe::create({"postgres://x", "", std::chrono::seconds(1)});
  ASSERT_FALSE(q.ok());
  EXPECT_FALSE(q.error().isRetryable());
}

TEST(ProbeCreate, ValidUriNeedsNoServer) {
  auto p = Probe::create({"mongodb://user:hunter2@127.0.0.1:1/ca4", "", std::chrono::seconds(1)});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->redactedUri(), "mongodb://***@127.0.0.1:1/ca4");
}

}  // namespace
}  // namespace ca4::drivers::mongo
