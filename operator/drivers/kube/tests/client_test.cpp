// The pure half of the Kubernetes client: typed API errors from Status bodies (and what a retry
// can do about them), request paths and queries, and discovery parsing. No network.
#include <ca4/drivers/kube/client.h>
#include <gtest/gtest.h>

namespace ca4::drivers::kube {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// What an API server answers to a server-side apply that conflicts with a hand edit.
constexpr const char* kManagerConflict =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.x","reason":"Conflict","details":{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"kubectl-edit\" using v1","field":".data.x"}]},"code":409})";

constexpr const char* kOptimisticConflict =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"x","kind":"configmaps"},"code":409})";

constexpr const char* kAlreadyExists =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" already exists","reason":"AlreadyExists","details":{"name":"x","kind":"configmaps"},"code":409})";

constexpr const char* kInvalid =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Deployment.apps \"processor-api\" is invalid: spec.template.spec.containers[0].image: Required value","reason":"Invalid","details":{"name":"processor-api","group":"apps","kind":"Deployment","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.template.spec.containers[0].image"}]},"code":422})";

constexpr const char* kForbidden =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"processor-api\" is forbidden: User \"bob\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"app\"","reason":"Forbidden","details":{"name":"processor-api","group":"apps","kind":"deployments"},"code":403})";

constexpr const char* kNotFound =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces \"app\" not found","reason":"NotFound","details":{"name":"app","kind":"namespaces"},"code":404})";

constexpr const char* kTooMany =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests","details":{"retryAfterSeconds":1},"code":429})";

constexpr const char* kInternal =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: etcdserver: request timed out","reason":"InternalError","details":{"causes":[{"message":"etcdserver: request timed out"}]},"code":500})";

TEST(ApiError, ManagerConflict) {
  const auto e = apiErrorFrom(409, kManagerConflict);
  EXPECT_EQ(e.kind, ApiErrorKind::Conflict);
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(e.reason, "Conflict");
  EXPECT_TRUE(contains(e.message, "Apply failed with 1 conflict"));
  ASSERT_EQ(e.causes.size(), 1u);
  EXPECT_EQ(e.causes[0].type, "FieldManagerConflict");
  EXPECT_EQ(e.causes[0].field, ".data.x");
  EXPECT_EQ(e.causes[0].message, "conflict with \"kubectl-edit\" using v1");
  EXPECT_EQ(e.conflictingManagers(), (std::vector<std::string>{"kubectl-edit"}));

  const auto err = e.toError("apply ConfigMap/app/x");
  EXPECT_FALSE(err.isRetryable());
  EXPECT_TRUE(contains(err.message, "apply ConfigMap/app/x: conflict (HTTP 409)")) << err.message;
  EXPECT_TRUE(contains(err.message, ".data.x: conflict with \"kubectl-edit\"")) << err.message;
  EXPECT_TRUE(contains(err.fix, "\"kubectl-edit\"")) << err.fix;
  EXPECT_TRUE(contains(err.fix, "forceConflicts")) << err.fix;
}

TEST(ApiError, ConflictingManagersAreDistinctAndInOrder) {
  ApiError e;
  e.kind = ApiErrorKind::Conflict;
  e.causes = {{"FieldManagerConflict", ".spec.replicas", "conflict with \"hpa-controller\" with subresource \"scale\""},
              {"FieldManagerConflict", ".data.a", "conflict with \"kubectl-edit\" using v1"},
              {"FieldManagerConflict", ".data.b", "conflict with \"kubectl-edit\" using v1"},
              {"FieldValueInvalid", ".data.c", "conflict with \"not-a-manager\""},
              {"FieldManagerConflict", ".data.d", "no quotes here"}};
  EXPECT_EQ(e.conflictingManagers(), (std::vector<std::string>{"hpa-controller", "kubectl-edit"}));
  const auto err = e.toError("apply x");
  EXPECT_TRUE(contains(err.fix, "\"hpa-controller\", \"kubectl-edit\"")) << err.fix;
}

