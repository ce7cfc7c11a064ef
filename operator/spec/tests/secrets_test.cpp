// Secrets are ${NAME} references only; literals are rejected without echoing them. Non-secret
// strings interpolate ${NAME}; "$${" escapes.
#include "test_util.h"

namespace ca4::spec {
namespace {

using testing::failsAt;
using testing::loads;
using testing::withSpec;

constexpr const char* kLiteral = "hunter2-SECRET-LITERAL";

struct SecretField {
  std::string flow;  // with VALUE
  std::string path;
};

const std::vector<SecretField>& secretFields() {
  static const std::vector<SecretField> fields = {
      {"{hosts: {keyPassphrase: VALUE}}", "spec.hosts.keyPassphrase"},
      {"{infra: {secretVars: {db_password: VALUE}}}", "spec.infra.secretVars.db_password"},
      {"{platform: {db: {uri: VALUE}}}", "spec.platform.db.uri"},
      {"{platform: {archive: {accessKeyId: VALUE}}}", "spec.platform.archive.accessKeyId"},
      {"{platform: {archive: {secretAccessKey: VALUE}}}", "spec.platform.archive.secretAccessKey"},
      {"{edge: {processor: {apiKey: VALUE}}}", "spec.edge.processor.apiKey"},
  };
  return fields;
}

std::string with(const std::string& flow, const std::string& v) {
  auto s = flow;
  return s.replace(s.find("VALUE"), 5, v);
}

TEST(Secrets, LiteralIsRejectedAndNeverEchoed) {
  for (const auto& f : secretFields()) {
    for (const std::string& lit :
         {std::string(kLiteral), "\"" + std::string(kLiteral) + "\"",
          "\"${" + std::string(kLiteral) + "}\"", std::string("\"prefix-${CA4_X}\"")}) {
      const auto r = withSpec(with(f.flow, lit), {{"CA4_X", "v"}});
      ASSERT_TRUE(failsAt(r, f.path, "secret values must not be written in ca4.yaml")) << lit;
      const auto* d = testing::find(r, f.path);
      EXPECT_NE(d->fix.find("export it and write \"${CA4_"), std::string::npos) << d->fix;
      for (const auto& diag : r.diagnostics) {
        EXPECT_EQ(diag.str().find("SECRET-LITERAL"), std::string::npos) << diag.str();
        EXPECT_EQ(diag.str().find("prefix-"), std::string::npos) << diag.str();
      }
    }
  }
}

TEST(Secrets, NumberOrMapLiteralIsRejectedToo) {
  EXPECT_TRUE(failsAt(withSpec("{edge: {processor: {apiKey: 123456}}}"),
                      "spec.edge.processor.apiKey", "must not be written"));
  EXPECT_TRUE(failsAt(withSpec("{edge: {processor: {apiKey: {a: b}}}}"),
                      "spec.edge.processor.apiKey", "expected a ${NAME} reference"));
}

TEST(Secrets, ReferenceResolvesFromInjectedEnv) {
  for (const auto& f : secretFields()) {
    const auto r = withSpec(with(f.flow, "\"${CA4_S}\""), {{"CA4_S", "s3cr3t-value"}});
    ASSERT_TRUE(loads(r)) << f.path;
  }
  const auto r =
      withSpec("{edge: {processor: {apiKey: \"${CA4_API_KEY}\"}}}", {{"CA4_API_KEY", "k-12345678"}});
  ASSERT_TRUE(loads(r));
  const auto& key = r.pipeline->spec.edge.processor.api_key;
  EXPECT_EQ(key.ref(), "CA4_API_KEY");
  EXPECT_EQ(key.value(), "k-12345678");
  EXPECT_EQ(key.redacted(), "${CA4_API_KEY}");
}

TEST(Secrets, UnsetReferenceIsAnEmptyOptionalSecret) {
  const auto r = withSpec("{hosts: {keyPassphrase: \"${CA4_SSH_PASSPHRASE}\"}}");
  ASSERT_TRUE(loads(r));
  const auto& s = r.pipeline->spec.hosts.key_passphrase;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.ref(), "CA4_SSH_PASSPHRASE");
  EXPECT_EQ(Secret().redacted(), "<unset>");
}

TEST(Secrets, SecretVarsResolve) {
  const auto r = withSpec("{infra: {secretVars: {db_password: \"${TF_DB_PASSWORD}\"}}}",
                          {{"TF_DB_PASSWORD", "pw"}});
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.infra.secret_vars.at("db_password").value(), "pw");
}

