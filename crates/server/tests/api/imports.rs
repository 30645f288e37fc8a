use registrar_domain::text::Username;
use registrar_server::bootstrap::issue_token;
use registrar_store::{Actor, PageRequest, TokenKind};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, group_roles_tenant, s, spawn_app};

async fn import(app: &TestApp, token: &str, query: &str, body: impl Into<Vec<u8>>) -> Response {
    app.request(Method::POST, &format!("/api/v1/imports?{query}"), token)
        .header("content-type", "text/csv")
        .body(body.into())
        .send()
        .await
        .unwrap()
}

async fn ok(r: Response) -> Value {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn counts(report: &Value) -> [u64; 4] {
    ["created", "updated", "unchanged", "refused"].map(|k| report[k].as_u64().unwrap())
}

async fn usernames(app: &TestApp) -> Vec<String> {
    let page = app
        .store
        .list_users(app.tenant.id, &PageRequest::first(500))
        .await
        .unwrap();
    page.items.iter().map(|u| u.username.to_string()).collect()
}

const WITH_BAD_ROWS: &str = "email,display_name,status\n\
    ann@acme.example,Ann,activated\n\
    not-an-email,Bob,activated\n\
    cid@acme.example,Cid,activated\n\
    dee@acme.example,,activated\n\
    eve@acme.example,Eve,sleeping\n";

#[tokio::test]
async fn a_dry_run_names_every_bad_row_and_changes_nothing() {
    let app = spawn_app().await;
    let before = usernames(&app).await;
    let report =
        ok(import(&app, &app.token, "format=users&dry_run=true", WITH_BAD_ROWS).await).await;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["applied"], false);
    assert_eq!(counts(&report), [2, 0, 0, 3]);
    let errors = report["errors"].as_array().unwrap();
    let named: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(
        named,
        [(3, "email"), (5, "display_name"), (6, "status")],
        "{errors:?}"
    );
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not-an-email")
    );
    assert_eq!(usernames(&app).await, before);
}

#[tokio::test]
async fn one_bad_row_refuses_the_whole_file() {
    let app = spawn_app().await;
    let before = usernames(&app).await;
    let revision = app.store.latest_revision().await.unwrap();
    let r = import(&app, &app.token, "format=users", WITH_BAD_ROWS).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "line 3: email");
    assert_eq!(body["refused"], 3);
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("nothing imported")
    );
    assert_eq!(usernames(&app).await, before);
    assert_eq!(app.store.latest_revision().await.unwrap(), revision);
}

#[tokio::test]
async fn a_second_import_counts_created_updated_and_unchanged_and_is_audited() {
    let app = spawn_app().await;
    let first =
        "email,display_name,label:dept\nann@acme.example,Ann,Sales\nbob@acme.example,Bob,Ops\n";
    assert_eq!(
        counts(&ok(import(&app, &app.token, "format=users", first).await).await),
        [2, 0, 0, 0]
    );
    let second = "email,display_name,label:dept\n\
        ann@acme.example,Ann,Sales\n\
        bob@acme.example,Robert,Ops\n\
        cid@acme.example,Cid,Ops\n";
    let report = ok(import(&app, &app.token, "format=users", second).await).await;
    assert_eq!(counts(&report), [1, 1, 1, 0]);
    assert_eq!(report["applied"], true);
    let bob = app
        .store
        .user_by_username(app.tenant.id, &Username::parse("bob@acme.example").unwrap())
        .await
        .unwrap();
    assert_eq!(bob.display_name.as_str(), "Robert");
    assert_eq!(bob.labels.as_map()["dept"], "Ops");
    // One audit row per entity, by the importer, and one for the import.
    let changes = app
        .store
        .changes(Some(app.tenant.id), 0, 10_000)
        .await
        .unwrap();
    let admin = format!("user:{}", app.admin.id);
    let updated: Vec<_> = changes
        .iter()
        .filter(|c| c.action == "user.updated" && c.entity_id == bob.id.to_string())
        .collect();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].actor, admin);
    let imports: Vec<_> = changes
        .iter()
        .filter(|c| c.action == "import.applied")
        .collect();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[1].after.as_ref().unwrap()["updated"], 1);
}