TEST(ApiError, ConflictWithoutManagersIsRetryable) {
  const auto e = apiErrorFrom(409, kOptimisticConflict);
  EXPECT_EQ(e.kind, ApiErrorKind::Conflict);
  EXPECT_TRUE(e.conflictingManagers().empty());
  const auto err = e.toError("apply ConfigMap/app/x");
  EXPECT_TRUE(err.isRetryable());
  EXPECT_TRUE(contains(err.message, "the object has been modified")) << err.message;
}

TEST(ApiError, AlreadyExists) {
  const auto e = apiErrorFrom(409, kAlreadyExists);
  EXPECT_EQ(e.kind, ApiErrorKind::AlreadyExists);
  EXPECT_EQ(e.reason, "AlreadyExists");
  EXPECT_TRUE(e.causes.empty());
  const auto err = e.toError("create ConfigMap/app/x");
  EXPECT_FALSE(err.isRetryable());
  EXPECT_TRUE(contains(err.message, "already exists (HTTP 409): configmaps \"x\" already exists")) << err.message;
}

TEST(ApiError, InvalidNamesTheFields) {
  const auto e = apiErrorFrom(422, kInvalid);
  EXPECT_EQ(e.kind, ApiErrorKind::Invalid);
  ASSERT_EQ(e.causes.size(), 1u);
  EXPECT_EQ(e.causes[0].type, "FieldValueRequired");
  EXPECT_EQ(e.causes[0].field, "spec.template.spec.containers[0].image");
  EXPECT_EQ(e.causes[0].message, "Required value");
  EXPECT_TRUE(e.conflictingManagers().empty());
  const auto err = e.toError("apply Deployment/app/processor-api");
  EXPECT_FALSE(err.isRetryable());
  EXPECT_TRUE(contains(err.message, "apply Deployment/app/processor-api: invalid (HTTP 422)")) << err.message;
  EXPECT_TRUE(contains(err.message, "spec.template.spec.containers[0].image: Required value")) << err.message;
  EXPECT_TRUE(contains(err.fix, "manifest")) << err.fix;
  // 400 (a malformed body) is Invalid too.
  EXPECT_EQ(apiErrorFrom(400, "{}").kind, ApiErrorKind::Invalid);
}

TEST(ApiError, ForbiddenAndUnauthorizedAreTerminal) {
  const auto f = apiErrorFrom(403, kForbidden);
  EXPECT_EQ(f.kind, ApiErrorKind::Forbidden);
  const auto err = f.toError("apply Deployment/app/processor-api");
  EXPECT_FALSE(err.isRetryable());
  EXPECT_TRUE(contains(err.message, "forbidden (HTTP 403)")) << err.message;
  EXPECT_TRUE(contains(err.message, "User \"bob\" cannot patch")) << err.message;
  EXPECT_TRUE(contains(err.fix, "RBAC")) << err.fix;

  const auto u = apiErrorFrom(401, R"({"kind":"Status","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})");
  EXPECT_EQ(u.kind, ApiErrorKind::Unauthorized);
  EXPECT_FALSE(u.toError("GET /version").isRetryable());
}

TEST(ApiError, NotFoundIsTerminal) {
  const auto e = apiErrorFrom(404, kNotFound);
  EXPECT_EQ(e.kind, ApiErrorKind::NotFound);
  EXPECT_EQ(e.message, "namespaces \"app\" not found");
  const auto err = e.toError("get Namespace/app");
  EXPECT_FALSE(err.isRetryable());
  EXPECT_FALSE(err.fix.empty());
}

