//! The access review (SPEC 6): everyone who holds a permission with a risk flag, line by line
//! per role, scope and how they came to hold it, so that a reviewer sees who can widen access,
//! change the tenant, destroy data or read people's data, and why.

use serde::Serialize;

use super::catalog::{Permission, Risk};
use super::explain::Basis;
use super::model::AccessModel;
use super::reach::Reach;
use crate::ids::UserId;

/// One of the catalog's risk flags, to cut a review by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskFlag {
    PersonalData,
    Config,
    DataLoss,
    Privilege,
}

impl RiskFlag {
    pub const ALL: [RiskFlag; 4] = [
        RiskFlag::PersonalData,
        RiskFlag::Config,
        RiskFlag::DataLoss,
        RiskFlag::Privilege,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RiskFlag::PersonalData => "personal_data",
            RiskFlag::Config => "config",
            RiskFlag::DataLoss => "data_loss",
            RiskFlag::Privilege => "privilege",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == input.trim())
    }

    /// Whether `risk` carries this flag.
    pub fn of(self, risk: Risk) -> bool {
        match self {
            RiskFlag::PersonalData => risk.personal_data,
            RiskFlag::Config => risk.config,
            RiskFlag::DataLoss => risk.data_loss,
            RiskFlag::Privilege => risk.privilege,
        }
    }

    /// The flags `risk` carries.
    pub fn all_of(risk: Risk) -> Vec<RiskFlag> {
        Self::ALL.into_iter().filter(|f| f.of(risk)).collect()
    }
}

/// What one person holds through one basis (role, scope, origin) that carries risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewLine {
    pub user: UserId,
    /// A superadmin holds everything, through no role; `basis` is `None` then.
    pub superadmin: bool,
    pub basis: Option<Basis>,
    /// The risky permissions this basis gives, with their reach.
    pub permissions: Vec<(Permission, Reach)>,
    /// The union of those permissions' flags.
    pub flags: Vec<RiskFlag>,
}

impl AccessModel {
    /// Everyone who holds a risky permission, by person then basis; with `only`, those whose
    /// holdings carry that flag. Superadmins come first on their own line.
    pub fn access_review(&self, only: Option<RiskFlag>) -> Vec<ReviewLine> {
        let counts = |p: &Permission| {
            let risk = p.risk();
            risk.any() && only.is_none_or(|f| f.of(risk))
        };
        let mut lines = Vec::new();
        for user in self.data.users.keys() {
            if self.is_superadmin(*user) {
                lines.push(ReviewLine {
                    user: *user,
                    superadmin: true,
                    basis: None,
                    permissions: Vec::new(),
                    flags: only.map_or_else(|| RiskFlag::ALL.to_vec(), |f| vec![f]),
                });
                continue;
            }
            let Ok(holdings) = self.effective(*user) else {
                continue;
            };
            let mut by_basis: Vec<ReviewLine> = Vec::new();
            for h in holdings.into_iter().filter(|h| counts(&h.permission)) {
                let line = match by_basis
                    .iter_mut()
                    .find(|l| l.basis.as_ref() == Some(&h.basis))
                {
                    Some(line) => line,
                    None => {
                        by_basis.push(ReviewLine {
                            user: *user,
                            superadmin: false,
                            basis: Some(h.basis.clone()),
                            permissions: Vec::new(),
                            flags: Vec::new(),
                        });
                        let last = by_basis.len() - 1;
                        &mut by_basis[last]
                    }
                };
                if !line.permissions.contains(&(h.permission, h.reach)) {
                    line.permissions.push((h.permission, h.reach));
                }
                for f in RiskFlag::all_of(h.permission.risk()) {
                    if !line.flags.contains(&f) {
                        line.flags.push(f);
                    }
                }
            }
            for line in &mut by_basis {
                line.flags.sort_by_key(|f| f.code());
            }
            lines.extend(by_basis);
        }
        lines
    }
}
