//! People and objects named on the pages: an explanation speaks of `course:<uuid>`, a person
//! reads "Rust for Platform Teams (course)". A person is named only to a viewer who sees them.

use registrar_domain::access::{Act, ObjectKind, ObjectRef};
use registrar_domain::ids::{GroupId, UserId};

use super::Viewer;
use crate::state::AppState;

/// What to call `r` on a page, or `None` when it has no name (or none this viewer may read).
pub async fn name_of(state: &AppState, viewer: &Viewer, r: ObjectRef) -> Option<String> {
    let tenant = viewer.member.tenant;
    let id = r.id.as_uuid();
    match r.kind {
        ObjectKind::User => {
            let user = UserId::from_uuid(id);
            if !state.allows(&viewer.member, &Act::ViewUser(user)) {
                return None;
            }
            let u = state.store.user(tenant, user).await.ok()?;
            Some(format!("{} ({})", u.display_name, u.username))
        }
        ObjectKind::Group => {
            let g = state
                .store
                .group(tenant, GroupId::from_uuid(id))
                .await
                .ok()?;
            Some(format!("{} (group)", g.name))
        }
        ObjectKind::Course => {
            let c = state.store.course(tenant, r.id).await.ok()?;
            Some(format!("{} (course)", c.title))
        }
        ObjectKind::Team => {
            let t = state.store.team(tenant, r.id).await.ok()?;
            Some(format!("{} (team)", t.name))
        }
        ObjectKind::Session | ObjectKind::Event => {
            let s = state.store.session(tenant, r.id).await.ok()?;
            Some(format!("{} ({})", s.title, r.kind))
        }
        ObjectKind::Lesson => {
            let course = state
                .access
                .read(tenant, |m| m.data().objects.get(&r).and_then(|o| o.parent))?;
            let lessons = state.store.materials(tenant, course.id).await.ok()?;
            let lesson = lessons.into_iter().find(|l| l.id == r.id)?;
            Some(format!("{} (lesson)", lesson.title))
        }
        ObjectKind::Catalogue => Some(catalogue_name(state, viewer, r).await),
        _ => None,
    }
}

/// A catalogue has no name of its own: it is called after the courses it offers that the
/// viewer sees (the first three, by title).
pub async fn catalogue_name(state: &AppState, viewer: &Viewer, r: ObjectRef) -> String {
    let courses: Vec<_> = state
        .store
        .deployed_to(viewer.member.tenant, r)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| state.allows(&viewer.member, &Act::View(c.object())))
        .collect();
    let titles: Vec<String> = courses
        .iter()
        .take(3)
        .map(|c| c.title.to_string())
        .collect();
    match courses.len() {
        0 => "a catalogue offering no course you see".to_owned(),
        1..=3 => format!("the catalogue offering {}", titles.join(", ")),
        n => format!(
            "the catalogue offering {} and {} more",
            titles.join(", "),
            n - 3
        ),
    }
}

/// `text` with every `kind:<uuid>` (and `user <uuid>`) in it replaced by the object's name,
/// where it has one the viewer may read.
pub async fn named(state: &AppState, viewer: &Viewer, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, r, len)) = next_ref(rest) {
        out.push_str(&rest[..start]);
        match name_of(state, viewer, r).await {
            Some(name) => out.push_str(&name),
            None => out.push_str(&rest[start..start + len]),
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// The first `kind:<uuid>` (or `user <uuid>`, as explanations name people) in `text`: where
/// it starts, what it names, and its length.
fn next_ref(text: &str) -> Option<(usize, ObjectRef, usize)> {
    let mut best: Option<(usize, ObjectRef, usize)> = None;
    let prefixes = ObjectKind::ALL
        .into_iter()
        .map(|k| (k, format!("{}:", k.code())))
        .chain([(ObjectKind::User, "user ".to_owned())]);
    for (kind, prefix) in prefixes {
        let mut from = 0;
        while let Some(at) = text[from..].find(&prefix) {
            let start = from + at;
            let end = start + prefix.len() + 36;
            let candidate = text
                .get(start + prefix.len()..end)
                .and_then(|id| uuid::Uuid::parse_str(id).ok())
                .map(|id| ObjectRef::new(kind, registrar_domain::access::ObjectId::from_uuid(id)));
            let boundary = start == 0 || !text[..start].ends_with(|c: char| c.is_alphanumeric());
            if let (Some(r), true) = (candidate, boundary) {
                if best.is_none_or(|(b, _, _)| start < b) {
                    best = Some((start, r, end - start));
                }
                break;
            }
            from = start + prefix.len();
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_reference_of_any_kind() {
        let text = "role x at group:0190c0de-0000-7000-8000-000000000001 (grant user:0190c0de-0000-7000-8000-000000000002)";
        let (start, r, len) = next_ref(text).unwrap();
        assert_eq!(
            &text[start..start + len],
            "group:0190c0de-0000-7000-8000-000000000001"
        );
        assert_eq!(r.kind, ObjectKind::Group);
        assert!(next_ref("no references here: course:nope").is_none());
        let (_, r, _) = next_ref("user 0190c0de-0000-7000-8000-000000000002 may not").unwrap();
        assert_eq!(r.kind, ObjectKind::User);
    }
}
