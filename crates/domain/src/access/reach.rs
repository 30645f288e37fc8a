//! Reach: where a permission applies, relative to the person holding it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::AccessError;

/// Where a (permission, reach) pair applies.
///
/// * `Tenant`: every object in the tenant (or, on a grant held at a scope, everything in that
///   scope).
/// * `Team`: people the holder manages, directly or as holder of a team-making role (group
///   manager, group administrator) on a group they belong to.
/// * `Assigned`: objects inside the scopes where the holder has a responsibility (a scoped grant
///   of a role that assigns: courses they tutor, events they administer, groups they coach), and
///   everything inside those objects (a course's lessons, events and sessions; a group's
///   subgroups, courses and members).
/// * `Own`: the holder themselves, objects they created, and courses they are enrolled in with
///   everything inside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    Own,
    Assigned,
    Team,
    Tenant,
}

impl Reach {
    pub const ALL: [Reach; 4] = [Reach::Own, Reach::Assigned, Reach::Team, Reach::Tenant];

    pub fn code(self) -> &'static str {
        match self {
            Reach::Own => "own",
            Reach::Assigned => "assigned",
            Reach::Team => "team",
            Reach::Tenant => "tenant",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AccessError> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == input.trim())
            .ok_or_else(|| AccessError::UnknownReach(input.to_owned()))
    }

    /// Whether holding a permission with `self` is at least as much authority as holding it with
    /// `other`, for the delegation rule on platform-wide grants.
    ///
    /// This is a partial order, not a total one: `tenant` covers everything; every reach covers
    /// itself; `team` and `assigned` each cover `own` (anyone trusted with other people's or
    /// assigned objects may be trusted with their own); `team` and `assigned` do not cover each
    /// other, because neither set of objects contains the other.
    pub fn covers(self, other: Reach) -> bool {
        self == other
            || self == Reach::Tenant
            || (other == Reach::Own && matches!(self, Reach::Team | Reach::Assigned))
    }
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_is_a_partial_order() {
        for a in Reach::ALL {
            assert!(a.covers(a), "reflexive");
            for b in Reach::ALL {
                if a != b && a.covers(b) {
                    assert!(!b.covers(a), "antisymmetric: {a} {b}");
                }
                for c in Reach::ALL {
                    if a.covers(b) && b.covers(c) {
                        assert!(a.covers(c), "transitive: {a} {b} {c}");
                    }
                }
            }
        }
        assert!(!Reach::Team.covers(Reach::Assigned));
        assert!(!Reach::Assigned.covers(Reach::Team));
        assert!(Reach::Tenant.covers(Reach::Team));
    }

    #[test]
    fn unknown_reach_is_named() {
        assert_eq!(
            Reach::parse("galaxy").err().map(|e| e.to_string()),
            Some("unknown reach \"galaxy\" (expected own, assigned, team or tenant)".to_owned())
        );
    }
}
