//! SCIM filters (`scim::filter`): parsing, evaluation over a sample user and group, `sortBy`
//! paths, and the store lookup a filter's top-level equality becomes (`user_lookup`,
//! `group_lookup`). That lookup is only a shortcut: it must never drop a resource the filter
//! itself matches. The store's side is modelled on the sample's stored values (the SQL compares
//! the username and kept email as stored, external ids and names exactly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use registrar_fuzz::{scim_group, scim_user};
use registrar_server::scim::filter;
use registrar_store::ScimLookup;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let user = scim_user();
    let group = scim_group();

    if let Ok(path) = filter::parse_attr_path(raw) {
        let mut resources = vec![user.json.clone(), group.json.clone(), serde_json::json!({})];
        for descending in [false, true] {
            filter::sort(&mut resources, &path, descending);
            assert_eq!(resources.len(), 3);
        }
        let _ = filter::values(&user.json, &path);
    }

    let Ok(f) = filter::parse(raw) else {
        return;
    };
    let _ = filter::required_eq(&f);
    // `users::list_by` asks the store for `user_lookup`'s candidates only, then filters them.
    if let Ok(true) = filter::matches(&user.json, &f) {
        let lookup = filter::user_lookup(Some(&f));
        let found = match &lookup {
            None => false,
            Some(ScimLookup::All) => true,
            Some(ScimLookup::UserName(u)) => u.as_str() == user.username,
            Some(ScimLookup::Email(e)) => e.as_str() == user.email,
            Some(ScimLookup::ExternalId(x)) => x == user.external_id,
            Some(ScimLookup::DisplayName(n)) => n == user.display_name,
        };
        assert!(
            found,
            "{raw:?} matches the user, but the lookup {lookup:?} misses them"
        );
    }
    // `groups::list_by`: the same for groups.
    if let Ok(true) = filter::matches(&group.json, &f) {
        let lookup = filter::group_lookup(Some(&f));
        let found = match &lookup {
            ScimLookup::All => true,
            ScimLookup::ExternalId(x) => x == group.external_id,
            ScimLookup::DisplayName(n) => n == group.name,
            ScimLookup::UserName(_) | ScimLookup::Email(_) => false,
        };
        assert!(
            found,
            "{raw:?} matches the group, but the lookup {lookup:?} misses it"
        );
    }
});
