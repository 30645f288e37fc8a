//! Many clients at once on the real binary: grants, revokes, enrollments and checks from eight
//! concurrent clients, on SQLite and (when `DATABASE_URL` names one) on PostgreSQL, there with
//! the clients spread over two servers on the one database. Afterwards the store holds exactly
//! what the accepted answers said (no update lost, none made up), no course holds more learners
//! than its places, every check answered what the client's own writes implied, and the read
//! model equals a fresh replay of the change log, before and after a restart.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use common::{Scratch, Server, Setup, assert_model_matches_a_rebuild, client, served_digest};
use registrar_domain::tenant::Preset;
use registrar_store::testing::{Kind, TestDatabase, postgres_url};
use serde_json::{Value, json};

const CLIENTS: usize = 8;
/// Learners each client owns: only that client grants, revokes and checks them, so it knows
/// what every check must answer.
const OWN: usize = 4;
const COURSES: usize = 4;
const PLACES: u32 = 8;
const STEPS: usize = 150;

#[derive(Debug, Default)]
struct Outcome {
    /// grant id → (learner, course, role), for the grants still held.
    grants: BTreeMap<String, (String, String, &'static str)>,
    /// (learner, course) → the status the enrollment was created with.
    enrollments: BTreeMap<(String, String), String>,
    granted: usize,
    revoked: usize,
    enrolled: usize,
    checks: usize,
    /// Refused because the course had its one course tutor already.
    full: usize,
    /// Refused with 409 (the tenant kept moving): an honest "try again", never a silent loss;
    /// by operation.
    conflicts: BTreeMap<&'static str, usize>,
}

fn revision(r: &reqwest::Response) -> i64 {
    r.headers()["x-registrar-revision"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A small deterministic generator, so a failing run can be repeated.
fn next(state: &mut u64) -> usize {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 33) as usize
}

async fn client_run(
    n: usize,
    base: String,
    token: String,
    learners: Vec<String>,
    courses: Vec<String>,
) -> Outcome {
    let http = client();
    let mut out = Outcome::default();
    let mut seen = 0i64;
    let mut rng = n as u64 + 1;
    for _ in 0..STEPS {
        let learner = learners[next(&mut rng) % learners.len()].clone();
        let course = courses[next(&mut rng) % courses.len()].clone();
        let held = out
            .grants
            .iter()
            .find(|(_, (l, c, _))| *l == learner && *c == course)
            .map(|(k, _)| k.clone());
        match next(&mut rng) % 4 {
            0 if held.is_none() => {
                // Mostly course administrators (any number); now and then the one course tutor.
                let role = if next(&mut rng).is_multiple_of(4) {
                    "course-tutor"
                } else {
                    "course-admin"
                };
                let r = http
                    .post(format!("{base}/api/v1/grants"))
                    .bearer_auth(&token)
                    .json(
                        &json!({ "principal": format!("user:{learner}"), "role": role,
                                   "scope": format!("course:{course}") }),
                    )
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    201 => {
                        seen = seen.max(revision(&r));
                        let g: Value = r.json().await.unwrap();
                        out.grants.insert(
                            g["id"].as_str().unwrap().to_owned(),
                            (learner.clone(), course.clone(), role),
                        );
                        out.granted += 1;
                    }
                    409 => *out.conflicts.entry("grant").or_default() += 1,
                    // A course has one course tutor: whoever came second is told so.
                    422 => {
                        let text = r.text().await.unwrap();
                        assert!(text.contains("at most 1 holder"), "grant: {text}");
                        out.full += 1;
                    }
                    s => panic!("grant: {s} {}", r.text().await.unwrap()),
                }
            }
            1 if held.is_some() => {
                let id = held.unwrap();
                let r = http
                    .delete(format!("{base}/api/v1/grants/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    204 => {
                        seen = seen.max(revision(&r));
                        out.grants.remove(&id);
                        out.revoked += 1;
                    }
                    409 => *out.conflicts.entry("revoke").or_default() += 1,
                    s => panic!("revoke: {s} {}", r.text().await.unwrap()),
                }
            }
            2 if !out
                .enrollments
                .contains_key(&(learner.clone(), course.clone())) =>
            {
                let r = http
                    .post(format!("{base}/api/v1/courses/{course}/enrollments"))
                    .bearer_auth(&token)
                    .json(&json!({ "user": learner }))
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    201 => {
                        seen = seen.max(revision(&r));
                        let e: Value = r.json().await.unwrap();
                        out.enrollments.insert(
                            (learner.clone(), course.clone()),
                            e["status"].as_str().unwrap().to_owned(),
                        );
                        out.enrolled += 1;
                    }
                    409 => *out.conflicts.entry("enroll").or_default() += 1,
                    s => panic!("enroll: {s} {}", r.text().await.unwrap()),
                }
            }
            _ => {
                // Only this client's grants give this learner `courses.edit` on a course.
                let r = http
                    .post(format!("{base}/api/v1/check"))
                    .bearer_auth(&token)
                    .json(&json!({ "user": learner, "action": "courses.edit",
                                   "resource": format!("course:{course}"), "at_least_revision": seen }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let answer: Value = r.json().await.unwrap();
                assert_eq!(
                    answer["allowed"],
                    held.is_some(),
                    "client {n}: {learner} on {course} after its own writes: {answer}"
                );
                out.checks += 1;
            }
        }
    }
    out
}

async fn post(server: &Server, setup: &Setup, path: &str, body: Value) -> Value {
    let r = client()
        .post(server.url(path))
        .bearer_auth(&setup.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{path}");
    r.json().await.unwrap()
}

async fn get(server: &Server, setup: &Setup, path: &str) -> Value {
    let r = client()
        .get(server.url(path))
        .bearer_auth(&setup.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn many_clients_lose_no_update(kind: Kind, servers: usize) {
    let db = TestDatabase::new(kind).await;
    let scratch = Scratch::new("concurrency");
    let setup = common::setup(&db.url, "busy", Preset::ClassicLms).await;
    let running: Vec<Server> = (0..servers)
        .map(|_| Server::start(&db.url, &scratch, &["--no-mail-sender"]))
        .collect();
    let first = &running[0];
    let mut courses = Vec::new();
    for i in 0..COURSES {
        let c = post(
            first,
            &setup,
            "/api/v1/courses",
            json!({ "title": format!("Course {i}"), "published": true, "capacity": PLACES }),
        )
        .await;
        courses.push(c["id"].as_str().unwrap().to_owned());
    }
    let mut owned = Vec::new();
    for c in 0..CLIENTS {
        let mut mine = Vec::new();
        for i in 0..OWN {
            let u = post(
                first,
                &setup,
                "/api/v1/users",
                json!({ "username": format!("l{c}-{i}"), "display_name": format!("Learner {c} {i}") }),
            )
            .await;
            let id = u["id"].as_str().unwrap().to_owned();
            // Course tutors must be tutors of the platform first.
            post(
                first,
                &setup,
                "/api/v1/grants",
                json!({ "principal": format!("user:{id}"), "role": "tutor", "scope": "platform" }),
            )
            .await;
            mine.push(id);
        }
        owned.push(mine);
    }
    let grants_before: BTreeSet<String> = get(first, &setup, "/api/v1/grants")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, learners) in owned.into_iter().enumerate() {
        let base = running[n % servers].base.clone();
        tasks.push(tokio::spawn(client_run(
            n,
            base,
            setup.token.clone(),
            learners,
            courses.clone(),
        )));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let took = started.elapsed();
    let sum = |f: fn(&Outcome) -> usize| outcomes.iter().map(f).sum::<usize>();
    eprintln!(
        "{kind:?}, {servers} server(s), {CLIENTS} clients x {STEPS} steps in {} ms: {} grants, \
         {} revokes, {} enrollments, {} checks accepted; {} grants refused by the holder \
         limit, {} writes refused with 409",
        took.as_millis(),
        sum(|o| o.granted),
        sum(|o| o.revoked),
        sum(|o| o.enrolled),
        sum(|o| o.checks),
        sum(|o| o.full),
        sum(|o| o.conflicts.values().sum()),
    );
    let mut conflicts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &outcomes {
        for (k, v) in &o.conflicts {
            *conflicts.entry(k).or_default() += v;
        }
    }
    eprintln!("409s by operation: {conflicts:?}");

    // The grants held are exactly those created and not revoked, on every server.
    let expected: BTreeSet<String> = outcomes
        .iter()
        .flat_map(|o| o.grants.keys().cloned())
        .collect();
    let revision = common::fresh_digest(&db.url, &setup)["revision"]
        .as_i64()
        .unwrap();
    for server in &running {
        served_digest(server, &setup, Some(revision)).await;
        let held: BTreeSet<String> = get(server, &setup, "/api/v1/grants")
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .filter(|id| !grants_before.contains(id))
            .collect();
        assert_eq!(held, expected, "grants lost or made up");
    }
    // The holder limit held under contention: one course tutor per course at most.
    let mut tutors: BTreeMap<&String, usize> = BTreeMap::new();
    for o in &outcomes {
        for (_, course, role) in o.grants.values() {
            if *role == "course-tutor" {
                *tutors.entry(course).or_default() += 1;
            }
        }
    }
    assert!(tutors.values().all(|n| *n <= 1), "{tutors:?}");
    // Every enrollment is there with the status it was answered with; no course is overfull.
    let answered: BTreeMap<(String, String), String> = outcomes
        .iter()
        .flat_map(|o| o.enrollments.clone())
        .collect();
    let mut stored = BTreeMap::new();
    for course in &courses {
        let page = get(
            first,
            &setup,
            &format!("/api/v1/courses/{course}/enrollments?limit=500"),
        )
        .await;
        let items = page["items"].as_array().unwrap();
        let taken = items.iter().filter(|e| e["status"] == "enrolled").count();
        assert!(
            taken <= PLACES as usize,
            "{course}: {taken} of {PLACES} places"
        );
        for e in items {
            stored.insert(
                (e["user"].as_str().unwrap().to_owned(), course.to_owned()),
                e["status"].as_str().unwrap().to_owned(),
            );
        }
    }
    assert_eq!(stored, answered, "enrollments lost or made up");
    let waiting = stored.values().filter(|s| *s == "waiting").count();
    eprintln!(
        "{} enrollments stored ({waiting} waiting for a place), {} grants held",
        stored.len(),
        expected.len()
    );

    // Each server's model equals a rebuild; so does a restarted one.
    let mut digests = Vec::new();
    for server in &running {
        digests.push(assert_model_matches_a_rebuild(server, &db.url, &setup).await);
    }
    drop(running);
    let restarted = Server::start(&db.url, &scratch, &["--no-mail-sender"]);
    assert_eq!(served_digest(&restarted, &setup, None).await, digests[0]);
    restarted.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_at_once_lose_no_update_on_sqlite() {
    many_clients_lose_no_update(Kind::Sqlite, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_on_two_servers_lose_no_update_on_postgres() {
    if postgres_url().is_none() {
        eprintln!("skipped: DATABASE_URL does not name a PostgreSQL server");
        return;
    }
    many_clients_lose_no_update(Kind::Postgres, 2).await;
}

/// `PATCH /api/v1/users/{id}` with `If-Match`: a stale ETag gets 412 and writes nothing; of
/// eight clients sending the same current ETag at once exactly one wins (the check is inside the
/// write's transaction); without `If-Match` a change applies as before. The SCIM feed shows the
/// same version, and its own `If-Match` holds under the same race; without `If-Match`, PATCHes of
/// different attributes at once all land.
async fn etags_refuse_stale_writes(kind: Kind) {
    const RACERS: usize = 8;
    let db = TestDatabase::new(kind).await;
    let scratch = Scratch::new("etag");
    let setup = common::setup(&db.url, "tags", Preset::ClassicLms).await;
    let server = Server::start(&db.url, &scratch, &["--no-mail-sender"]);
    let http = client();
    let user = post(
        &server,
        &setup,
        "/api/v1/users",
        json!({ "username": "ann", "display_name": "Ann", "email": "ann@tags.example" }),
    )
    .await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let read = |http: reqwest::Client| {
        let (url, token) = (server.url(&path), setup.token.clone());
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let tag = r.headers()["etag"].to_str().unwrap().to_owned();
            (tag, r.json::<Value>().await.unwrap())
        }
    };
    let patch = |http: reqwest::Client, tag: Option<String>, name: String| {
        let (url, token) = (server.url(&path), setup.token.clone());
        async move {
            let mut r = http
                .patch(url)
                .bearer_auth(token)
                .json(&json!({ "display_name": name }));
            if let Some(t) = tag {
                r = r.header("if-match", t);
            }
            r.send().await.unwrap()
        }
    };
    let (first, body) = read(http.clone()).await;
    assert!(first.starts_with("W/\""), "{first}");
    assert_eq!(body["display_name"], "Ann");

    let r = patch(http.clone(), Some(first.clone()), "Ann A".into()).await;
    assert_eq!(r.status(), 200);
    let second = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(
        read(http.clone()).await.0,
        second,
        "GET shows the new version"
    );

    let revision_before = revision(&r);
    let stale = patch(http.clone(), Some(first.clone()), "Lost".into()).await;
    assert_eq!(stale.status(), 412);
    assert_eq!(
        stale.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let problem: Value = stale.json().await.unwrap();
    assert_eq!(problem["status"], 412);
    assert_eq!(problem["field"], "If-Match");
    let (tag, body) = read(http.clone()).await;
    assert_eq!(
        (tag.as_str(), &body["display_name"]),
        (second.as_str(), &json!("Ann A"))
    );
    let audit: Value = get(
        &server,
        &setup,
        &format!("/api/v1/audit?after={revision_before}"),
    )
    .await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] != "user.updated"),
        "a refused write leaves no audit row: {audit}"
    );

    // The SCIM feed names the same version.
    let scim: Value = http
        .get(server.url(&format!("/scim/v2/Users/{}", user["id"].as_str().unwrap())))
        .bearer_auth(&setup.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scim["meta"]["version"], second.as_str());

    // Eight writers holding the same version: one wins, seven are told.
    let racers: Vec<_> = (0..RACERS)
        .map(|i| tokio::spawn(patch(client(), Some(second.clone()), format!("Racer {i}"))))
        .collect();
    let mut won = Vec::new();
    let mut refused = 0;
    for (i, r) in racers.into_iter().enumerate() {
        match r.await.unwrap().status().as_u16() {
            200 => won.push(i),
            412 => refused += 1,
            s => panic!("racer {i}: {s}"),
        }
    }
    eprintln!(
        "{kind:?}: {RACERS} PATCHes with one ETag: {} won, {refused} got 412",
        won.len()
    );
    assert_eq!(won.len(), 1, "exactly one conditional write wins");
    let (third, body) = read(http.clone()).await;
    assert_eq!(body["display_name"], format!("Racer {}", won[0]));

    // Without If-Match, and with `*`, a change applies as it always did.
    assert_eq!(
        patch(http.clone(), None, "Ann B".into()).await.status(),
        200
    );
    assert_eq!(
        patch(http.clone(), Some("*".into()), "Ann C".into())
            .await
            .status(),
        200
    );
    assert_ne!(read(http.clone()).await.0, third);

    // The same race through the SCIM feed.
    let scim_path = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
    let scim: Value = http
        .get(server.url(&scim_path))
        .bearer_auth(&setup.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let version = scim["meta"]["version"].as_str().unwrap().to_owned();
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let (url, token, version) =
                (server.url(&scim_path), setup.token.clone(), version.clone());
            tokio::spawn(async move {
                client()
                    .patch(url)
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .header("if-match", version)
                    .body(
                        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                "Operations": [{ "op": "replace", "path": "displayName",
                                                 "value": format!("Feed {i}") }] })
                        .to_string(),
                    )
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    eprintln!("{kind:?}: {RACERS} SCIM PATCHes with one version: {statuses:?}");
    // Without If-Match, PATCHes of different attributes at once all land: none overwrites
    // another with the copy it read.
    let attrs = [
        "displayName",
        "name.givenName",
        "name.familyName",
        "externalId",
    ];
    let racers: Vec<_> = attrs
        .iter()
        .map(|a| {
            let (url, token, a) = (server.url(&scim_path), setup.token.clone(), a.to_string());
            tokio::spawn(async move {
                client()
                    .patch(url)
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .body(
                        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                "Operations": [{ "op": "replace", "path": a, "value": format!("set-{a}") }] })
                        .to_string(),
                    )
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut st = Vec::new();
    for r in racers {
        st.push(r.await.unwrap());
    }
    assert!(st.iter().all(|s| *s == 200), "{st:?}");
    let after: Value = http
        .get(server.url(&scim_path))
        .bearer_auth(&setup.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (attribute, value) in [
        (&after["displayName"], "set-displayName"),
        (&after["name"]["givenName"], "set-name.givenName"),
        (&after["name"]["familyName"], "set-name.familyName"),
        (&after["externalId"], "set-externalId"),
    ] {
        assert_eq!(attribute, value, "an accepted PATCH was lost: {after}");
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 412),
        "{statuses:?}"
    );
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_refuse_stale_writes_on_sqlite() {
    etags_refuse_stale_writes(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_refuse_stale_writes_on_postgres() {
    if postgres_url().is_none() {
        eprintln!("skipped: DATABASE_URL does not name a PostgreSQL server");
        return;
    }
    etags_refuse_stale_writes(Kind::Postgres).await;
}