TEST(ApiError, TooManyRequestsServerAndUnreachableAreRetryable) {
  const auto t = apiErrorFrom(429, kTooMany);
  EXPECT_EQ(t.kind, ApiErrorKind::TooManyRequests);
  EXPECT_TRUE(t.toError("x").isRetryable());

  const auto s = apiErrorFrom(500, kInternal);
  EXPECT_EQ(s.kind, ApiErrorKind::Server);
  EXPECT_EQ(s.reason, "InternalError");
  ASSERT_EQ(s.causes.size(), 1u);
  EXPECT_EQ(s.causes[0].field, "");
  const auto serr = s.toError("apply x");
  EXPECT_TRUE(serr.isRetryable());
  EXPECT_TRUE(contains(serr.message, "\n    etcdserver: request timed out")) << serr.message;

  for (long code : {502L, 503L, 504L}) {
    EXPECT_EQ(apiErrorFrom(code, "").kind, ApiErrorKind::Server) << code;
    EXPECT_TRUE(apiErrorFrom(code, "").toError("x").isRetryable()) << code;
  }

  ApiError u;
  u.kind = ApiErrorKind::Unreachable;
  EXPECT_TRUE(u.toError("GET /version").isRetryable());
}

TEST(ApiError, NonJsonBody) {
  const auto e = apiErrorFrom(502, "<html><body>502 Bad Gateway</body></html>");
  EXPECT_EQ(e.kind, ApiErrorKind::Server);
  EXPECT_TRUE(e.reason.empty());
  EXPECT_TRUE(e.causes.empty());
  EXPECT_EQ(e.message, "<html><body>502 Bad Gateway</body></html>");
  EXPECT_TRUE(contains(e.toError("GET /api").message, "502 Bad Gateway"));

  // A long body is cut; JSON that is not a Status is kept as text.
  EXPECT_EQ(apiErrorFrom(418, std::string(1000, 'x')).message.size(), 300u);
  EXPECT_EQ(apiErrorFrom(418, "x").kind, ApiErrorKind::Other);
  EXPECT_FALSE(apiErrorFrom(418, "x").toError("x").isRetryable());
  const auto notStatus = apiErrorFrom(409, R"({"kind":"ConfigMap"})");
  EXPECT_EQ(notStatus.kind, ApiErrorKind::Conflict);
  EXPECT_EQ(notStatus.message, R"({"kind":"ConfigMap"})");
}

TEST(ApiError, KindNames) {
  EXPECT_EQ(toString(ApiErrorKind::Conflict), "conflict");
  EXPECT_EQ(toString(ApiErrorKind::AlreadyExists), "already exists");
  EXPECT_EQ(toString(ApiErrorKind::Unreachable), "unreachable");
  EXPECT_EQ(toString(ApiErrorKind::Other), "error");
}

TEST(Response, ErrorOnlyOutside2xx) {
  EXPECT_FALSE((Response{200, "{}"}.error().has_value()));
  EXPECT_FALSE((Response{201, "{}"}.error().has_value()));
  const auto e = Response{404, kNotFound}.error();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, ApiErrorKind::NotFound);
  EXPECT_TRUE((Response{200, "not json"}.json().is_discarded()));
  EXPECT_EQ((Response{200, R"({"a":1})"}.json()["a"]), 1);
}

