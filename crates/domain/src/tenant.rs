//! Tenants: isolated platforms, each created from a preset of standard roles.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ValidationError;
use crate::ids::TenantId;
use crate::text::Name;

/// The short name a tenant is addressed by at login and on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim();
        let ok = (2..=63).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(
                "tenant slug",
                input,
                "must be 2 to 63 characters of a-z, 0-9 and inner hyphens",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The vocabulary a tenant starts from (SPEC section 2). After creation its roles are ordinary,
/// editable roles; the preset is kept only to say where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Six platform roles from Student to LMS Administrator, plus five responsibilities.
    ClassicLms,
    /// User / Power User / Superadmin levels, with course-level roles given on enrollment.
    Levels,
    /// Preconfigured roles and policies bound to a "learner management" group.
    ManagementGroups,
    /// Roles held per group: Learner, Author, Coach, Admin, and an Owner.
    GroupRoles,
}

impl Preset {
    pub const ALL: [Preset; 4] = [
        Preset::ClassicLms,
        Preset::Levels,
        Preset::ManagementGroups,
        Preset::GroupRoles,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Preset::ClassicLms => "classic-lms",
            Preset::Levels => "levels",
            Preset::ManagementGroups => "management-groups",
            Preset::GroupRoles => "group-roles",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|p| p.code() == input.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "preset",
                    input,
                    "must be one of classic-lms, levels, management-groups, group-roles",
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: Name,
    pub preset: Preset,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_identifiers() {
        assert!(TenantSlug::parse("acme-learning").is_ok());
        assert!(TenantSlug::parse("Acme").is_err());
        assert!(TenantSlug::parse("-acme").is_err());
        assert!(TenantSlug::parse("a").is_err());
    }

    #[test]
    fn preset_codes_round_trip() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.code()), Ok(p));
        }
        assert_eq!(Preset::parse("moodle").unwrap_err().field, "preset");
    }
}

/// The tenant's legal representative: not a role but the name, with an address, that its
/// invoices carry when it sells training (SPEC section 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalRepresentative {
    pub name: crate::text::Name,
    /// One line, as the invoice prints it.
    pub address: Option<crate::text::Name>,
}
