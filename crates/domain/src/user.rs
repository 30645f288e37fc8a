//! Users and their status (SPEC 3.1).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::ValidationError;
use crate::ids::{GroupId, TenantId, UserId};
use crate::text::{Email, Labels, Name, Username};

/// The status a user *has been given*. `expired` is not stored: it is derived from the expiry
/// date, so that moving the date into the future restores exactly this status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May log in, has not started any learning yet.
    Activated,
    /// Has opened at least one course or learning asset.
    Active,
    /// Switched off by an administrator; data kept.
    Deactivated,
}

impl UserStatus {
    pub fn code(self) -> &'static str {
        match self {
            UserStatus::Activated => "activated",
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        match input.trim() {
            "activated" => Ok(UserStatus::Activated),
            "active" => Ok(UserStatus::Active),
            "deactivated" => Ok(UserStatus::Deactivated),
            "expired" => Err(ValidationError::new(
                "status",
                input,
                "expired cannot be set directly; it follows from the expiry date",
            )),
            _ => Err(ValidationError::new(
                "status",
                input,
                "must be activated, active or deactivated",
            )),
        }
    }
}

/// The status as the rest of the platform sees it on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveStatus {
    Activated,
    Active,
    Deactivated,
    Expired,
}

impl EffectiveStatus {
    pub fn code(self) -> &'static str {
        match self {
            EffectiveStatus::Activated => "activated",
            EffectiveStatus::Active => "active",
            EffectiveStatus::Deactivated => "deactivated",
            EffectiveStatus::Expired => "expired",
        }
    }

    /// Whether a person in this status may log in at all.
    pub fn may_log_in(self) -> bool {
        matches!(self, EffectiveStatus::Activated | EffectiveStatus::Active)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub username: Username,
    pub email: Option<Email>,
    pub display_name: Name,
    pub labels: Labels,
    pub status: UserStatus,
    /// Last day on which the account is valid; from the day after, it is expired.
    pub expires_on: Option<Date>,
    pub primary_group: Option<GroupId>,
    /// Unlimited, cannot be restricted, exempt from the delegation rule (SPEC 2).
    pub superadmin: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    pub fn effective_status(&self, today: Date) -> EffectiveStatus {
        EffectiveStatus::of(self.status, self.expires_on, today)
    }
}

impl EffectiveStatus {
    /// The one rule: an expiry date in the past makes the account expired, whatever its
    /// stored status; otherwise the stored status holds.
    pub fn of(status: UserStatus, expires_on: Option<Date>, today: Date) -> Self {
        match expires_on {
            Some(last_day) if last_day < today => EffectiveStatus::Expired,
            _ => match status {
                UserStatus::Activated => EffectiveStatus::Activated,
                UserStatus::Active => EffectiveStatus::Active,
                UserStatus::Deactivated => EffectiveStatus::Deactivated,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn user(status: UserStatus, expires_on: Option<Date>) -> User {
        User {
            id: UserId::new(),
            tenant_id: TenantId::new(),
            username: Username::parse("ann").unwrap(),
            email: None,
            display_name: Name::parse("display name", "Ann").unwrap(),
            labels: Labels::default(),
            status,
            expires_on,
            primary_group: None,
            superadmin: false,
            created_at: datetime!(2026-01-01 0:00 UTC),
            updated_at: datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn a_user_is_expired_from_the_day_after_the_expiry_date() {
        let u = user(UserStatus::Active, Some(date!(2026 - 03 - 31)));
        assert_eq!(
            u.effective_status(date!(2026 - 03 - 31)),
            EffectiveStatus::Active
        );
        assert_eq!(
            u.effective_status(date!(2026 - 04 - 01)),
            EffectiveStatus::Expired
        );
    }

    #[test]
    fn moving_the_expiry_date_restores_the_previous_status_without_activating() {
        let mut u = user(UserStatus::Deactivated, Some(date!(2026 - 01 - 01)));
        assert_eq!(
            u.effective_status(date!(2026 - 06 - 01)),
            EffectiveStatus::Expired
        );
        u.expires_on = Some(date!(2027 - 01 - 01));
        assert_eq!(
            u.effective_status(date!(2026 - 06 - 01)),
            EffectiveStatus::Deactivated
        );
    }

    #[test]
    fn expired_cannot_be_set_directly() {
        let err = UserStatus::parse("expired").unwrap_err();
        assert!(err.reason.contains("expiry date"));
    }
}
