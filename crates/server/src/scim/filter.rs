//! SCIM filters (RFC 7644 §3.4.2.2) evaluated over the JSON form of a resource, so every
//! attribute the feed shows can be filtered and sorted on the same way. Parsing is `scim_v2`'s
//! (the full grammar: value paths, `not`, grouping, precedence); the meaning of a comparison on
//! our attributes is defined here.

use std::cmp::Ordering;

use registrar_domain::text::Username;
use registrar_store::ScimLookup;
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::ScimError;
use super::schema::{CORE_GROUP, CORE_USER};

pub fn parse(raw: &str) -> Result<Filter, ScimError> {
    raw.parse::<Filter>()
        .map_err(|e| ScimError::InvalidFilter(format!("filter {raw:?} does not parse: {e}")))
}

/// An attribute path on its own (for `sortBy`), parsed with the filter grammar.
pub fn parse_attr_path(raw: &str) -> Result<AttrPath, ScimError> {
    match format!("{raw} pr").parse::<Filter>() {
        Ok(Filter::Attr(AttrExp::Present(path))) => Ok(path),
        _ => Err(ScimError::InvalidValue(format!(
            "{raw:?} is not an attribute path"
        ))),
    }
}

/// Looks a key up the way SCIM names attributes: without regard to case.
pub fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The object an attribute lives in: the resource itself, or the extension it names.
fn container<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match path.uri.as_deref() {
        None => Some(resource),
        Some(u) if u.eq_ignore_ascii_case(CORE_USER) || u.eq_ignore_ascii_case(CORE_GROUP) => {
            Some(resource)
        }
        Some(u) => field(resource, u),
    }
}

/// Whether the attribute compares case-exactly (RFC 7643 `caseExact`): ids and references.
fn case_exact(path: &AttrPath) -> bool {
    let last = path.sub_attr.as_deref().unwrap_or(&path.name);
    let refs = ["members", "groups", "manager"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&path.name));
    ["id", "externalId", "$ref", "location"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(last))
        || (refs && (path.sub_attr.is_none() || last.eq_ignore_ascii_case("value")))
}

/// The scalar values an attribute path reaches in a resource: one for a simple attribute, one per
/// element for a multi-valued one (its `value` when no sub-attribute is named).
pub fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let mut out = vec![];
    let Some(top) = container(resource, path).and_then(|c| field(c, &path.name)) else {
        return out;
    };
    let mut push = |v: &'a Value| match (v, path.sub_attr.as_deref()) {
        (Value::Object(_), Some(sub)) => out.extend(field(v, sub)),
        (Value::Object(_), None) => out.extend(field(v, "value")),
        (other, None) => out.push(other),
        (_, Some(_)) => {}
    };
    match top {
        Value::Array(items) => items.iter().for_each(&mut push),
        other => push(other),
    }
    out.retain(|v| !v.is_null());
    out
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(
    actual: &Value,
    op: &CompareOp,
    expected: &CompValue,
    exact: bool,
) -> Result<bool, ScimError> {
    let fold = |s: &str| {
        if exact {
            s.to_owned()
        } else {
            s.to_lowercase()
        }
    };
    let ordering = |o: Ordering| match op {
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    };
    Ok(match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) => {
            let (a, e) = (fold(a), fold(e));
            match op {
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                _ => match (
                    time::OffsetDateTime::parse(&a, &time::format_description::well_known::Rfc3339),
                    time::OffsetDateTime::parse(&e, &time::format_description::well_known::Rfc3339),
                ) {
                    // Timestamps compare as instants, whatever their precision or offset.
                    (Ok(a), Ok(e)) => ordering(a.cmp(&e)),
                    _ => ordering(a.cmp(&e)),
                },
            }
        }
        (Value::Bool(a), CompValue::True | CompValue::False) => {
            let e = matches!(expected, CompValue::True);
            match op {
                CompareOp::Eq => *a == e,
                CompareOp::Ne => *a != e,
                _ => {
                    return Err(ScimError::InvalidFilter(format!(
                        "{op} cannot compare booleans"
                    )));
                }
            }
        }
        (Value::Number(a), CompValue::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => a.partial_cmp(&e).is_some_and(ordering),
            _ => false,
        },
        (_, CompValue::Null) => matches!(op, CompareOp::Ne),
        // A value of another type never equals; `ne` holds.
        _ => matches!(op, CompareOp::Ne),
    })
}

