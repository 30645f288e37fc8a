//! Who looks after a group: who administers it and who manages its people. A group's page shows
//! both; they are the engine's answers, so that no page decides it by naming a permission or a
//! role.

use std::collections::BTreeSet;

use time::Date;

use super::act::Act;
use super::catalog::Permission;
use super::error::AccessError;
use super::model::AccessModel;
use super::object::ObjectRef;
use crate::ids::{GroupId, UserId};

/// The people who look after a group, each list in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStewards {
    /// Who may change the group or its members (rename it, move it, add and take out people),
    /// superadmins left out: they may everywhere, and would be on every group's list.
    pub administrators: Vec<UserId>,
    /// Who manages the group's people as their team: the holders of a team-making role (a
    /// Group Manager) at the group or at a group it sits in.
    pub managers: Vec<UserId>,
}

impl AccessModel {
    /// Who administers and who manages `group` today.
    pub fn group_stewards(
        &self,
        group: GroupId,
        today: Date,
    ) -> Result<GroupStewards, AccessError> {
        let object = ObjectRef::group(group);
        let slot = self
            .group_slot(group)
            .ok_or(AccessError::UnknownObject(object))?;
        let mut administrators = BTreeSet::new();
        // The holders of each act's permission are only the candidates: the act itself is asked
        // of each, so whatever else decides it holds too.
        for (permission, act) in [
            (Permission::GroupsEdit, Act::EditGroup(group)),
            (Permission::GroupsMembers, Act::ManageMembers(group)),
        ] {
            for user in self.holders(permission, &object, today)? {
                if !self.is_superadmin(user) && self.decide(user, &act, today)?.allowed() {
                    administrators.insert(user);
                }
            }
        }
        let mut managers = BTreeSet::new();
        self.any_ancestor(slot, |g| {
            for h in self.team_holders.get(&g).into_iter().flatten() {
                let holder = &self.users[*h as usize];
                if holder.alive {
                    managers.insert(holder.id);
                }
            }
            false
        });
        Ok(GroupStewards {
            administrators: administrators.into_iter().collect(),
            managers: managers.into_iter().collect(),
        })
    }
}
