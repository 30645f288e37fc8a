//! The attributes the feed supports, once: the discovery documents (Schemas, ResourceTypes,
//! ServiceProviderConfig) are generated from this table, and PATCH paths are checked against it,
//! so what the feed advertises and what it accepts cannot drift apart.

use serde_json::{Value, json};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// The most resources one list answer carries.
pub const MAX_RESULTS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
}

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    kind: &'static str,
    pub multi: bool,
    required: bool,
    case_exact: bool,
    pub mutability: Mutability,
    unique: bool,
    description: &'static str,
    /// What a `reference` may point at.
    refs: &'static [&'static str],
    pub subs: &'static [Attr],
}

const fn attr(name: &'static str, kind: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        description,
        refs: &[],
        subs: &[],
    }
}

const fn read_only(a: Attr) -> Attr {
    Attr {
        mutability: Mutability::ReadOnly,
        ..a
    }
}

/// A group of a user, as the user shows it (changed on the group).
const GROUP_REF: &[Attr] = &[
    Attr {
        case_exact: true,
        ..read_only(attr("value", "string", "The group's id."))
    },
    Attr {
        refs: &["Group"],
        ..read_only(attr("$ref", "reference", "The group's URI."))
    },
    read_only(attr("display", "string", "The group's name.")),
];

/// A member of a group: a user, named by id or by URI.
const MEMBER: &[Attr] = &[
    Attr {
        case_exact: true,
        ..attr("value", "string", "The user's id.")
    },
    Attr {
        refs: &["User"],
        ..attr("$ref", "reference", "The user's URI.")
    },
];

pub const USER: &[Attr] = &[
    Attr {
        required: true,
        unique: true,
        ..attr(
            "userName",
            "string",
            "The login name, unique in the tenant (case-insensitive).",
        )
    },
    Attr {
        kind: "complex",
        subs: &[
            attr("givenName", "string", "Given name."),
            attr("familyName", "string", "Family name."),
        ],
        ..attr("name", "complex", "The person's name.")
    },
    attr(
        "displayName",
        "string",
        "The name shown for the person; defaults to given and family name.",
    ),
    Attr {
        multi: true,
        subs: &[
            attr(
                "value",
                "string",
                "The address; the primary one is the login email.",
            ),
            attr("type", "string", "work, home or other."),
            attr("primary", "boolean", "The address Registrar keeps."),
        ],
        ..attr(
            "emails",
            "complex",
            "Email addresses; Registrar keeps the primary one.",
        )
    },
    attr(
        "active",
        "boolean",
        "false deactivates the person and applies the leaver policy.",
    ),
    Attr {
        multi: true,
        subs: GROUP_REF,
        ..read_only(attr(
            "groups",
            "complex",
            "Direct groups; change them on the Group.",
        ))
    },
];

pub const ENTERPRISE: &[Attr] = &[Attr {
    subs: &[
        Attr {
            case_exact: true,
            ..attr("value", "string", "The manager's id.")
        },
        Attr {
            refs: &["User"],
            ..attr("$ref", "reference", "The manager's URI.")
        },
        read_only(attr("displayName", "string", "The manager's display name.")),
    ],
    ..attr(
        "manager",
        "complex",
        "The line manager: builds the manager relation.",
    )
}];

pub const GROUP: &[Attr] = &[
    Attr {
        required: true,
        ..attr("displayName", "string", "The group's name.")
    },
    Attr {
        multi: true,
        subs: MEMBER,
        ..attr("members", "complex", "Direct members (users).")
    },
];

/// Attributes every resource has (RFC 7643 §3.1).
pub const COMMON: &[Attr] = &[
    read_only(Attr {
        case_exact: true,
        ..attr("id", "string", "")
    }),
    Attr {
        case_exact: true,
        ..attr("externalId", "string", "")
    },
    read_only(attr("meta", "complex", "")),
    read_only(attr("schemas", "string", "")),
];

/// Looks an attribute up without regard to case.
pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn attribute_json(a: &Attr) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": a.kind,
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
        },
        "returned": "default",
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if a.kind == "reference" {
        v["referenceTypes"] = json!(a.refs);
    }
    if !a.subs.is_empty() {
        v["subAttributes"] = a.subs.iter().map(attribute_json).collect();
    }
    v
}

fn schema_json(base: &str, id: &str, name: &str, description: &str, attrs: &[Attr]) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attrs.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema_json(base, CORE_USER, "User", "A person of the tenant.", USER),
        schema_json(
            base,
            ENTERPRISE_USER,
            "EnterpriseUser",
            "The enterprise extension: the line manager.",
            ENTERPRISE,
        ),
        schema_json(base, CORE_GROUP, "Group", "A group of the tenant.", GROUP),
    ]
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "People of the tenant.",
            "schema": CORE_USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Groups of the tenant.",
            "schema": CORE_GROUP,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [CONFIG],
        "documentationUri": "https://github.com/registrar/registrar#scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "An API token of a user of the tenant (registrar token create).",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}
