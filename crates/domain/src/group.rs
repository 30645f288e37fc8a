//! Groups: sets of users that may nest. One group can be an organisational unit, a scope where
//! roles apply and a principal that policies attach to, all at once.

use std::collections::HashSet;

use crate::ids::{GroupId, TenantId};
use crate::text::Name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: Name,
    pub description: String,
    /// The group this one nests in: members of this group are members of the parent too.
    pub parent: Option<GroupId>,
    /// Its confidentiality: a public group is seen across the tenant and a platform coach
    /// reaches its members (seed 004); groups are private unless made public.
    pub public: bool,
}

/// Whether making `new_parent` the parent of `group` would close a cycle, given how parents are
/// linked now. Walks up from the new parent; the walk is bounded by the number of distinct groups
/// seen, so a cycle already present (which the store never lets happen) cannot hang it.
pub fn would_cycle(
    group: GroupId,
    new_parent: GroupId,
    parent_of: impl Fn(GroupId) -> Option<GroupId>,
) -> bool {
    let mut seen = HashSet::new();
    let mut cursor = Some(new_parent);
    while let Some(g) = cursor {
        if g == group || !seen.insert(g) {
            return true;
        }
        cursor = parent_of(g);
    }
    false
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_group_cannot_nest_in_its_own_descendant() {
        let (a, b, c) = (GroupId::new(), GroupId::new(), GroupId::new());
        let parents: HashMap<_, _> = [(b, a), (c, b)].into_iter().collect();
        let parent_of = |g| parents.get(&g).copied();
        assert!(would_cycle(a, c, parent_of));
        assert!(would_cycle(a, a, parent_of));
        assert!(!would_cycle(c, a, parent_of));
    }
}
