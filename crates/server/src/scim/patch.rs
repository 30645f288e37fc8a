//! PATCH (RFC 7644 §3.5.2) as a function on the resource's JSON: every operation is applied to
//! a copy of the current resource, and only the result is parsed and written. A bad operation
//! anywhere therefore fails before anything is written: the request is atomic by construction.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::ScimError;
use super::filter::{field, matches_value};
use super::schema::{self, Attr, CORE_GROUP, CORE_USER, ENTERPRISE_USER, Mutability};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Which attributes a resource type has, for path checks.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub core_uri: &'static str,
    pub core: &'static [Attr],
    pub extension: Option<(&'static str, &'static [Attr])>,
}

pub const USER_SHAPE: Shape = Shape {
    core_uri: CORE_USER,
    core: schema::USER,
    extension: Some((ENTERPRISE_USER, schema::ENTERPRISE)),
};

pub const GROUP_SHAPE: Shape = Shape {
    core_uri: CORE_GROUP,
    core: schema::GROUP,
    extension: None,
};

/// Applies a PatchOp request body to `resource`.
pub fn apply(resource: &mut Value, body: &Value, shape: Shape) -> Result<(), ScimError> {
    let schemas = field(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|v| v.as_str() == Some(schema::PATCH_OP))) {
        return Err(ScimError::InvalidSyntax(format!(
            "a PATCH body names the schema {:?}",
            schema::PATCH_OP
        )));
    }
    let ops = field(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::InvalidSyntax("a PATCH body needs Operations".into()))?;
    for (i, operation) in ops.iter().enumerate() {
        let op = match field(operation, "op").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("add") => Op::Add,
            Some(s) if s.eq_ignore_ascii_case("replace") => Op::Replace,
            Some(s) if s.eq_ignore_ascii_case("remove") => Op::Remove,
            other => {
                return Err(ScimError::InvalidSyntax(format!(
                    "Operations[{i}]: op {other:?} is not add, replace or remove"
                )));
            }
        };
        let value = field(operation, "value");
        match field(operation, "path") {
            None | Some(Value::Null) => match (op, value) {
                (Op::Remove, _) => {
                    return Err(ScimError::NoTarget(format!(
                        "Operations[{i}]: remove needs a path"
                    )));
                }
                (_, Some(Value::Object(values))) => {
                    for (key, v) in values {
                        apply_keyed(resource, op, key, v, shape)?;
                    }
                }
                _ => {
                    return Err(ScimError::InvalidValue(format!(
                        "Operations[{i}]: without a path the value must be an object"
                    )));
                }
            },
            Some(Value::String(raw))
                if shape
                    .extension
                    .is_some_and(|(uri, _)| uri.eq_ignore_ascii_case(raw)) =>
            {
                // The whole extension as the target: its attributes are in the value.
                match (op, value) {
                    (Op::Remove, _) => remove_key(resource, raw),
                    (_, Some(v)) => apply_keyed(resource, op, raw, v, shape)?,
                    (_, None) => {
                        return Err(ScimError::InvalidValue(format!(
                            "Operations[{i}]: {raw:?} needs a value"
                        )));
                    }
                }
            }
            Some(Value::String(raw)) => {
                let path = parse_path(raw)?;
                if op != Op::Remove && value.is_none() {
                    return Err(ScimError::InvalidValue(format!(
                        "Operations[{i}]: {raw:?} needs a value"
                    )));
                }
                apply_path(resource, op, &path, value, shape)?;
            }
            Some(other) => {
                return Err(ScimError::InvalidPath(format!(
                    "Operations[{i}]: path {other} is not a string"
                )));
            }
        }
    }
    Ok(())
}

fn parse_path(raw: &str) -> Result<PatchPath, ScimError> {
    raw.parse::<PatchPath>()
        .map_err(|e| ScimError::InvalidPath(format!("path {raw:?} does not parse: {e}")))
}

/// One key of a path-less add or replace: an attribute, a dotted or URN-qualified path, or a
/// whole extension object.
fn apply_keyed(
    resource: &mut Value,
    op: Op,
    key: &str,
    value: &Value,
    shape: Shape,
) -> Result<(), ScimError> {
    if let Some((uri, _)) = shape.extension
        && uri.eq_ignore_ascii_case(key)
    {
        let Value::Object(values) = value else {
            return Err(ScimError::InvalidValue(format!("{key} must be an object")));
        };
        for (k, v) in values
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
        {
            apply_keyed(resource, op, &format!("{uri}:{k}"), v, shape)?;
        }
        return Ok(());
    }
    if key.eq_ignore_ascii_case("schemas") {
        return Ok(());
    }
    apply_path(resource, op, &parse_path(key)?, Some(value), shape)
}

