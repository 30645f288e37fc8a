//! The JSON request bodies of `POST /api/v1/check` (and `/check/batch`), `POST /api/v1/users`,
//! `PATCH /api/v1/users/{id}`, `POST /api/v1/courses/{id}/sessions` and `PATCH
//! /api/v1/sessions/{id}`: deserialised into the handlers' own types, then parsed into domain
//! values the way each handler does, and checks asked of the engine over a small tenant.
//! Whatever is accepted must survive the store: timestamps are kept to the millisecond, and a
//! session must still end after it starts once they are.
//!
//! The first byte picks the body; the rest is the JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registrar_domain::access::{ObjectRef, Permission};
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::session::{self, SessionKind};
use registrar_domain::tenant::Preset;
use registrar_domain::text::{Email, Labels, Name, Password, Username};
use registrar_domain::user::UserStatus;
use registrar_fuzz::{Tenant, tenant};
use registrar_server::dto::parse_date;
use registrar_server::routes::access::{BatchIn, CheckIn, CheckItemIn};
use registrar_server::routes::sessions::{SessionIn, SessionPatchIn};
use registrar_server::routes::users::{NewUserIn, UserPatchIn};
use std::sync::OnceLock;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

fn fixture() -> &'static Tenant {
    static T: OnceLock<Tenant> = OnceLock::new();
    T.get_or_init(|| tenant(Preset::ClassicLms))
}

const TODAY: Date = time::macros::date!(2026 - 11 - 23);

/// `routes::user_ref`: an id, else a username; the fixture's users stand in for the store.
fn user_ref(t: &Tenant, raw: &str) -> Option<UserId> {
    match UserId::parse(raw) {
        Ok(id) => Some(id),
        Err(_) => match Username::parse(raw).ok()?.as_str() {
            "admin" => Some(t.admin),
            "learner" => Some(t.learner),
            "gone" => Some(t.gone),
            _ => None,
        },
    }
}

/// `routes::access::decide`.
fn decide(item: &CheckItemIn) {
    let t = fixture();
    let (Ok(permission), Ok(resource)) = (
        Permission::parse(&item.action),
        ObjectRef::parse(&item.resource),
    ) else {
        return;
    };
    let Some(user) = user_ref(t, &item.user) else {
        return;
    };
    // Asking about someone else needs `users.view` on them; the admin may.
    let _ = t.model.check(
        t.admin,
        Permission::UsersView,
        &ObjectRef::user(user),
        TODAY,
    );
    if let Ok(d) = t.model.check(user, permission, &resource, TODAY) {
        assert!(!d.explanation().to_string().is_empty());
        serde_json::to_value(d.explanation()).expect("an explanation serialises");
    }
}

fn settable_status(s: &str) -> Option<UserStatus> {
    UserStatus::parse(s)
        .ok()
        .filter(|s| *s != UserStatus::Active)
}

/// `routes::users::create`, without the store.
fn new_user(b: NewUserIn) {
    let Ok(email) = b.email.as_deref().map(Email::parse).transpose() else {
        return;
    };
    let username = match (b.username.as_deref(), &email) {
        (Some(u), _) => Username::parse(u),
        (None, Some(e)) => Username::from_email(e),
        (None, None) => return,
    };
    let Ok(username) = username else { return };
    assert_eq!(Username::parse(username.as_str()).as_ref(), Ok(&username));
    if let Some(p) = b.password.as_deref() {
        let _ = Password::parse(p);
    }
    let _ = Name::parse("display name", &b.display_name);
    let _ = Labels::parse(b.labels);
    let _ = b.status.as_deref().map(settable_status);
    let _ = b.expires_on.as_deref().map(|d| parse_date("expires_on", d));
    let _ = b.primary_group.as_deref().map(GroupId::parse);
}

