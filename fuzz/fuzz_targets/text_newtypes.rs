//! The text newtypes and the small codes around them. Whatever parses must parse again, from the
//! form the store keeps, to the same value (the store re-parses every row it reads and calls a
//! row that does not parse corrupt), and the limits each type promises hold after normalisation.
//!
//! The input is one text (invalid UTF-8 replaced), given to every parser; its lines as
//! `key=value` pairs, and the text as one CSV labels cell, make the labels.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use registrar_domain::ValidationError;
use registrar_domain::access::{ObjectRef, Permission};
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::import::{ColumnMapping, Format, is_field, neutralise, parse_labels_cell};
use registrar_domain::session::SessionKind;
use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Password, Username, fold_identity};
use registrar_domain::user::UserStatus;

/// Every error quotes at most 80 characters of its input.
fn short(e: &ValidationError) {
    assert!(e.value.chars().count() <= 80, "{e:?}");
}

fn email(s: &str) {
    let e = match Email::parse(s) {
        Ok(e) => e,
        Err(err) => return short(&err),
    };
    let stored = e.as_str();
    assert_eq!(
        Email::parse(stored).as_ref(),
        Ok(&e),
        "email {s:?} -> {stored:?}"
    );
    // The importer finds known people by the folded cell: it must be the stored form.
    assert_eq!(fold_identity(s), stored);
    assert_eq!(stored, stored.trim());
    assert_eq!(stored, stored.to_lowercase(), "stored lower-cased");
    assert!(!stored.is_empty() && stored.len() <= 254, "{stored:?}");
    assert!(!stored.chars().any(|c| c.is_whitespace() || c.is_control()));
    let (local, domain) = stored.split_once('@').expect("an @");
    assert!((1..=64).contains(&local.len()), "{stored:?}");
    assert!(!domain.contains('@'));
    let labels: Vec<&str> = domain.split('.').collect();
    assert!(labels.len() >= 2);
    for l in labels {
        assert!(
            !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'),
            "{stored:?}"
        );
    }
    // The change log and API bodies carry emails as JSON strings, read back by `Deserialize`.
    let json = serde_json::to_string(&e).expect("serialises");
    assert_eq!(serde_json::from_str::<Email>(&json).ok().as_ref(), Some(&e));
    // A username defaulted from the email is a username that parses back, and the same login.
    if let Ok(u) = Username::from_email(&e) {
        assert_eq!(u.as_str(), stored);
        assert_eq!(Username::parse(u.as_str()).as_ref(), Ok(&u));
    }
}

fn username(s: &str) {
    let u = match Username::parse(s) {
        Ok(u) => u,
        Err(err) => return short(&err),
    };
    let stored = u.as_str();
    assert_eq!(
        Username::parse(stored).as_ref(),
        Ok(&u),
        "username {s:?} -> {stored:?}"
    );
    assert_eq!(fold_identity(s), stored);
    assert_eq!(stored, stored.trim());
    assert_eq!(stored, stored.to_lowercase(), "stored lower-cased");
    let n = stored.chars().count();
    assert!((1..=128).contains(&n), "{stored:?}");
    assert!(
        stored
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+')),
        "{stored:?}"
    );
}

fn name(s: &str) {
    let n = match Name::parse("name", s) {
        Ok(n) => n,
        Err(err) => return short(&err),
    };
    let stored = n.as_str();
    assert_eq!(Name::parse("name", stored).as_ref(), Ok(&n));
    assert_eq!(stored, stored.trim());
    assert!((1..=200).contains(&stored.chars().count()));
    assert!(!stored.chars().any(char::is_control));
}

fn labels(map: BTreeMap<String, String>) {
    let l = match Labels::parse(map) {
        Ok(l) => l,
        Err(err) => return short(&err),
    };
    // The store keeps labels as a JSON object and parses them back through `Labels::parse`.
    let stored = serde_json::to_string(l.as_map()).expect("serialises");
    let back: BTreeMap<String, String> = serde_json::from_str(&stored).expect("reads back");
    assert_eq!(Labels::parse(back).as_ref(), Ok(&l));
    assert!(l.as_map().len() <= Labels::MAX_LABELS);
    for (k, v) in l.as_map() {
        assert!((1..=64).contains(&k.len()));
        assert!(
            k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        );
        assert!(v.chars().count() <= 1000 && !v.chars().any(char::is_control));
    }
}

fn codes(s: &str) {
    if let Ok(slug) = TenantSlug::parse(s) {
        assert_eq!(TenantSlug::parse(slug.as_str()).as_ref(), Ok(&slug));
        assert!((2..=63).contains(&slug.as_str().len()));
    }
    if let Ok(p) = Password::parse(s) {
        assert!(p.expose().chars().count() >= Password::MIN_CHARS && p.expose().len() <= 1024);
        assert_eq!(format!("{p:?}"), "Password(***)");
    } else if let Err(e) = Password::parse(s) {
        assert_eq!(e.value, "(hidden)", "a password is never echoed");
    }
    if let Ok(st) = UserStatus::parse(s) {
        assert_eq!(UserStatus::parse(st.code()), Ok(st));
    }
    if let Ok(k) = SessionKind::parse(s) {
        assert_eq!(SessionKind::parse(k.code()), Ok(k));
    }
    if let Ok(f) = Format::parse(s) {
        assert_eq!(Format::parse(f.code()), Ok(f));
    }
    if let Ok(p) = Preset::parse(s) {
        assert_eq!(Preset::parse(p.code()).ok(), Some(p));
    }
    if let Ok(p) = Permission::parse(s) {
        assert_eq!(Permission::parse(p.code()).ok(), Some(p));
    }
    if let Ok(o) = ObjectRef::parse(s) {
        assert_eq!(ObjectRef::parse(&o.to_string()).ok(), Some(o), "{s:?}");
    }
    if let Ok(id) = UserId::parse(s) {
        assert_eq!(UserId::parse(&id.to_string()).ok(), Some(id));
    }
    if let Ok(id) = GroupId::parse(s) {
        assert_eq!(GroupId::parse(&id.to_string()).ok(), Some(id));
    }
    // Dates as the API parses them and the store writes them (`[year]-[month]-[day]`).
    if let Ok(d) = registrar_server::dto::parse_date("expires_on", s) {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let stored = d.format(&format).expect("formats");
        assert_eq!(
            registrar_server::dto::parse_date("expires_on", &stored).ok(),
            Some(d),
            "{s:?} -> {stored:?}"
        );
    }
    // CSV helpers: a neutralised cell never starts a formula, a mapping only names fields.
    let n = neutralise(s);
    assert!(!matches!(
        n.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ));
    if let Ok(m) = ColumnMapping::parse(s) {
        for pair in s.split(',').filter_map(|p| p.split_once('=')) {
            assert!(is_field(&m.field(pair.0)), "{s:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    email(s);
    username(s);
    name(s);
    codes(s);
    labels(
        s.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    if let Ok(cell) = parse_labels_cell(s) {
        labels(cell);
    }
});