/// The attribute a path names and the object it lives in (`None`: the resource itself).
fn resolve(
    path: &AttrPath,
    sub: Option<&str>,
    shape: Shape,
) -> Result<(Option<&'static str>, &'static Attr), ScimError> {
    let (container, attrs): (Option<&'static str>, Vec<&'static [Attr]>) = match path.uri.as_deref()
    {
        None => (None, vec![shape.core, schema::COMMON]),
        Some(u) if u.eq_ignore_ascii_case(shape.core_uri) => {
            (None, vec![shape.core, schema::COMMON])
        }
        Some(u) => match shape.extension {
            Some((uri, ext)) if uri.eq_ignore_ascii_case(u) => (Some(uri), vec![ext]),
            _ => {
                return Err(ScimError::InvalidPath(format!("unknown schema {u:?}")));
            }
        },
    };
    let attr = attrs
        .iter()
        .find_map(|a| schema::find(a, &path.name))
        .ok_or_else(|| ScimError::InvalidPath(format!("unknown attribute {:?}", path.name)))?;
    let mut read_only = attr.mutability == Mutability::ReadOnly;
    if let Some(sub) = sub {
        let s = schema::find(attr.subs, sub).ok_or_else(|| {
            ScimError::InvalidPath(format!("{} has no sub-attribute {sub:?}", attr.name))
        })?;
        read_only |= s.mutability == Mutability::ReadOnly;
    }
    if read_only {
        return Err(ScimError::Mutability(format!(
            "{} is read-only",
            match sub {
                Some(s) => format!("{}.{s}", attr.name),
                None => attr.name.to_owned(),
            }
        )));
    }
    Ok((container, attr))
}

fn object_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// The entry for an attribute, under its canonical name (any other spelling is dropped).
fn slot<'a>(resource: &'a mut Value, container: Option<&str>, name: &'static str) -> &'a mut Value {
    let mut target = object_mut(resource);
    if let Some(uri) = container {
        target = object_mut(target.entry(uri.to_owned()).or_insert(Value::Null));
    }
    let stray: Vec<String> = target
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name) && k.as_str() != name)
        .cloned()
        .collect();
    let mut found = None;
    for k in stray {
        found = target.remove(&k);
    }
    target
        .entry(name.to_owned())
        .or_insert(found.unwrap_or(Value::Null))
}

fn remove_key(object: &mut Value, name: &str) {
    if let Value::Object(m) = object {
        m.retain(|k, _| !k.eq_ignore_ascii_case(name));
    }
}

fn elements(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (field(a, "value"), field(b, "value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn merge(target: &mut Value, value: &Value) {
    match value {
        Value::Object(values) => {
            for (k, v) in values {
                remove_key(target, k);
                object_mut(target).insert(k.clone(), v.clone());
            }
        }
        other => *target = other.clone(),
    }
}

fn apply_path(
    resource: &mut Value,
    op: Op,
    path: &PatchPath,
    value: Option<&Value>,
    shape: Shape,
) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(a) => {
            let (container, attr) = resolve(a, a.sub_attr.as_deref(), shape)?;
            let target = slot(resource, container, attr.name);
            match (op, a.sub_attr.as_deref(), value) {
                (Op::Remove, None, Some(v)) if attr.multi => {
                    // Remove the listed elements (how Okta removes group members).
                    let gone = elements(v);
                    let kept: Vec<Value> = elements(target)
                        .into_iter()
                        .filter(|e| !gone.iter().any(|g| same_value(e, g)))
                        .collect();
                    *target = Value::Array(kept);
                }
                (Op::Remove, None, _) => *target = Value::Null,
                (Op::Remove, Some(sub), _) => match target {
                    Value::Array(items) => items.iter_mut().for_each(|i| remove_key(i, sub)),
                    other => remove_key(other, sub),
                },
                (_, _, None) => {}
                (Op::Add, None, Some(v)) if attr.multi => {
                    let mut items = elements(target);
                    for new in elements(v) {
                        items.retain(|e| !same_value(e, &new));
                        items.push(new);
                    }
                    *target = Value::Array(items);
                }
                (Op::Replace, None, Some(v)) if attr.multi => *target = Value::Array(elements(v)),
                (_, None, Some(v)) if !attr.subs.is_empty() => merge(target, v),
                (_, None, Some(v)) => *target = v.clone(),
                (_, Some(sub), Some(v)) if attr.multi => {
                    // A sub-attribute of a multi-valued attribute without a filter: the primary
                    // (or only) element's.
                    let mut items = elements(target);
                    let i = items
                        .iter()
                        .position(|e| field(e, "primary") == Some(&Value::Bool(true)))
                        .unwrap_or(0);
                    if items.is_empty() {
                        items.push(Value::Object(Map::new()));
                    }
                    if let Some(e) = items.get_mut(i) {
                        remove_key(e, sub);
                        object_mut(e).insert(sub.to_owned(), v.clone());
                    }
                    *target = Value::Array(items);
                }
                (_, Some(sub), Some(v)) => {
                    remove_key(target, sub);
                    object_mut(target).insert(sub.to_owned(), v.clone());
                }
            }
        }
        PatchPath::Value(vp) => {
            let (container, attr) = resolve(&vp.attr, vp.sub_attr.as_deref(), shape)?;
            if !attr.multi {
                return Err(ScimError::InvalidPath(format!(
                    "{} is not multi-valued: it takes no [filter]",
                    attr.name
                )));
            }
            let target = slot(resource, container, attr.name);
            let mut items = elements(target);
            let mut hit = vec![];
            for (i, e) in items.iter().enumerate() {
                if matches_value(e, &vp.filter)? {
                    hit.push(i);
                }
            }
            if hit.is_empty() {
                // An add (or replace) aimed at an element that is not there yet creates it from
                // the filter's equalities, as Entra ID sends `emails[type eq "work"].value`.
                let (Some(v), false, Some(mut new)) =
                    (value, op == Op::Remove, element_from(&vp.filter))
                else {
                    return Err(ScimError::NoTarget(format!(
                        "no {} element matches the filter",
                        attr.name
                    )));
                };
                match vp.sub_attr.as_deref() {
                    Some(sub) => {
                        object_mut(&mut new).insert(sub.to_owned(), v.clone());
                    }
                    None => merge(&mut new, v),
                }
                items.push(new);
            } else if op == Op::Remove {
                match vp.sub_attr.as_deref() {
                    Some(sub) => hit.iter().for_each(|&i| remove_key(&mut items[i], sub)),
                    None => {
                        let mut i = 0;
                        items.retain(|_| {
                            i += 1;
                            !hit.contains(&(i - 1))
                        });
                    }
                }
            } else if let Some(v) = value {
                for &i in &hit {
                    match vp.sub_attr.as_deref() {
                        Some(sub) => {
                            remove_key(&mut items[i], sub);
                            object_mut(&mut items[i]).insert(sub.to_owned(), v.clone());
                        }
                        None if op == Op::Replace && !v.is_object() => items[i] = v.clone(),
                        None => merge(&mut items[i], v),
                    }
                }
            }
            *target = Value::Array(items);
        }
    }
    Ok(())
}