#[tokio::test]
async fn a_byte_order_mark_semicolons_and_utf8_names_are_read() {
    let app = spawn_app().await;
    let file =
        "\u{FEFF}email;display_name;labels\nzoe@acme.example;Zoë Ångström-Øster;site=Malmö\n";
    let report = ok(import(&app, &app.token, "format=users", file).await).await;
    assert_eq!(counts(&report), [1, 0, 0, 0]);
    let zoe = app
        .store
        .user_by_username(app.tenant.id, &Username::parse("zoe@acme.example").unwrap())
        .await
        .unwrap();
    assert_eq!(zoe.display_name.as_str(), "Zoë Ångström-Øster");
    assert_eq!(zoe.labels.as_map()["site"], "Malmö");
    let tab = "email\tdisplay_name\nyan@acme.example\tYan\n";
    assert_eq!(
        counts(&ok(import(&app, &app.token, "format=users", tab).await).await),
        [1, 0, 0, 0]
    );
}

#[tokio::test]
async fn the_generic_format_maps_named_columns_and_refuses_unknown_ones() {
    let app = spawn_app().await;
    let file = "Mail,Full name,Department\nann@acme.example,Ann,Sales\n";
    let report = ok(import(
        &app,
        &app.token,
        "format=users&mapping=Mail%3Demail%2CFull%20name%3Ddisplay_name%2CDepartment%3Dlabel%3Adept",
        file,
    )
    .await)
    .await;
    assert_eq!(counts(&report), [1, 0, 0, 0]);
    let r = import(&app, &app.token, "format=users", file).await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "line 1: Mail");
}

#[tokio::test]
async fn status_and_manager_files_apply_with_the_engine_rules() {
    let app = spawn_app().await;
    app.create_user("ann", json!({ "email": "ann@acme.example" }))
        .await;
    app.create_user("bob", json!({ "email": "bob@acme.example" }))
        .await;
    let status = "email,status\nann@acme.example,deactivated\nbob@acme.example,activated\n";
    let report = ok(import(&app, &app.token, "format=status", status).await).await;
    assert_eq!(counts(&report), [0, 1, 1, 0]);
    let ann = app
        .store
        .user_by_username(app.tenant.id, &Username::parse("ann").unwrap())
        .await
        .unwrap();
    assert_eq!(ann.status.code(), "deactivated");
    // Nobody changes their own status, not even by file.
    let own = import(
        &app,
        &app.token,
        "format=status",
        "username,status\nadmin,deactivated\n",
    )
    .await;
    assert_eq!(own.status(), 422);
    let body: Value = own.json().await.unwrap();
    assert_eq!(body["errors"][0]["line"], 2);
    assert_eq!(body["errors"][0]["column"], "status");

    let managers = "manager,managee\nadmin,bob\nnobody@acme.example,bob\n";
    let r = import(&app, &app.token, "format=managers&dry_run=true", managers).await;
    let body = ok(r).await;
    assert_eq!(body["errors"][0]["line"], 3);
    assert_eq!(body["errors"][0]["column"], "manager");
    let report = ok(import(
        &app,
        &app.token,
        "format=managers",
        "manager,managee\nadmin,bob@acme.example\n",
    )
    .await)
    .await;
    assert_eq!(counts(&report), [1, 0, 0, 0]);
    let bob = app
        .store
        .user_by_username(app.tenant.id, &Username::parse("bob").unwrap())
        .await
        .unwrap();
    assert_eq!(
        app.store.managers_of(app.tenant.id, bob.id).await.unwrap()[0].manager,
        app.admin.id
    );
}

