//! The API's data shapes. Requests are parsed into domain newtypes at the edge (an invalid email
//! never gets past here); responses are built from domain values.

use std::collections::BTreeMap;

use registrar_domain::ValidationError;
use registrar_domain::group::Group;
use registrar_domain::tenant::Tenant;
use registrar_domain::user::{EffectiveStatus, User};
use registrar_store::{ManagerLink, PageRequest, TokenRecord};
use serde::{Deserialize, Deserializer, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

/// Tells "field absent" (leave alone) from "field null" (clear it) in a PATCH body.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

pub fn parse_date(field: &'static str, s: &str) -> Result<Date, ValidationError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &format)
        .map_err(|_| ValidationError::new(field, s, "must be a date like 2027-03-31"))
}

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
    /// Case-insensitive substring to search for.
    pub q: Option<String>,
}

impl PageQuery {
    pub fn request(self) -> PageRequest {
        PageRequest {
            after: self.after,
            limit: self.limit.unwrap_or(50),
            search: self.q,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// The preset the tenant's roles came from.
    pub preset: String,
    pub created_at: String,
}

impl From<Tenant> for TenantOut {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            slug: t.slug.to_string(),
            name: t.name.to_string(),
            preset: t.preset.code().into(),
            created_at: timestamp(t.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    pub items: Vec<TenantOut>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub labels: BTreeMap<String, String>,
    /// `activated`, `active`, `deactivated`, or `expired` once the expiry date has passed.
    pub status: String,
    /// Last day the account is valid.
    pub expires_on: Option<String>,
    pub primary_group: Option<String>,
    pub superadmin: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        let status = match u.effective_status(OffsetDateTime::now_utc().date()) {
            EffectiveStatus::Activated => "activated",
            EffectiveStatus::Active => "active",
            EffectiveStatus::Deactivated => "deactivated",
            EffectiveStatus::Expired => "expired",
        };
        Self {
            id: u.id.to_string(),
            username: u.username.to_string(),
            email: u.email.map(|e| e.to_string()),
            display_name: u.display_name.to_string(),
            labels: u.labels.as_map().clone(),
            status: status.into(),
            expires_on: u.expires_on.map(|d| d.to_string()),
            primary_group: u.primary_group.map(|g| g.to_string()),
            superadmin: u.superadmin,
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserOut>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub parent: Option<String>,
    /// Public (seen across the tenant, reached by platform coaches) or private.
    pub public: bool,
}

impl From<Group> for GroupOut {
    fn from(g: Group) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name.to_string(),
            description: g.description,
            parent: g.parent.map(|p| p.to_string()),
            public: g.public,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupPage {
    pub items: Vec<GroupOut>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ManagerLinkOut {
    pub manager: String,
    pub managee: String,
    /// `explicit` (set by an administrator), `feed` (from the HR feed) or `group` (the
    /// manager holds a team-making role, such as Group Manager, on a group of the managee).
    pub source: String,
    /// For `group`: that group.
    pub group: Option<String>,
}

impl From<ManagerLink> for ManagerLinkOut {
    fn from(l: ManagerLink) -> Self {
        Self {
            manager: l.manager.to_string(),
            managee: l.managee.to_string(),
            source: l.source.code().into(),
            group: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: String,
    pub name: String,
    pub user: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
}

impl From<TokenRecord> for TokenOut {
    fn from(t: TokenRecord) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            user: t.user.map(|u| u.to_string()),
            created_at: timestamp(t.created_at),
            expires_at: t.expires_at.map(timestamp),
        }
    }
}

/// A newly made token. The secret is shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenOut {
    #[serde(flatten)]
    pub token: TokenOut,
    pub secret: String,
}
