//! The admin pages over HTTP: the login, the session cookies and their flags, CSRF on forms,
//! escaped output, strict headers and the same refusals as the API.

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app};

/// The `name=value` pairs a response sets, for the next request's `Cookie` header.
fn cookies(r: &Response) -> Vec<(String, String)> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            v.split(';')
                .next()?
                .split_once('=')
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        })
        .collect()
}

fn header(jar: &[(String, String)]) -> String {
    jar.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Logs in through the login page; the cookies of the session.
async fn log_in(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (Response, Vec<(String, String)>) {
    let form = app
        .client
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let jar = cookies(&form);
    let page = form.text().await.unwrap();
    let secret = page
        .split("name=\"secret\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let r = app
        .client
        .post(format!("{}/login", app.address))
        .header(COOKIE, header(&jar))
        .form(&[
            ("secret", secret.as_str()),
            ("tenant", app.tenant.slug.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let jar = cookies(&r);
    (r, jar)
}

#[tokio::test]
async fn the_pages_sit_behind_the_login_with_strict_cookies_and_headers() {
    let app = spawn_app().await;
    let anonymous = app
        .client
        .get(format!("{}/people", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()["location"], "/login");

    let (r, jar) = log_in(&app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for set in r.headers().get_all(SET_COOKIE) {
        let set = set.to_str().unwrap();
        for flag in ["HttpOnly", "SameSite=Strict", "Secure"] {
            assert!(set.contains(flag), "{set} lacks {flag}");
        }
    }
    let page = app
        .client
        .get(format!("{}/people", app.address))
        .header(COOKIE, header(&jar))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_secret_changes_nothing() {
    let app = spawn_app().await;
    let victim = app.create_user("victim", json!({})).await;
    let (_, jar) = log_in(&app, "admin", ADMIN_PASSWORD).await;
    let id = victim["id"].as_str().unwrap();
    for csrf in ["", "rgr_forged"] {
        let r = app
            .client
            .post(format!("{}/people/status", app.address))
            .header(COOKIE, header(&jar))
            .form(&[("csrf", csrf), ("status", "deactivated"), ("user", id)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("stale or was not sent from Registrar")
        );
    }
    let after = app
        .get(&format!("/api/v1/users/{id}"))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(after["status"], "activated");
}

#[tokio::test]
async fn names_are_escaped_and_refusals_read_as_in_the_api() {
    let app = spawn_app().await;
    app.create_user(
        "mallory",
        json!({ "display_name": "<img src=x onerror=alert(1)>", "password": "mallory's password", "status": "deactivated" }),
    )
    .await;
    let (_, jar) = log_in(&app, "admin", ADMIN_PASSWORD).await;
    let html = app
        .client
        .get(format!("{}/people?q=mallory", app.address))
        .header(COOKIE, header(&jar))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;") || html.contains("&lt;img"),
        "{html}"
    );
    assert!(!html.contains("<img src=x"));
    // A deactivated person is refused with the API's words, on the login page.
    let (r, _) = log_in(&app, "mallory", "mallory's password").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("this account is deactivated")
    );
}

/// A page as the logged-in `jar` sees it.
async fn page(app: &TestApp, jar: &[(String, String)], path: &str) -> String {
    let r = app
        .client
        .get(format!("{}{path}", app.address))
        .header(COOKIE, header(jar))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

/// The session's CSRF secret, as the page's forms carry it.
fn csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_group_page_names_who_looks_after_it_and_moves_it_where_its_editor_may() {
    use crate::helpers::{grant, ok, person, s};
    use reqwest::Method;
    let app = spawn_app().await;
    let group = |name: &str, parent: Option<String>| {
        let body = json!({ "name": name, "parent": parent });
        let app = &app;
        async move {
            s(
                &ok(app.send(Method::POST, "/api/v1/groups", body).await).await,
                "id",
            )
        }
    };
    let company = group("Company", None).await;
    let sales = group("Sales", Some(company.clone())).await;
    let other = group("Other", None).await;
    let (gail, _) = person(&app, "gail").await;
    grant(&app, &gail, "manager-tutor", "platform").await;
    grant(&app, &gail, "group-manager", &format!("group:{company}")).await;
    let (_, _) = person(&app, "nobody").await;

    let (_, jar) = log_in(&app, "admin", ADMIN_PASSWORD).await;
    let html = page(&app, &jar, &format!("/groups/{sales}")).await;
    let stewards = html.split("id=\"stewards\"").nth(1).unwrap();
    let stewards = stewards.split("</dl>").next().unwrap();
    let (administered, managed) = stewards.split_once("Managed by").unwrap();
    assert!(administered.contains(">gail<"), "{stewards}");
    assert!(managed.contains(">gail<"), "{stewards}");
    assert!(
        !stewards.contains("nobody") && !stewards.contains(">admin<"),
        "{stewards}"
    );
    // The place picker offers the top and the other groups, never Sales itself.
    let picker = html.split("id=\"group-parent\"").nth(1).unwrap();
    let picker = picker.split("</select>").next().unwrap();
    assert!(
        picker.contains(&format!("value=\"{company}\" selected")),
        "{picker}"
    );
    assert!(picker.contains(&format!("value=\"{other}\"")), "{picker}");
    assert!(!picker.contains(&format!("value=\"{sales}\"")), "{picker}");

    // Moved under Other from its page: the company's manager no longer manages it.
    let r = app
        .client
        .post(format!("{}/groups/{sales}", app.address))
        .header(COOKIE, header(&jar))
        .form(&[
            ("csrf", csrf(&html).as_str()),
            ("name", "Sales"),
            ("parent", other.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let after = ok(app.get(&format!("/api/v1/groups/{sales}")).await).await;
    assert_eq!(after["parent"], json!(other));
    let html = page(&app, &jar, &format!("/groups/{sales}")).await;
    let stewards = html.split("id=\"stewards\"").nth(1).unwrap();
    assert!(
        stewards.contains("no group manager you may see"),
        "{stewards}"
    );
}

#[tokio::test]
async fn explain_suggests_sessions_and_lessons_by_their_titles() {
    use crate::helpers::{ok, s};
    use reqwest::Method;
    let app = spawn_app().await;
    let course = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Forklift Safety", "course_type": "instructor_led" }),
        )
        .await)
    .await;
    let id = s(&course, "id");
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{id}/sessions"),
            json!({ "kind": "session", "title": "Forklift morning drill",
                    "starts_at": "2030-01-01T09:00:00Z", "ends_at": "2030-01-01T12:00:00Z" }),
        )
        .await)
    .await;
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{id}/materials"),
            json!({ "title": "Forklift checklist" }),
        )
        .await)
    .await;
    let (_, jar) = log_in(&app, "admin", ADMIN_PASSWORD).await;
    let options = page(&app, &jar, "/explain/suggest?object=forklift").await;
    assert!(
        options.contains("Forklift morning drill (session in Forklift Safety)"),
        "{options}"
    );
    assert!(
        options.contains("Forklift checklist (lesson in Forklift Safety)"),
        "{options}"
    );
    assert!(options.contains("Forklift Safety (course)"), "{options}");
    let none = page(&app, &jar, "/explain/suggest?object=zeppelin").await;
    assert!(!none.contains("Forklift"), "{none}");
}

/// A multipart body as a browser sends the import form, and its content type.
fn import_form(csrf: &str, mode: &str, csv: &str) -> (String, String) {
    let boundary = "registrar-test-boundary";
    let field = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    let body = format!(
        "{}{}{}--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n",
        field("csrf", csrf),
        field("format", "users"),
        field("mode", mode),
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn the_import_page_follows_its_job_with_htmx_and_without_it() {
    let app = spawn_app().await;
    let (_, jar) = log_in(&app, "admin", ADMIN_PASSWORD).await;
    let html = page(&app, &jar, "/import").await;
    let secret = csrf(&html);
    let csv = "email,display_name\nform.one@acme.example,Form One\nbad,Bad\n";
    // With htmx: the progress fragment, which asks for the job again.
    let (kind, body) = import_form(&secret, "check", csv);
    let r = app
        .client
        .post(format!("{}/import", app.address))
        .header(COOKIE, header(&jar))
        .header("hx-request", "true")
        .header(reqwest::header::CONTENT_TYPE, kind)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let fragment = r.text().await.unwrap();
    assert!(fragment.contains("hx-get=\"/import/jobs/"), "{fragment}");
    assert!(!fragment.contains("<html"), "a fragment, not a page");
    // Without it: to the job's own page, which refreshes itself until the outcome shows.
    let (kind, body) = import_form(&secret, "apply", csv);
    let mut job = None;
    for _ in 0..500 {
        let r = app
            .client
            .post(format!("{}/import", app.address))
            .header(COOKIE, header(&jar))
            .header(reqwest::header::CONTENT_TYPE, kind.clone())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::SEE_OTHER {
            job = Some(r.headers()["location"].to_str().unwrap().to_owned());
            break;
        }
        // The check above may still be running: one import per person at a time.
        let refused = r.text().await.unwrap();
        assert!(refused.contains("still running"), "{refused}");
        assert!(refused.contains("id=\"running-import\""), "{refused}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Up to 10 s each way: a loaded machine is slow, never wrong.
    let job = job.expect("the import started");
    assert!(job.starts_with("/import/jobs/"), "{job}");
    let mut shown = String::new();
    for _ in 0..500 {
        shown = page(&app, &jar, &job).await;
        if shown.contains("id=\"outcome\"") {
            break;
        }
        assert!(shown.contains("http-equiv=\"refresh\""), "{shown}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(shown.contains("Nothing was imported"), "{shown}");
    assert!(shown.contains("invalid email"), "{shown}");
}

#[tokio::test]
async fn saving_a_profile_answers_alike_for_a_hidden_person_and_for_nobody() {
    use crate::helpers::{person, s};
    let app = spawn_app().await;
    let (lena, _) = person(&app, "lena").await;
    let hidden = s(&app.create_user("hugo", json!({})).await, "id");
    let nobody = "01a2328a-0000-7000-8000-000000000000".to_owned();
    let (_, jar) = log_in(&app, "lena", "lena password!").await;
    let own = page(&app, &jar, &format!("/people/{}", s(&lena, "id"))).await;
    let secret = csrf(&own);
    let mut answers = Vec::new();
    for id in [&hidden, &nobody] {
        let r = app
            .client
            .post(format!("{}/people/{id}", app.address))
            .header(COOKIE, header(&jar))
            .form(&[
                ("csrf", secret.as_str()),
                ("display_name", "Taken Over"),
                ("username", "taken"),
                ("email", ""),
                ("expires_on", ""),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap().replace(id.as_str(), "ID");
        answers.push((status, text));
    }
    assert_ne!(answers[0].0, StatusCode::OK);
    assert_eq!(answers[0], answers[1]);
}

/// The names of a people-list page, and its next page's address.
fn people_page(html: &str) -> (Vec<String>, Option<String>) {
    let names = html
        .split("<td class=\"name\"><a href=\"/people/")
        .skip(1)
        .filter_map(|row| row.split_once("\">")?.1.split_once("</a>"))
        .map(|(name, _)| name.to_owned())
        .collect();
    let next = html
        .split("id=\"next\"")
        .next()
        .filter(|_| html.contains("id=\"next\""))
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|href| href.split('"').next())
        .map(|href| href.replace("&amp;", "&").replace("&#38;", "&"));
    (names, next)
}

#[tokio::test]
async fn the_people_list_by_name_pages_on_without_repeating_anyone() {
    let app = spawn_app().await;
    for i in 1..=60 {
        app.create_user(
            &format!("p{i:02}"),
            json!({ "display_name": format!("Person {i:02}") }),
        )
        .await;
    }
    let (_, jar) = log_in(&app, "admin", ADMIN_PASSWORD).await;
    let (first, next) = people_page(&page(&app, &jar, "/people?sort=name&q=person").await);
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], "Person 01");
    let next = next.expect("a second page");
    let (second, _) = people_page(&page(&app, &jar, &next).await);
    assert_eq!(
        second.first().map(String::as_str),
        Some("Person 51"),
        "{second:?}"
    );
    assert_eq!(second.len(), 10);
}