async fn group(app: &TestApp, token: &str, name: &str) -> String {
    let r = app
        .request(Method::POST, "/api/v1/groups", token)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn grants_of(app: &TestApp, token: &str, user: &str) -> Vec<Value> {
    let r = app
        .request(
            Method::GET,
            &format!("/api/v1/grants?principal=user:{user}"),
            token,
        )
        .send()
        .await
        .unwrap();
    r.json::<Vec<Value>>().await.unwrap()
}

#[tokio::test]
async fn group_roles_lines_create_users_grant_roles_and_update_by_email() {
    let app = spawn_app().await;
    let (tenant, token) = group_roles_tenant(&app).await;
    let g = group(&app, &token, "Lyon").await;
    let file = format!("email,role,group_id,display_name\nlea@groups.example,3,{g},Léa\n");
    let report = ok(import(&app, &token, "format=group-roles", file).await).await;
    assert_eq!(counts(&report), [1, 0, 0, 0]);
    let lea = app
        .store
        .user_by_username(tenant, &Username::parse("lea@groups.example").unwrap())
        .await
        .unwrap();
    let grants = grants_of(&app, &token, &lea.id.to_string()).await;
    assert_eq!(grants.len(), 1, "{grants:?}");
    // An update needs only email, role and group id.
    let update = format!("email,role,group_id\nlea@groups.example,2,{g}\n");
    assert_eq!(
        counts(&ok(import(&app, &token, "format=group-roles", update.clone()).await).await),
        [0, 1, 0, 0]
    );
    assert_eq!(
        counts(&ok(import(&app, &token, "format=group-roles", update).await).await),
        [0, 0, 1, 0]
    );
    assert_eq!(grants_of(&app, &token, &lea.id.to_string()).await.len(), 2);
    // A restart replays the change log to the same grants.
    let replayed = registrar_server::readmodel::ReadModel::load(app.store.clone())
        .await
        .unwrap();
    let held = replayed.read(tenant, |m| {
        m.data()
            .grants
            .values()
            .filter(|g| g.principal == registrar_domain::access::Principal::User(lea.id))
            .count()
    });
    assert_eq!(held, 2);
}

#[tokio::test]
async fn an_importer_cannot_grant_a_role_they_do_not_hold() {
    let app = spawn_app().await;
    let (tenant, token) = group_roles_tenant(&app).await;
    let lyon = group(&app, &token, "Lyon").await;
    let paris = group(&app, &token, "Paris").await;
    // Gina is Admin of Lyon only; Lea exists.
    let setup = format!(
        "email,role,group_id,display_name\ngina@groups.example,0,{lyon},Gina\nlea@groups.example,3,{lyon},Léa\n"
    );
    ok(import(&app, &token, "format=group-roles", setup).await).await;
    let gina = app
        .store
        .user_by_username(tenant, &Username::parse("gina@groups.example").unwrap())
        .await
        .unwrap();
    let (_, gina_token) = issue_token(
        app.store.as_ref(),
        &Actor::cli(),
        Some((tenant, gina.id)),
        TokenKind::Api,
        "gina",
        None,
    )
    .await
    .unwrap();
    let file =
        format!("email,role,group_id\nlea@groups.example,1,{lyon}\nlea@groups.example,0,{paris}\n");
    let r = import(&app, &gina_token, "format=group-roles", file).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["refused"], 1, "{body}");
    assert_eq!(body["errors"][0]["line"], 3);
    assert_eq!(body["errors"][0]["column"], "role");
    let lea = app
        .store
        .user_by_username(tenant, &Username::parse("lea@groups.example").unwrap())
        .await
        .unwrap();
    // Nothing applied, not even the line Gina may make.
    assert_eq!(grants_of(&app, &token, &lea.id.to_string()).await.len(), 1);
}