fn attr_exp(resource: &Value, exp: &AttrExp) -> Result<bool, ScimError> {
    match exp {
        AttrExp::Present(path) => Ok(values(resource, path).into_iter().any(present)),
        AttrExp::Comparison(path, op, expected) => {
            let found = values(resource, path);
            if matches!(op, CompareOp::Ne) {
                // `ne` is the negation of `eq`: no value equals.
                for v in &found {
                    if compare(v, &CompareOp::Eq, expected, case_exact(path))? {
                        return Ok(false);
                    }
                }
                return Ok(!matches!(expected, CompValue::Null) || !found.is_empty());
            }
            if matches!(expected, CompValue::Null) {
                return Ok(matches!(op, CompareOp::Eq) && found.is_empty());
            }
            for v in found {
                if compare(v, op, expected, case_exact(path))? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

/// Whether one element of a multi-valued attribute matches a bracketed filter.
pub fn matches_value(element: &Value, filter: &ValFilter) -> Result<bool, ScimError> {
    match filter {
        ValFilter::Attr(exp) => attr_exp(element, exp),
        ValFilter::Not(inner) => Ok(!matches_value(element, inner)?),
        ValFilter::And(items) => {
            for f in items.as_slice() {
                if !matches_value(element, f)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        ValFilter::Or(items) => {
            for f in items.as_slice() {
                if matches_value(element, f)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

pub fn matches(resource: &Value, filter: &Filter) -> Result<bool, ScimError> {
    match filter {
        Filter::Attr(exp) => attr_exp(resource, exp),
        Filter::ValuePath(vp) => {
            let items = container(resource, &vp.attr)
                .and_then(|c| field(c, &vp.attr.name))
                .and_then(Value::as_array);
            for item in items.into_iter().flatten() {
                if matches_value(item, &vp.filter)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Filter::Not(inner) => Ok(!matches(resource, inner)?),
        Filter::And(items) => {
            for f in items.as_slice() {
                if !matches(resource, f)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Filter::Or(items) => {
            for f in items.as_slice() {
                if matches(resource, f)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

/// An equality on one attribute that every match must satisfy, if the filter has one at its
/// top (alone or as an `and` operand): the store can then look the candidates up directly.
pub fn required_eq(filter: &Filter) -> Option<(String, String)> {
    let single = |f: &Filter| match f {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v)))
            if path.uri.as_deref().is_none_or(|u| {
                u.eq_ignore_ascii_case(CORE_USER) || u.eq_ignore_ascii_case(CORE_GROUP)
            }) =>
        {
            let name = match &path.sub_attr {
                Some(sub) => format!("{}.{}", path.name, sub),
                None => path.name.clone(),
            };
            Some((name.to_lowercase(), v.clone()))
        }
        _ => None,
    };
    match filter {
        Filter::And(items) => items.as_slice().iter().find_map(single),
        other => single(other),
    }
}

/// The store lookup that finds every user a filter can match: a top-level equality on a value
/// the store keeps exactly as the filter compares it (the username, the external id), else all.
/// `None`: nobody can match. An email equality is no shortcut: the store looks up the one
/// address it keeps, but the filter matches any address the feed sent.
pub fn user_lookup(filter: Option<&Filter>) -> Option<ScimLookup> {
    match filter.and_then(required_eq) {
        Some((attr, v)) if attr == "username" => Username::parse(&v).ok().map(ScimLookup::UserName),
        Some((attr, v)) if attr == "externalid" => Some(ScimLookup::ExternalId(v)),
        _ => Some(ScimLookup::All),
    }
}

/// The store lookup that finds every group a filter can match: a top-level equality on the
/// external id (compared exactly, as the store does), else all. A `displayName` equality is no
/// shortcut: SCIM compares it without regard to case, the store exactly.
pub fn group_lookup(filter: Option<&Filter>) -> ScimLookup {
    match filter.and_then(required_eq) {
        Some((attr, v)) if attr == "externalid" => ScimLookup::ExternalId(v),
        _ => ScimLookup::All,
    }
}

/// The value a resource sorts by: the primary (or first) value the path reaches.
fn sort_key(resource: &Value, path: &AttrPath) -> Option<String> {
    let top = container(resource, path).and_then(|c| field(c, &path.name))?;
    let chosen = match top {
        Value::Array(items) => items
            .iter()
            .find(|i| field(i, "primary") == Some(&Value::Bool(true)))
            .or(items.first())?,
        other => other,
    };
    let v = match (chosen, path.sub_attr.as_deref()) {
        (Value::Object(_), Some(sub)) => field(chosen, sub)?,
        (Value::Object(_), None) => field(chosen, "value")?,
        (v, None) => v,
        (_, Some(_)) => return None,
    };
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.to_lowercase()),
        other => Some(other.to_string()),
    }
}

/// Sorts by an attribute; resources without a value come last either way (RFC 7644 §3.4.2.3).
pub fn sort(resources: &mut [Value], path: &AttrPath, descending: bool) {
    resources.sort_by_cached_key(|r| {
        let key = sort_key(r, path);
        (key.is_none(), key)
    });
    if descending {
        let missing = resources
            .iter()
            .filter(|r| sort_key(r, path).is_none())
            .count();
        let present = resources.len() - missing;
        resources[..present].reverse();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::ENTERPRISE_USER;

    fn user() -> Value {
        json!({
            "userName": "Ann.Lee",
            "externalId": "E-1",
            "active": true,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
            "meta": {"lastModified": "2026-11-23T10:00:00.000Z"},
            ENTERPRISE_USER: {"manager": {"value": "m-1"}},
        })
    }

    fn eval(f: &str) -> bool {
        matches(&user(), &parse(f).unwrap()).unwrap()
    }

    #[test]
    fn every_operator_and_logic_evaluates() {
        assert!(eval(r#"userName eq "ann.lee""#));
        assert!(!eval(r#"externalId eq "e-1""#), "externalId is case-exact");
        assert!(eval(r#"userName ne "bob""#));
        assert!(eval(r#"name.familyName co "ee""#));
        assert!(eval(r#"userName sw "ann" and userName ew "lee""#));
        assert!(eval("title pr or userName pr"));
        assert!(!eval("title pr"));
        assert!(eval(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#));
        assert!(eval(r#"meta.lastModified le "2026-11-23T10:00:00Z""#));
        assert!(!eval(r#"meta.lastModified lt "2026-11-23T10:00:00Z""#));
        assert!(eval(r#"meta.lastModified ge "2026-11-23T10:00:00Z""#));
        assert!(eval(r#"emails[type eq "work" and value ew "example.com"]"#));
        assert!(!eval(r#"emails[type eq "home"]"#));
        assert!(eval(r#"not (userName eq "bob") and active eq true"#));
        assert!(eval(
            r#"userName eq "x" or (name.givenName eq "ann" and not (active eq false))"#
        ));
        assert!(eval(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1""#
        ));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert!(eval(
            r#"userName eq "x" and active eq false or userName eq "ann.lee""#
        ));
        assert!(!eval(
            r#"userName eq "x" and (active eq false or userName eq "ann.lee")"#
        ));
    }

    #[test]
    fn ordering_booleans_is_an_invalid_filter() {
        assert!(matches!(
            matches(&user(), &parse("active gt true").unwrap()),
            Err(ScimError::InvalidFilter(_))
        ));
        assert!(matches!(
            parse("userName eq"),
            Err(ScimError::InvalidFilter(_))
        ));
    }

    #[test]
    fn an_equality_on_top_is_a_direct_lookup() {
        let f = parse(r#"userName eq "ann" and active eq true"#).unwrap();
        assert_eq!(required_eq(&f), Some(("username".into(), "ann".into())));
        let f = parse(r#"userName eq "ann" or active eq true"#).unwrap();
        assert_eq!(required_eq(&f), None);
    }

    #[test]
    fn an_email_filter_finds_addresses_besides_the_kept_one() {
        // Found by the scim_filter fuzz target: the store's email lookup compares only the
        // primary address, but the filter matches any address the feed sent.
        for raw in [
            r#"emails.value eq "ann@home.example""#,
            r#"emails eq "ann@home.example""#,
        ] {
            let f = parse(raw).unwrap();
            let mut u = user();
            u["emails"]
                .as_array_mut()
                .unwrap()
                .push(json!({"value": "ann@home.example"}));
            assert!(matches(&u, &f).unwrap(), "{raw}");
            assert_eq!(user_lookup(Some(&f)), Some(ScimLookup::All), "{raw}");
        }
    }

    #[test]
    fn a_display_name_filter_finds_the_group_whatever_its_case() {
        // Found by the scim_filter fuzz target: `displayName` is not case-exact, so the store's
        // exact lookup by name missed "Sales Team" for `displayName eq "sales team"`.
        let group = json!({"displayName": "Sales Team"});
        let f = parse(r#"displayName eq "sales team""#).unwrap();
        assert!(matches(&group, &f).unwrap());
        assert_eq!(group_lookup(Some(&f)), ScimLookup::All);
        let f = parse(r#"externalId eq "G-7""#).unwrap();
        assert_eq!(group_lookup(Some(&f)), ScimLookup::ExternalId("G-7".into()));
    }

    #[test]
    fn usernames_and_external_ids_are_looked_up() {
        let lookup = |raw: &str| user_lookup(Some(&parse(raw).unwrap()));
        assert_eq!(
            lookup(r#"userName eq "Ann" and active eq true"#),
            Some(ScimLookup::UserName(Username::parse("ann").unwrap()))
        );
        assert_eq!(
            lookup(r#"externalId eq "E-1""#),
            Some(ScimLookup::ExternalId("E-1".into()))
        );
        assert_eq!(lookup(r#"userName eq "not a username""#), None);
        assert_eq!(user_lookup(None), Some(ScimLookup::All));
    }

    #[test]
    fn missing_values_sort_last_both_ways() {
        let mut rs = vec![json!({"a": "b"}), json!({}), json!({"a": "a"})];
        let path = parse_attr_path("a").unwrap();
        sort(&mut rs, &path, false);
        assert_eq!(rs, vec![json!({"a": "a"}), json!({"a": "b"}), json!({})]);
        sort(&mut rs, &path, true);
        assert_eq!(rs, vec![json!({"a": "b"}), json!({"a": "a"}), json!({})]);
    }
}