/// The element a filter made only of equalities describes, e.g. `{"type": "work"}`.
fn element_from(filter: &ValFilter) -> Option<Value> {
    let mut out = Map::new();
    let mut add = |f: &ValFilter| match f {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) if p.sub_attr.is_none() => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.insert(p.name.clone(), v);
            true
        }
        _ => false,
    };
    let ok = match filter {
        ValFilter::And(items) => items.as_slice().iter().all(&mut add),
        single => add(single),
    };
    ok.then_some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patch(ops: Value) -> Value {
        json!({"schemas": [schema::PATCH_OP], "Operations": ops})
    }

    fn user() -> Value {
        json!({
            "userName": "ann",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
            "active": true,
        })
    }

    #[test]
    fn value_paths_add_replace_and_remove_elements() {
        let mut u = user();
        apply(
            &mut u,
            &patch(json!([
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "a@home.org"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@corp.com"},
                {"op": "replace", "value": {"active": false, "name.familyName": "Smith"}},
            ])),
            USER_SHAPE,
        )
        .unwrap();
        assert_eq!(u["emails"][0]["value"], "ann@corp.com");
        assert_eq!(
            u["emails"][1],
            json!({"type": "home", "value": "a@home.org"})
        );
        assert_eq!(u["active"], false);
        assert_eq!(u["name"]["familyName"], "Smith");
        apply(
            &mut u,
            &patch(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
            USER_SHAPE,
        )
        .unwrap();
        assert_eq!(u["emails"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn members_are_added_and_removed_by_value() {
        let mut g = json!({"displayName": "g", "members": [{"value": "a"}]});
        apply(
            &mut g,
            &patch(json!([
                {"op": "add", "path": "members", "value": [{"value": "b"}, {"value": "a"}]},
                {"op": "remove", "path": "members[value eq \"a\"]"},
            ])),
            GROUP_SHAPE,
        )
        .unwrap();
        assert_eq!(g["members"], json!([{"value": "b"}]));
        apply(
            &mut g,
            &patch(json!([{"op": "remove", "path": "members", "value": [{"value": "b"}]}])),
            GROUP_SHAPE,
        )
        .unwrap();
        assert_eq!(g["members"], json!([]));
    }

    #[test]
    fn bad_paths_and_read_only_attributes_are_refused() {
        for (path, kind) in [
            ("nickName", "invalidPath"),
            ("emails[type eq", "invalidPath"),
            ("name.middle", "invalidPath"),
            ("groups", "mutability"),
            ("id", "mutability"),
        ] {
            let err = apply(
                &mut user(),
                &patch(json!([{"op": "replace", "path": path, "value": "x"}])),
                USER_SHAPE,
            )
            .unwrap_err();
            assert_eq!(err.scim_type(), Some(kind), "{path}");
        }
        let err = apply(
            &mut user(),
            &patch(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
            USER_SHAPE,
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), Some("noTarget"));
    }

    #[test]
    fn the_enterprise_manager_is_reached_by_urn() {
        let mut u = user();
        apply(
            &mut u,
            &patch(json!([{"op": "add", "value": {ENTERPRISE_USER: {"manager": {"value": "m"}}}}])),
            USER_SHAPE,
        )
        .unwrap();
        apply(
            &mut u,
            &patch(json!([{"op": "replace",
                "path": format!("{ENTERPRISE_USER}:manager"), "value": "m2"}])),
            USER_SHAPE,
        )
        .unwrap();
        assert_eq!(u[ENTERPRISE_USER]["manager"], "m2");
    }
}
