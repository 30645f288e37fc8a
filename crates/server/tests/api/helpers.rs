use std::sync::Arc;

use registrar_domain::tenant::{Preset, Tenant, TenantSlug};
use registrar_domain::text::{Email, Name, Password, Username};
use registrar_domain::user::User;
use registrar_server::bootstrap::{AdminSpec, create_tenant, issue_token};
use registrar_server::{AppState, Application, Settings};
use registrar_store::testing::TestDatabase;
use registrar_store::{Actor, Store, TokenKind};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A running server with one tenant (`acme`) and its superadmin, on a database of its own.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub tenant: Tenant,
    pub admin: User,
    /// API token acting as the administrator.
    pub token: String,
    pub operator_token: String,
    _shutdown: oneshot::Sender<()>,
    pub db: TestDatabase,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(TestDatabase::default_kind().await, Settings::default()).await
}

pub async fn spawn_app_on(db: TestDatabase, settings: Settings) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .try_init();
    }
    let store = registrar_store::connect(&db.url).await.unwrap();
    let (tenant, admin) = new_tenant(&store, "acme").await;
    let (_, token) = issue_token(
        store.as_ref(),
        &Actor::cli(),
        Some((tenant.id, admin.id)),
        TokenKind::Api,
        "tests",
        None,
    )
    .await
    .unwrap();
    let (_, operator_token) = issue_token(
        store.as_ref(),
        &Actor::cli(),
        None,
        TokenKind::Operator,
        "ops",
        None,
    )
    .await
    .unwrap();
    let app = Application::bind(
        "127.0.0.1:0".parse().unwrap(),
        AppState::new(store.clone(), settings).await.unwrap(),
    )
    .await
    .unwrap();
    let address = format!("http://{}", app.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.serve(async {
        let _ = rx.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store,
        tenant,
        admin,
        token,
        operator_token,
        _shutdown: tx,
        db,
    }
}

/// A tenant with a superadmin called `admin`.
pub async fn new_tenant(store: &Arc<dyn Store>, slug: &str) -> (Tenant, User) {
    let (tenant, admin) = create_tenant(
        store.as_ref(),
        &Actor::cli(),
        TenantSlug::parse(slug).unwrap(),
        Name::parse("name", &format!("{slug} inc")).unwrap(),
        Preset::ClassicLms,
        Some(AdminSpec {
            username: Some(Username::parse("admin").unwrap()),
            email: Some(Email::parse(&format!("admin@{slug}.example")).unwrap()),
            display_name: Name::parse("display name", "Admin").unwrap(),
            password: Password::parse(ADMIN_PASSWORD).unwrap(),
        }),
    )
    .await
    .unwrap();
    (tenant, admin.unwrap())
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn send(&self, method: Method, path: &str, body: Value) -> Response {
        self.request(method, path, &self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a user through the API and returns its JSON.
    pub async fn create_user(&self, username: &str, extra: Value) -> Value {
        let mut body = json!({ "username": username, "display_name": username });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.send(Method::POST, "/api/v1/users", body).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    pub async fn create_group(&self, name: &str, parent: Option<&str>) -> Value {
        let r = self
            .send(
                Method::POST,
                "/api/v1/groups",
                json!({ "name": name, "parent": parent }),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    /// Logs in over HTTP and returns the response body.
    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(format!("{}/api/v1/auth/login", self.address))
            .json(&json!({ "tenant": self.tenant.slug.as_str(), "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }
}

/// Asserts a problem body: its status, the field it names, and a fragment of its message.
pub async fn assert_problem(r: Response, status: u16, field: Option<&str>, fragment: &str) {
    assert_eq!(r.status(), status);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(body["field"].as_str(), field, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(fragment),
        "{detail:?} should mention {fragment:?}"
    );
}

/// The JSON body of a successful answer; fails the test, showing the body, otherwise.
pub async fn ok(r: Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A string field of a JSON object.
pub fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

/// A user with a password and an email, logged in: the user and their session token.
pub async fn person(app: &TestApp, name: &str) -> (Value, String) {
    let user = app
        .create_user(
            name,
            json!({ "password": format!("{name} password!"), "email": format!("{name}@acme.example") }),
        )
        .await;
    let login = ok(app.login(name, &format!("{name} password!")).await).await;
    (user, s(&login, "token"))
}

/// Grants `role` at `scope` to `user`, as the tenant administrator.
pub async fn grant(app: &TestApp, user: &Value, role: &str, scope: &str) {
    ok(app
        .send(
            Method::POST,
            "/api/v1/grants",
            json!({ "principal": format!("user:{}", s(user, "id")), "role": role, "scope": scope }),
        )
        .await)
    .await;
}

/// An API token acting as `user` (the feed's identity).
pub async fn feed_token(app: &TestApp, user: &Value) -> String {
    token_in(app, app.tenant.id, user).await
}

pub async fn scim_deactivate(app: &TestApp, token: &str, user: &Value) -> Response {
    app.request(
        Method::PATCH,
        &format!("/scim/v2/Users/{}", s(user, "id")),
        token,
    )
    .header("content-type", "application/scim+json")
    .json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "active", "value": false }],
    }))
    .send()
    .await
    .unwrap()
}

/// A group-roles tenant with its superadmin's token.
pub async fn group_roles_tenant(app: &TestApp) -> (registrar_domain::ids::TenantId, String) {
    preset_tenant(app, "groups", Preset::GroupRoles).await
}

/// A tenant of `preset` with its superadmin's token.
pub async fn preset_tenant(
    app: &TestApp,
    slug: &str,
    preset: Preset,
) -> (registrar_domain::ids::TenantId, String) {
    let (tenant, admin) = create_tenant(
        app.store.as_ref(),
        &Actor::cli(),
        TenantSlug::parse(slug).unwrap(),
        Name::parse("name", &format!("{slug} inc")).unwrap(),
        preset,
        Some(AdminSpec {
            username: Some(Username::parse("admin").unwrap()),
            email: Some(Email::parse(&format!("admin@{slug}.example")).unwrap()),
            display_name: Name::parse("display name", "Admin").unwrap(),
            password: Password::parse(ADMIN_PASSWORD).unwrap(),
        }),
    )
    .await
    .unwrap();
    let token = api_token(app, tenant.id, admin.unwrap().id).await;
    (tenant.id, token)
}

/// An API token acting as `user` of `tenant`.
pub async fn token_in(
    app: &TestApp,
    tenant: registrar_domain::ids::TenantId,
    user: &Value,
) -> String {
    let id = registrar_domain::ids::UserId::parse(&s(user, "id")).unwrap();
    api_token(app, tenant, id).await
}

async fn api_token(
    app: &TestApp,
    tenant: registrar_domain::ids::TenantId,
    user: registrar_domain::ids::UserId,
) -> String {
    issue_token(
        app.store.as_ref(),
        &Actor::cli(),
        Some((tenant, user)),
        TokenKind::Api,
        "tests",
        None,
    )
    .await
    .unwrap()
    .1
}
