//! SCIM PATCH (`scim::patch::apply`): path parsing and every operation applied to a sample user
//! and group. Structure-aware: operations are built from known paths, filters and attribute
//! names as well as free text, so most inputs get past the body's outer shape; a raw body mode
//! keeps the JSON parser in play. A PATCH that succeeds never touches a read-only attribute.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use registrar_fuzz::{scim_group, scim_user};
use registrar_server::scim::patch::{self, GROUP_SHAPE, USER_SHAPE};
use serde_json::{Map, Number, Value, json};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const NAMES: &[&str] = &[
    "userName",
    "name",
    "givenName",
    "familyName",
    "displayName",
    "emails",
    "value",
    "type",
    "primary",
    "active",
    "groups",
    "display",
    "$ref",
    "manager",
    "members",
    "externalId",
    "id",
    "meta",
    "schemas",
    "title",
    "USERNAME",
    "Emails",
    "formatted",
];

const PATHS: &[&str] = &[
    "userName",
    "name.givenName",
    "name.familyName",
    "name",
    "displayName",
    "active",
    "emails",
    "emails.value",
    "emails[type eq \"work\"].value",
    "emails[type eq \"home\"]",
    "emails[value co \"@\" and primary eq true].type",
    "emails[not (type eq \"work\")]",
    "members",
    "members[value eq \"0190c0de-0000-7000-8000-000000000001\"]",
    "members.value",
    "externalId",
    "groups",
    "id",
    "meta.lastModified",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
];

#[derive(Debug, Arbitrary)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Known(u8),
    Array(Vec<Json>),
    Object(Vec<(Key, Json)>),
}

#[derive(Debug, Arbitrary)]
enum Key {
    Known(u8),
    Path(u8),
    Free(String),
}

#[derive(Debug, Arbitrary)]
enum OpName {
    Add,
    Replace,
    Remove,
    Cased(u8),
    Free(String),
}

#[derive(Debug, Arbitrary)]
enum Path {
    Absent,
    Null,
    Known(u8),
    /// `attr[filter].sub`, from pieces.
    Built {
        attr: u8,
        filter: String,
        sub: Option<u8>,
    },
    Free(String),
    NotAString(Json),
}

#[derive(Debug, Arbitrary)]
struct Operation {
    op: OpName,
    path: Path,
    value: Option<Json>,
}

#[derive(Debug, Arbitrary)]
enum Input {
    Ops {
        group: bool,
        operations: Vec<Operation>,
    },
    Raw {
        group: bool,
        body: String,
    },
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn key(k: Key) -> String {
    match k {
        Key::Known(i) => pick(NAMES, i).to_owned(),
        Key::Path(i) => pick(PATHS, i).to_owned(),
        Key::Free(s) => s,
    }
}

fn json(j: Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Int(i) => Value::Number(i.into()),
        Json::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Json::Str(s) => Value::String(s),
        Json::Known(i) => Value::String(pick(NAMES, i).to_owned()),
        Json::Array(items) => Value::Array(items.into_iter().map(json).collect()),
        Json::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (key(k), json(v))).collect())
        }
    }
}

fn operation(o: Operation) -> Value {
    let mut m = Map::new();
    m.insert(
        "op".into(),
        Value::String(match o.op {
            OpName::Add => "add".into(),
            OpName::Replace => "replace".into(),
            OpName::Remove => "remove".into(),
            OpName::Cased(i) => pick(&["Add", "REPLACE", "Remove", "aDd"], i).into(),
            OpName::Free(s) => s,
        }),
    );
    let path = match o.path {
        Path::Absent => None,
        Path::Null => Some(Value::Null),
        Path::Known(i) => Some(Value::String(pick(PATHS, i).into())),
        Path::Built { attr, filter, sub } => {
            let mut p = format!("{}[{filter}]", pick(NAMES, attr));
            if let Some(s) = sub {
                p = format!("{p}.{}", pick(NAMES, s));
            }
            Some(Value::String(p))
        }
        Path::Free(s) => Some(Value::String(s)),
        Path::NotAString(j) => Some(json(j)),
    };
    if let Some(p) = path {
        m.insert("path".into(), p);
    }
    if let Some(v) = o.value {
        m.insert("value".into(), json(v));
    }
    Value::Object(m)
}

fn check(resource: &Value, body: &Value, group: bool) {
    let shape = if group { GROUP_SHAPE } else { USER_SHAPE };
    let mut patched = resource.clone();
    if patch::apply(&mut patched, body, shape).is_err() {
        return;
    }
    assert!(patched.is_object(), "{patched}");
    for read_only in ["id", "meta", "schemas", "groups"] {
        assert_eq!(
            patched.get(read_only),
            resource.get(read_only),
            "{read_only} changed by {body}"
        );
    }
    // The result is what the handler goes on to parse and write: it must serialise.
    serde_json::to_vec(&patched).expect("serialises");
}

fuzz_target!(|input: Input| {
    let (group, body) = match input {
        Input::Ops { group, operations } => (
            group,
            json!({
                "schemas": [PATCH_OP],
                "Operations": operations.into_iter().map(operation).collect::<Vec<_>>(),
            }),
        ),
        Input::Raw { group, body } => match serde_json::from_str(&body) {
            Ok(v) => (group, v),
            Err(_) => return,
        },
    };
    let resource = if group {
        scim_group().json
    } else {
        scim_user().json
    };
    check(&resource, &body, group);
});
