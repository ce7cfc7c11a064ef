// Pure parts of the HTTP driver: URL redaction, header parsing, error classification, and the
// checks request() makes before any I/O.
#include <ca4/drivers/http/http_client.h>
#include <curl/curl.h>
#include <gtest/gtest.h>

namespace ca4::drivers::http {
namespace {

TEST(RedactUrl, RemovesUserinfoQueryAndFragment) {
  EXPECT_EQ(redactUrl("http://user:s3cret@host:8080/a/b?token=abc#frag"), "http://host:8080/a/b");
  EXPECT_EQ(redactUrl("https://example.com"), "https://example.com");
  EXPECT_EQ(redactUrl("http://127.0.0.1:9000/bucket/key"), "http://127.0.0.1:9000/bucket/key");
  EXPECT_EQ(redactUrl("http://host?X-Amz-Signature=deadbeef"), "http://host");
}

TEST(RedactUrl, NeverShowsAPasswordWithRawSpecialCharacters) {
  // '@', '/', '?', '#' inside a password (not percent-encoded): everything before the last '@'
  // of the authority goes, and a '@' after the authority hides the whole URL.
  EXPECT_EQ(redactUrl("http://u:p@ss@host/x"), "http://host/x");
  for (const char* url :
       {"http://u:pa/ss@host/x", "http://u:pa?ss@host/x", "http://u:pa#ss@host"}) {
    EXPECT_EQ(redactUrl(url), "http://<redacted>") << url;
  }
}

TEST(RedactUrl, InvalidInput) {
  EXPECT_EQ(redactUrl("not a url"), "<invalid url>");
  EXPECT_EQ(redactUrl("://x"), "<invalid url>");
}

TEST(HeaderParser, LowerCasesNamesTrimsValuesAndJoinsRepeats) {
  HeaderParser p;
  p.feed("HTTP/1.1 200 OK\r\n");
  p.feed("Content-Type:  application/json \r\n");
  p.feed("X-Amz-Request-Id: abc\r\n");
  p.feed("Set-Cookie: a=1\r\n");
  p.feed("set-cookie: b=2\r\n");
  p.feed("\r\n");
  const Headers& h = p.headers();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.at("content-type"), "application/json");
  EXPECT_EQ(h.at("x-amz-request-id"), "abc");
  EXPECT_EQ(h.at("set-cookie"), "a=1, b=2");
}

TEST(HeaderParser, AStatusLineStartsANewBlock) {
  HeaderParser p;
  p.feed("HTTP/1.1 100 Continue\r\n");
  p.feed("X-Interim: yes\r\n");
  p.feed("\r\n");
  p.feed("HTTP/1.1 201 Created\r\n");
  p.feed("Location: /x\r\n");
  EXPECT_EQ(p.headers().count("x-interim"), 0u);
  EXPECT_EQ(p.headers().at("location"), "/x");
}

TEST(HeaderParser, FoldedLinesAndGarbage) {
  HeaderParser p;
  p.feed("X-Long: first\r\n");
  p.feed("   second\r\n");
  p.feed("no colon here\r\n");
  p.feed(": empty name\r\n");
  p.feed("Empty:\r\n");
  EXPECT_EQ(p.headers().at("x-long"), "first second");
  EXPECT_EQ(p.headers().at("empty"), "");
  EXPECT_EQ(p.headers().size(), 2u);
}

TEST(ResponseHeader, LookupByLowerCaseName) {
  Response r;
  r.headers["etag"] = "\"x\"";
  EXPECT_EQ(r.header("etag"), "\"x\"");
  EXPECT_EQ(r.header("missing"), "");
}

TEST(CurlCodes, TransportFailuresAreRetryableConfigurationIsNot) {
  EXPECT_TRUE(isRetryableCurlCode(CURLE_COULDNT_CONNECT));
  EXPECT_TRUE(isRetryableCurlCode(CURLE_OPERATION_TIMEDOUT));
  EXPECT_TRUE(isRetryableCurlCode(CURLE_GOT_NOTHING));
  EXPECT_TRUE(isRetryableCurlCode(CURLE_RECV_ERROR));
  EXPECT_TRUE(isRetryableCurlCode(CURLE_COULDNT_RESOLVE_HOST));
  EXPECT_FALSE(isRetryableCurlCode(CURLE_URL_MALFORMAT));
  EXPECT_FALSE(isRetryableCurlCode(CURLE_UNSUPPORTED_PROTOCOL));
  EXPECT_FALSE(isRetryableCurlCode(CURLE_PEER_FAILED_VERIFICATION));
  EXPECT_FALSE(isRetryableCurlCode(CURLE_SSL_CACERT_BADFILE));
  EXPECT_FALSE(isRetryableCurlCode(CURLE_WRITE_ERROR));
}

TEST(ClassifyStatus, ReadsStatusCodes) {
  EXPECT_FALSE(classifyStatus(200, "GET x").has_value());
  EXPECT_FALSE(classifyStatus(204, "GET x").has_value());
  for (long s : {408L, 425L, 429L, 500L, 502L, 503L, 504L}) {
    auto e = classifyStatus(s, "GET http://h/healthz");
    ASSERT_TRUE(e) << s;
    EXPECT_TRUE(e->isRetryable()) << s;
    EXPECT_EQ(e->message, "GET http://h/healthz: HTTP " + std::to_string(s));
  }
  for (long s : {400L, 401L, 403L, 404L, 301L}) {
    auto e = classifyStatus(s, "GET x");
    ASSERT_TRUE(e) << s;
    EXPECT_FALSE(e->isRetryable()) << s;
  }
  EXPECT_NE(classifyStatus(401, "POST x")->message.find("credentials rejected"), std::string::npos);
}

TEST(HttpClient, MalformedUrlIsTerminalAndNamesNoSecret) {
  HttpClient c;
  Request r;
  r.url = "http://user:hunter22@[::1:80/x";  // broken IPv6 literal
  r.headers = {{"Authorization", "Bearer topsecret"}};
  auto res = c.request(r);
  ASSERT_FALSE(res.ok());
  EXPECT_FALSE(res.error().isRetryable());
  EXPECT_NE(res.error().message.find("malformed URL"), std::string::npos) << res.error().message;
  EXPECT_EQ(res.error().message.find("hunter22"), std::string::npos) << res.error().message;
  EXPECT_EQ(res.error().message.find("topsecret"), std::string::npos) << res.error().message;
}

TEST(HttpClient, UnsupportedSchemeIsTerminal) {
  HttpClient c;
  auto res = c.get("ftp://127.0.0.1/x", std::chrono::milliseconds(100));
  ASSERT_FALSE(res.ok());
  EXPECT_FALSE(res.error().isRetryable());
  EXPECT_NE(res.error().message.find("unsupported scheme \"ftp\""), std::string::npos)
      << res.error().message;
  auto none = c.get("no-scheme-at-all", std::chrono::milliseconds(100));
  ASSERT_FALSE(none.ok());
  EXPECT_FALSE(none.error().isRetryable());
}

}  // namespace
}  // namespace ca4::drivers::http
