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
    /// Refused with 409 (the tenant kept moving): an honest "try again", never a silent loss.
    conflicts: usize,
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
                    409 => out.conflicts += 1,
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
                    409 => out.conflicts += 1,
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
                    409 => out.conflicts += 1,
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
        sum(|o| o.conflicts),
    );

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