TEST(Paths, CoreAndGroupNamespacedAndClusterScoped) {
  const ResourceInfo cm{"", "v1", "configmaps", true};
  const ResourceInfo deploy{"apps", "v1", "deployments", true};
  const ResourceInfo ns{"", "v1", "namespaces", false};
  const ResourceInfo crole{"rbac.authorization.k8s.io", "v1", "clusterroles", false};

  EXPECT_EQ(collectionPath(cm, "app"), "/api/v1/namespaces/app/configmaps");
  EXPECT_EQ(collectionPath(deploy, "app"), "/apis/apps/v1/namespaces/app/deployments");
  EXPECT_EQ(collectionPath(deploy, ""), "/apis/apps/v1/deployments");  // all namespaces
  EXPECT_EQ(collectionPath(ns, ""), "/api/v1/namespaces");
  EXPECT_EQ(collectionPath(crole, "app"), "/apis/rbac.authorization.k8s.io/v1/clusterroles");  // ns ignored

  EXPECT_EQ(objectPath(cm, "app", "ca4-edge-config"), "/api/v1/namespaces/app/configmaps/ca4-edge-config");
  EXPECT_EQ(objectPath(ns, "", "platform"), "/api/v1/namespaces/platform");
  EXPECT_EQ(objectPath(crole, "", "system:controller:job-controller"),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:controller:job-controller");
}

TEST(Paths, OddNamesAreEscaped) {
  const ResourceInfo cm{"", "v1", "configmaps", true};
  EXPECT_EQ(objectPath(cm, "app", "a b/c?d#e%"), "/api/v1/namespaces/app/configmaps/a%20b%2Fc%3Fd%23e%25");
  EXPECT_EQ(objectPath(cm, "app", "x.y_z~1"), "/api/v1/namespaces/app/configmaps/x.y_z~1");
  EXPECT_EQ(objectPath(cm, "a/b", "x"), "/api/v1/namespaces/a%2Fb/configmaps/x");
  EXPECT_EQ(objectPath(cm, "app", "\xc3\xa9"), "/api/v1/namespaces/app/configmaps/%C3%A9");
}

TEST(Paths, ApplyQuery) {
  EXPECT_EQ(applyQuery("ca4ctl", false, false), "?fieldManager=ca4ctl");
  EXPECT_EQ(applyQuery("ca4ctl", true, false), "?fieldManager=ca4ctl&force=true");
  EXPECT_EQ(applyQuery("ca4ctl", false, true), "?fieldManager=ca4ctl&dryRun=All");
  EXPECT_EQ(applyQuery("ca4ctl", true, true), "?fieldManager=ca4ctl&force=true&dryRun=All");
  EXPECT_EQ(applyQuery("my manager&x=1", false, false), "?fieldManager=my%20manager%26x%3D1");
}

TEST(Discovery, ParseResourceListSkipsSubresources) {
  const std::string apps = R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[
    {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["create","get","patch"],"shortNames":["deploy"]},
    {"name":"deployments/scale","singularName":"","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale","verbs":["get","patch","update"]},
    {"name":"deployments/status","singularName":"","namespaced":true,"kind":"Deployment","verbs":["get","patch","update"]},
    {"name":"statefulsets","singularName":"statefulset","namespaced":true,"kind":"StatefulSet","verbs":["get"]}]})";
  auto r = parseResourceList(apps, "apps/v1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  const auto& d = r->at("Deployment");
  EXPECT_EQ(d.group, "apps");
  EXPECT_EQ(d.version, "v1");
  EXPECT_EQ(d.resource, "deployments");  // not deployments/status
  EXPECT_TRUE(d.namespaced);
  EXPECT_EQ(r->at("StatefulSet").resource, "statefulsets");
  EXPECT_EQ(r->count("Scale"), 0u);

  const std::string core = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
    {"name":"namespaces","namespaced":false,"kind":"Namespace"},
    {"name":"namespaces/finalize","namespaced":false,"kind":"Namespace"},
    {"name":"configmaps","namespaced":true,"kind":"ConfigMap"},
    {"name":"pods/binding","namespaced":true,"kind":"Binding"}]})";
  auto c = parseResourceList(core, "v1");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ(c->at("Namespace").group, "");
  EXPECT_EQ(c->at("Namespace").version, "v1");
  EXPECT_EQ(c->at("Namespace").resource, "namespaces");
  EXPECT_FALSE(c->at("Namespace").namespaced);
  EXPECT_TRUE(c->at("ConfigMap").namespaced);
  EXPECT_EQ(collectionPath(c->at("ConfigMap"), "app"), "/api/v1/namespaces/app/configmaps");

  const std::string crd = R"({"resources":[{"name":"widgets","kind":"Widget"}]})";
  auto w = parseResourceList(crd, "example.com/v1alpha1");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->at("Widget").group, "example.com");
  EXPECT_EQ(w->at("Widget").version, "v1alpha1");
  EXPECT_TRUE(w->at("Widget").namespaced);  // absent → namespaced
}

TEST(Discovery, NotAResourceList) {
  for (const char* body : {"", "not json", "[]", R"({"kind":"Status"})", R"({"resources":{}})"}) {
    auto r = parseResourceList(body, "apps/v1");
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_FALSE(r.error().isRetryable());
    EXPECT_TRUE(contains(r.error().message, "apps/v1")) << r.error().message;
  }
}

}  // namespace
}  // namespace ca4::drivers::kube
