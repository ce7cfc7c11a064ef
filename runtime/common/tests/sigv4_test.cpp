// SigV4 against AWS's published examples: the SigV4 test suite (AKIDEXAMPLE, service
// "service", us-east-1, 20150830T123600Z) and the S3 documentation's examples (examplebucket,
// AKIAIOSFODNN7EXAMPLE, 20130524T000000Z).
#include <ca4/common/sigv4.h>

#include <gtest/gtest.h>

namespace ca4::sigv4 {
namespace {

const Credentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const Scope kSuiteScope{"us-east-1", "service", "20150830T123600Z"};
const Credentials kS3Creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const Scope kS3Scope{"us-east-1", "s3", "20130524T000000Z"};
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SigV4Request suite(std::string method, std::string path) {
  SigV4Request r(std::move(method), std::move(path));
  r.header("Host", "example.amazonaws.com").header("X-Amz-Date", "20150830T123600Z");
  return r;
}

TEST(SigV4Suite, GetVanilla) {
  const auto s = suite("GET", "/").sign(kSuiteCreds, kSuiteScope);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(s.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Suite, PostVanilla) {
  EXPECT_EQ(suite("POST", "/").sign(kSuiteCreds, kSuiteScope).signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Suite, GetVanillaQueryOrderKeyCase) {
  auto r = suite("GET", "/");
  r.query("Param2", "value2").query("Param1", "value1");
  const auto s = r.sign(kSuiteCreds, kSuiteScope);
  EXPECT_NE(s.canonical_request.find("\nParam1=value1&Param2=value2\n"), std::string::npos);
  EXPECT_EQ(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Suite, GetUtf8PathIsEncodedOnce) {
  const auto s = suite("GET", "/\xE1\x88\xB4").sign(kSuiteCreds, kSuiteScope);
  EXPECT_EQ(s.canonical_request.substr(0, 15), "GET\n/%E1%88%B4\n");
  EXPECT_EQ(s.signature, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4Suite, PathNormalizationForNonS3Services) {
  // get-slash-pointless-dot: "/./example" signs as "/example"
  const auto s = suite("GET", "/./example").sign(kSuiteCreds, kSuiteScope);
  EXPECT_EQ(s.canonical_request.substr(0, 13), "GET\n/example\n");
  EXPECT_EQ(s.signature, "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5");
}

TEST(SigV4S3, GetObjectExample) {
  SigV4Request r("GET", "/test.txt");
  r.header("Host", "examplebucket.s3.amazonaws.com")
      .header("Range", "bytes=0-9")
      .header("x-amz-content-sha256", kEmpty)
      .header("x-amz-date", "20130524T000000Z")
      .payloadHash(kEmpty);
  const auto s = r.sign(kS3Creds, kS3Scope);
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3, PutObjectExampleWithEscapedKeyAndPayload) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string hash = sha256Hex(body);
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r("PUT", "/test$file.text");
  r.header("Host", "examplebucket.s3.amazonaws.com")
      .header("Date", "Fri, 24 May 2013 00:00:00 GMT")
      .header("x-amz-date", "20130524T000000Z")
      .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
      .header("x-amz-content-sha256", hash)
      .payloadHash(hash);
  const auto s = r.sign(kS3Creds, kS3Scope);
  EXPECT_EQ(r.canonicalUri("s3"), "/test%24file.text");
  EXPECT_EQ(s.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, HeaderValuesAreTrimmedAndRepeatedNamesJoined) {
  SigV4Request r("GET", "/");
  r.header("My-Header1", "  value1  ").header("my-header1", "value2").header("X-Spaces", "a   b  c");
  const auto s = r.sign(kSuiteCreds, kSuiteScope);
  EXPECT_NE(s.canonical_request.find("my-header1:value1,value2\n"), std::string::npos);
  EXPECT_NE(s.canonical_request.find("x-spaces:a b c\n"), std::string::npos);
  EXPECT_EQ(s.signed_headers, "my-header1;x-spaces");
}

TEST(SigV4, UriEncode) {
  EXPECT_EQ(uriEncode("a b+c/d~e_f-g.h", true), "a%20b%2Bc/d~e_f-g.h");
  EXPECT_EQ(uriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(uriEncode("evt:1=2", true), "evt%3A1%3D2");
  EXPECT_EQ(uriEncode("\xC3\xA9", false), "%C3%A9");
}

TEST(SigV4, AmzDate) {
  EXPECT_EQ(amzDate(1440938160), "20150830T123600Z");
  EXPECT_EQ(amzDate(0), "19700101T000000Z");
}

}  // namespace
}  // namespace ca4::sigv4