TEST(Secrets, AwsDbUriReferencedButUnsetNamesTheVariable) {
  const auto r = withSpec("{target: aws, platform: {db: {uri: \"${CA4_MONGO_URI}\"}}}");
  ASSERT_TRUE(failsAt(r, "spec.platform.db.uri", "CA4_MONGO_URI is not set"));
  EXPECT_TRUE(loads(withSpec("{target: aws}"))) << "aws may leave db.uri to Terraform";
  EXPECT_TRUE(loads(withSpec("{target: aws, platform: {db: {uri: \"${CA4_MONGO_URI}\"}}}",
                             {{"CA4_MONGO_URI", "mongodb://u:p@h"}})));
  EXPECT_TRUE(loads(withSpec("{platform: {db: {uri: \"${CA4_MONGO_URI}\"}}}")))
      << "local: the embedded DB needs no URI";
}

TEST(Interpolation, NonSecretStringsExpandEnv) {
  const auto r = withSpec("{infra: {region: \"${REGION}\", workspace: \"ws-${USER_X}-${N}\"}}",
                          {{"REGION", "eu-west-1"}, {"USER_X", "ana"}, {"N", "2"}});
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.infra.region, "eu-west-1");
  EXPECT_EQ(r.pipeline->spec.infra.workspace, "ws-ana-2");
}

TEST(Interpolation, UnsetVariableIsAnErrorAtTheField) {
  const auto r = testing::load(std::string(testing::kHeader) +
                               "spec:\n  infra:\n    region: \"${NOPE_REGION}\"\n");
  ASSERT_TRUE(failsAt(r, "spec.infra.region", "environment variable NOPE_REGION is not set"));
  EXPECT_EQ(r.diagnostics[0].line, 5);
  EXPECT_EQ(r.diagnostics[0].column, 13);
}

TEST(Interpolation, DoubleDollarEscapes) {
  const auto r2 = withSpec("{infra: {workspace: \"a$${NOT_A_VAR}b$\"}}");
  ASSERT_TRUE(loads(r2));
  EXPECT_EQ(r2.pipeline->spec.infra.workspace, "a${NOT_A_VAR}b$");
}

TEST(Interpolation, MalformedReference) {
  EXPECT_TRUE(
      failsAt(withSpec("{infra: {workspace: \"${1BAD}\"}}"), "spec.infra.workspace", "malformed"));
  EXPECT_TRUE(
      failsAt(withSpec("{infra: {workspace: \"${OPEN\"}}"), "spec.infra.workspace", "malformed"));
}

TEST(Interpolation, AppliesToListsMapsAndEnums) {
  const auto r = withSpec(
      "{target: \"${T}\", cluster: {tlsSans: [\"${H}\"]}, "
      "infra: {vars: {k: \"${H}\"}}}",
      {{"T", "aws"}, {"H", "edge.example.com"}});
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.pipeline->spec.target, Target::Aws);
  EXPECT_EQ(r.pipeline->spec.cluster.tls_sans.at(0), "edge.example.com");
  EXPECT_EQ(r.pipeline->spec.infra.vars.at("k"), "edge.example.com");
}

TEST(Env, ProcessEnvReadsTheProcessEnvironment) {
  const auto env = processEnv();
  EXPECT_FALSE(env("CA4_SPEC_TEST_SURELY_UNSET_VARIABLE_1234").has_value());
}

}  // namespace
}  // namespace ca4::spec