/// `routes::users::update`, without the store.
fn user_patch(b: UserPatchIn) {
    let t = fixture();
    if b.status.is_some() || b.expires_on.is_some() {
        let _ = t.model.validate_status_change(t.admin, t.learner, TODAY);
    }
    let _ = b.status.as_deref().map(settable_status);
    match (&b.email, b.use_email_as_username) {
        (Some(Some(email)), true) => {
            if let Ok(e) = Email::parse(email)
                && let Ok(u) = Username::from_email(&e)
            {
                assert_eq!(u.as_str(), e.as_str());
            }
        }
        (_, true) => {}
        (_, false) => {
            let _ = b.username.as_deref().map(Username::parse);
        }
    }
    if let Some(Some(e)) = &b.email {
        let _ = Email::parse(e);
    }
    let _ = b
        .display_name
        .as_deref()
        .map(|n| Name::parse("display name", n));
    let _ = b.labels.map(Labels::parse);
    if let Some(Some(d)) = &b.expires_on {
        let _ = parse_date("expires_on", d);
    }
    if let Some(Some(g)) = &b.primary_group {
        let _ = GroupId::parse(g);
    }
}

/// `routes::sessions::instant`. What is accepted is also what a response shows: it parses back.
fn instant(raw: &str) -> Option<OffsetDateTime> {
    let t = session::parse_instant("starts_at", raw).ok()?;
    let shown = t.format(&Rfc3339).expect("an accepted instant formats");
    assert_eq!(
        session::parse_instant("starts_at", &shown).ok(),
        Some(t),
        "{raw:?} is shown as {shown:?}"
    );
    Some(t)
}

/// The store keeps instants as i64 milliseconds (`store::rows::{to_millis, from_millis}`).
fn stored(t: OffsetDateTime) -> OffsetDateTime {
    let ms = (t.unix_timestamp_nanos() / 1_000_000) as i64;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .expect("a parsed instant reads back from the store")
}

/// An accepted instant reads back from the store as it was given, and an accepted pair still
/// ends after it starts.
fn check_instants(starts: Option<OffsetDateTime>, ends: Option<OffsetDateTime>) {
    for t in [starts, ends].into_iter().flatten() {
        assert_eq!(stored(t), t, "{t} does not read back from the store");
    }
    if let (Some(s), Some(e)) = (starts, ends)
        && session::check_dates(s, e).is_ok()
    {
        assert!(
            session::check_dates(stored(s), stored(e)).is_ok(),
            "{s} .. {e} is accepted but stored as an empty session"
        );
    }
}

/// `routes::sessions::create`, without the store.
fn new_session(b: SessionIn) {
    let (Ok(_), Ok(_), Some(s), Some(e)) = (
        SessionKind::parse(&b.kind),
        Name::parse("title", &b.title),
        instant(&b.starts_at),
        instant(&b.ends_at),
    ) else {
        return;
    };
    check_instants(Some(s), Some(e));
}

/// `routes::sessions::update`, without the store.
fn session_patch(b: SessionPatchIn) {
    if let Some(t) = &b.title {
        let _ = Name::parse("title", t);
    }
    let s = b.starts_at.as_deref().and_then(instant);
    let e = b.ends_at.as_deref().and_then(instant);
    check_instants(s, e);
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => {
            if let Ok(b) = serde_json::from_slice::<CheckIn>(body) {
                decide(&CheckItemIn {
                    user: b.user,
                    action: b.action,
                    resource: b.resource,
                });
            }
        }
        1 => {
            if let Ok(b) = serde_json::from_slice::<BatchIn>(body) {
                b.checks.iter().take(1000).for_each(decide);
            }
        }
        2 => {
            if let Ok(b) = serde_json::from_slice::<NewUserIn>(body) {
                new_user(b);
            }
        }
        3 => {
            if let Ok(b) = serde_json::from_slice::<UserPatchIn>(body) {
                user_patch(b);
            }
        }
        4 => {
            if let Ok(b) = serde_json::from_slice::<SessionIn>(body) {
                new_session(b);
            }
        }
        _ => {
            if let Ok(b) = serde_json::from_slice::<SessionPatchIn>(body) {
                session_patch(b);
            }
        }
    }
});
