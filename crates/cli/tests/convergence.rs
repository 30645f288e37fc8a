//! Two `registrar serve` processes on one PostgreSQL database converge: a revoke written
//! through server A is honoured by server B within a measured time (B follows the change log),
//! and at once when the check carries A's revision as `at_least_revision`. Skipped (passing,
//! with a note) when `DATABASE_URL` does not name a PostgreSQL server.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Scratch, Server, Setup, assert_model_matches_a_rebuild, client};
use registrar_domain::tenant::Preset;
use registrar_store::testing::{Kind, TestDatabase, postgres_url};
use serde_json::{Value, json};

/// Generous: the follower polls every 250 ms; this only catches a server that never catches up.
const BOUND: Duration = Duration::from_secs(10);
const ROUNDS: usize = 8;

fn revision(r: &reqwest::Response) -> i64 {
    r.headers()["x-registrar-revision"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// B's answer to "may the learner edit the course?", with its revision.
async fn check(
    server: &Server,
    setup: &Setup,
    learner: &str,
    course: &str,
    at: Option<i64>,
) -> (bool, i64) {
    let r = client()
        .post(server.url("/api/v1/check"))
        .bearer_auth(&setup.token)
        .json(&json!({ "user": learner, "action": "courses.edit",
                       "resource": format!("course:{course}"), "at_least_revision": at }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    (
        body["allowed"].as_bool().unwrap(),
        body["revision"].as_i64().unwrap_or_default(),
    )
}

/// Whether B's model holds the learner as one who may edit the course. A `GET`, so B syncs
/// only by its follower: a `POST` (`/check` included) makes it catch up after answering.
async fn holds(server: &Server, setup: &Setup, learner: &str, course: &str) -> bool {
    let r = client()
        .get(server.url(&format!(
            "/api/v1/holders?action=courses.edit&resource=course:{course}"
        )))
        .bearer_auth(&setup.token)
        .send()
        .await
        .unwrap();
    if r.status() == 404 {
        return false; // B has not seen the course yet.
    }
    assert_eq!(r.status(), 200);
    let holders: Vec<String> = r.json().await.unwrap();
    holders.iter().any(|h| h == learner)
}

/// Polls B until it answers `want`; how long that took.
async fn until(
    server: &Server,
    setup: &Setup,
    learner: &str,
    course: &str,
    want: bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if holds(server, setup, learner, course).await == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < BOUND,
            "server B still answers {} after {BOUND:?}",
            !want
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn grant(a: &Server, setup: &Setup, learner: &str, course: &str) -> String {
    let r = client()
        .post(a.url("/api/v1/grants"))
        .bearer_auth(&setup.token)
        .json(
            &json!({ "principal": format!("user:{learner}"), "role": "course-tutor",
                       "scope": format!("course:{course}") }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Revokes through A; A's revision after the write.
async fn revoke(a: &Server, setup: &Setup, grant: &str) -> i64 {
    let r = client()
        .delete(a.url(&format!("/api/v1/grants/{grant}")))
        .bearer_auth(&setup.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    revision(&r)
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(&v[0]),
        ms(&v[v.len() / 2]),
        ms(&v[v.len() - 1])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_honour_a_revoke_within_a_bound_and_at_once_with_a_revision() {
    if postgres_url().is_none() {
        eprintln!("skipped: DATABASE_URL does not name a PostgreSQL server");
        return;
    }
    let db = TestDatabase::new(Kind::Postgres).await;
    let scratch = Scratch::new("convergence");
    let setup = common::setup(&db.url, "twin", Preset::ClassicLms).await;
    let a = Server::start(&db.url, &scratch, &["--no-mail-sender"]);
    let b = Server::start(&db.url, &scratch, &["--no-mail-sender"]);
    let http = client();
    let course: Value = http
        .post(a.url("/api/v1/courses"))
        .bearer_auth(&setup.token)
        .json(&json!({ "title": "Shared", "published": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let course = course["id"].as_str().unwrap().to_owned();
    let learner: Value = http
        .post(a.url("/api/v1/users"))
        .bearer_auth(&setup.token)
        .json(&json!({ "username": "lee", "display_name": "Lee" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let learner = learner["id"].as_str().unwrap().to_owned();
    // Course tutors must be tutors of the platform first.
    let r = http
        .post(a.url("/api/v1/grants"))
        .bearer_auth(&setup.token)
        .json(&json!({ "principal": format!("user:{learner}"), "role": "tutor", "scope": "platform" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // B knows the course and the learner before the rounds start.
    let (_, at) = check(&a, &setup, &learner, &course, None).await;
    check(&b, &setup, &learner, &course, Some(at)).await;

    let mut followed = Vec::new();
    let mut at_once = Vec::new();
    for round in 0..ROUNDS {
        // Without a revision: B follows the log on its own.
        let g = grant(&a, &setup, &learner, &course).await;
        until(&b, &setup, &learner, &course, true).await;
        // B has just applied the grant; revoke at another point of its 250 ms follow cycle.
        tokio::time::sleep(Duration::from_millis((round as u64 * 31) % 250)).await;
        revoke(&a, &setup, &g).await;
        followed.push(until(&b, &setup, &learner, &course, false).await);

        // With A's revision: B's very first answer is already the revoke's.
        let g = grant(&a, &setup, &learner, &course).await;
        until(&b, &setup, &learner, &course, true).await;
        let written = revoke(&a, &setup, &g).await;
        let started = Instant::now();
        let (allowed, seen) = check(&b, &setup, &learner, &course, Some(written)).await;
        at_once.push(started.elapsed());
        assert!(
            !allowed,
            "round {round}: B answered from before revision {written}"
        );
        assert!(seen >= written, "B answered at revision {seen} < {written}");
    }
    eprintln!(
        "revoke on A honoured by B, following the log: {} ({ROUNDS} rounds, bound {BOUND:?})",
        stats(followed)
    );
    eprintln!(
        "revoke on A honoured by B with at_least_revision: first answer denied in every round, {}",
        stats(at_once)
    );
    // Both models equal a fresh replay of the log.
    let da = assert_model_matches_a_rebuild(&a, &db.url, &setup).await;
    let db_ = assert_model_matches_a_rebuild(&b, &db.url, &setup).await;
    assert_eq!(da, db_);
    a.kill();
    b.kill();
}