#[tokio::test]
async fn exports_neutralise_formulas_and_show_only_what_the_caller_may_see() {
    let app = spawn_app().await;
    let ann = app
        .create_user(
            "ann",
            json!({ "display_name": "=HYPERLINK(\"http://evil\")", "labels": { "note": "@SUM(A1)" } }),
        )
        .await;
    app.create_user("bob", json!({ "display_name": "-2+3" }))
        .await;
    let r = app.get("/api/v1/exports/users").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{csv}"
    );
    assert!(csv.contains("'-2+3"), "{csv}");
    // A label cell starts with its key, so a formula inside it cannot run.
    assert!(csv.contains(",note=@SUM(A1)"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    // Ann (a student) sees only herself.
    let (_, ann_token) = issue_token(
        app.store.as_ref(),
        &Actor::cli(),
        Some((app.tenant.id, ann["id"].as_str().unwrap().parse().unwrap())),
        TokenKind::Api,
        "ann",
        None,
    )
    .await
    .unwrap();
    let mine = app
        .request(Method::GET, "/api/v1/exports/users", &ann_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(mine.lines().count(), 2, "{mine}");
    let grants = app.get("/api/v1/exports/grants").await;
    assert_eq!(grants.status(), 200);
    assert!(
        grants
            .text()
            .await
            .unwrap()
            .starts_with("id,principal,role,scope")
    );
}

#[tokio::test]
async fn an_import_may_be_larger_than_the_body_limit_of_other_routes() {
    let app = spawn_app().await;
    let mut file = String::from("email,display_name,label:note\n");
    let mut rows = 0;
    while file.len() <= 1024 * 1024 + 1 {
        rows += 1;
        file.push_str(&format!(
            "user{rows:06}@acme.example,User {rows},{}\n",
            "x".repeat(40)
        ));
    }
    let report = ok(import(&app, &app.token, "format=users&dry_run=true", file).await).await;
    assert_eq!(report["rows"], rows);
    assert_eq!(report["created"], rows);
}

#[tokio::test]
async fn the_users_export_streams_every_page() {
    let app = spawn_app().await;
    let mut file = String::from("email,display_name\n");
    for i in 0..1_200 {
        file.push_str(&format!("u{i:04}@acme.example,User {i}\n"));
    }
    ok(import(&app, &app.token, "format=users", file).await).await;
    let csv = app.get("/api/v1/exports/users").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 1_201);
    assert!(csv.starts_with("id,username,email,"), "{}", &csv[..80]);
    assert!(csv.contains(",u1199@acme.example,"));
}

/// Follows a background job until it has ended, as `token`; every answer along the way.
async fn follow(app: &TestApp, token: &str, location: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..600 {
        let r = app
            .request(Method::GET, location, token)
            .send()
            .await
            .unwrap();
        let job = ok(r).await;
        let running = job["state"] == "running";
        seen.push(job);
        if !running {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the import job did not end: {:?}", seen.last());
}

#[tokio::test]
async fn a_background_import_is_followed_to_its_outcome_by_its_importer_alone() {
    let app = spawn_app().await;
    let mut file = String::from("email,display_name\n");
    for i in 0..3000 {
        file.push_str(&format!("bg{i:05}@acme.example,Background {i}\n"));
    }
    let total = file.len() as u64;
    let r = import(&app, &app.token, "format=users&background=true", file).await;
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let started: Value = r.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/imports/jobs/{}", s(&started, "id"))
    );
    assert_eq!(started["bytes_total"], total);
    assert_eq!(started["dry_run"], false);

    let seen = follow(&app, &app.token, &location).await;
    for job in &seen {
        assert!(job["bytes_read"].as_u64().unwrap() <= total, "{job}");
    }
    let done = seen.last().unwrap();
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["bytes_read"], total);
    assert_eq!(done["report"]["applied"], true);
    assert_eq!(counts(&done["report"]), [3000, 0, 0, 0]);
    assert!(
        usernames(&app)
            .await
            .iter()
            .any(|u| u.starts_with("bg00000"))
    );

    // Somebody who does not read the audit log gets what a missing job gets.
    let (_, learner) = crate::helpers::person(&app, "lena").await;
    let theirs = app
        .request(Method::GET, &location, &learner)
        .send()
        .await
        .unwrap();
    crate::helpers::assert_problem(theirs, 404, None, "no import job").await;
    let missing = app
        .request(
            Method::GET,
            "/api/v1/imports/jobs/00000000-0000-4000-8000-000000000000",
            &app.token,
        )
        .send()
        .await
        .unwrap();
    crate::helpers::assert_problem(missing, 404, None, "no import job").await;

    // A refused file ends refused, names its rows, and writes nothing.
    let r = import(
        &app,
        &learner,
        "format=users&background=true",
        WITH_BAD_ROWS,
    )
    .await;
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let refused = follow(&app, &learner, &location).await.pop().unwrap();
    assert_eq!(refused["state"], "refused", "{refused}");
    assert_eq!(refused["report"]["applied"], false);
    assert!(refused["report"]["refused"].as_u64().unwrap() >= 3);
    assert!(!usernames(&app).await.iter().any(|u| u.starts_with("ann")));
    // The administrator reads the audit log, so she may follow anyone's import.
    let theirs = ok(app
        .request(Method::GET, &location, &app.token)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(theirs["state"], "refused");
}
