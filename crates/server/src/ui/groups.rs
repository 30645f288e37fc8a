//! Groups and teams. Groups: their nesting and members, adding and taking out members where
//! the engine allows it (joining a group that carries roles is a grant, checked as one).
//! Teams: learner managers create them, fill, rename and delete their own, read the others;
//! every form goes through the JSON API's functions and the engine's acts.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use registrar_domain::access::{Act, ObjectKind, ObjectRef};
use registrar_domain::ids::GroupId;
use registrar_domain::text::Name;
use serde::Deserialize;

use super::{Frame, Page, PageResult, Viewer, fail};
use crate::routes::courses::path_object;
use crate::routes::{path_id, visible_page};
use crate::state::{AppState, today};

pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub parent: String,
    pub public: bool,
}

pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub username: String,
}

impl From<registrar_domain::user::User> for MemberRow {
    fn from(u: registrar_domain::user::User) -> Self {
        MemberRow {
            id: u.id.to_string(),
            name: u.display_name.to_string(),
            username: u.username.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    frame: Frame,
    groups: Vec<GroupRow>,
    teams: Vec<GroupRow>,
    may_create_team: bool,
    may_create_group: bool,
    /// Groups a new group may go in: those the viewer may create groups inside.
    parents: Vec<(String, String)>,
}

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    render_list(&state, &viewer, None).await
}

async fn render_list(state: &AppState, viewer: &Viewer, problem: Option<String>) -> PageResult {
    let member = &viewer.member;
    let tenant = member.tenant;
    let first = registrar_store::PageRequest::first(500);
    let all = state
        .store
        .list_groups(tenant, &first)
        .await
        .map_err(fail)?
        .items;
    let name_of = |id: GroupId| {
        all.iter()
            .find(|g| g.id == id)
            .map(|g| g.name.to_string())
            .unwrap_or_default()
    };
    let mut groups: Vec<GroupRow> = all
        .iter()
        .filter(|g| state.allows(member, &Act::ViewGroup(g.id)))
        .map(|g| GroupRow {
            id: g.id.to_string(),
            name: g.name.to_string(),
            parent: g.parent.map(name_of).unwrap_or_default(),
            public: g.public,
        })
        .collect();
    groups.sort_by(|a, b| (&a.parent, &a.name).cmp(&(&b.parent, &b.name)));
    let store = &state.store;
    let teams = visible_page(
        first.clone(),
        |r| async move { store.list_teams(tenant, &r).await },
        |t| state.allows(member, &Act::View(t.object())),
        |t| t.id.to_string(),
    )
    .await
    .map_err(fail)?
    .items
    .into_iter()
    .map(|t| GroupRow {
        id: t.id.to_string(),
        name: t.name.to_string(),
        parent: format!("{} members", t.members),
        public: false,
    })
    .collect();
    let may_create_team = state.allows(
        member,
        &Act::Create {
            kind: ObjectKind::Team,
            place: ObjectRef::tenant(tenant),
        },
    );
    let parents: Vec<(String, String)> = all
        .iter()
        .filter(|g| state.allows(member, &Act::CreateGroup { parent: Some(g.id) }))
        .map(|g| (g.id.to_string(), g.name.to_string()))
        .collect();
    let may_create_group = state.allows(member, &Act::CreateGroup { parent: None });
    let mut frame = viewer.frame(state, "Groups and teams", "/groups");
    frame.problem = problem;
    Ok(Page::render(&GroupsPage {
        frame,
        groups,
        teams,
        may_create_team,
        may_create_group: may_create_group || !parents.is_empty(),
        parents,
    }))
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    frame: Frame,
    /// `groups` or `teams`: where the forms post.
    base: &'static str,
    id: String,
    about: Vec<(String, String)>,
    members: Vec<MemberRow>,
    /// A group with more direct members than the page shows: the people list has them all.
    more_members: bool,
    may_manage: bool,
    may_edit: bool,
    may_delete: bool,
    /// A group's edit form (name, public): whoever edits the group.
    group_edit: Option<(String, bool)>,
    /// Where the group may be moved (value, name, whether it is there now): its place now, and
    /// the top of the tenant and the groups the engine lets the viewer move it to. Empty for a
    /// team, or for a viewer who may not edit the group.
    places: Vec<(String, String, bool)>,
    /// A group's people who look after it, among those the viewer sees.
    administrators: Vec<MemberRow>,
    managers: Vec<MemberRow>,
}

/// The most direct members a group's page lists (by username); the people list, filtered by
/// the group, pages through all of them.
const MEMBERS_SHOWN: u32 = 100;

/// The `parent` a group's form sends for the top of the tenant.
const TOP: &str = "top";

pub async fn group(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(GroupId::parse, &id).map_err(fail)?;
    render_group(&state, &viewer, id, None, None).await
}

async fn render_group(
    state: &AppState,
    viewer: &Viewer,
    id: GroupId,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let member = &viewer.member;
    state
        .authorize(member, Act::ViewGroup(id))
        .await
        .map_err(fail)?;
    let g = state.store.group(member.tenant, id).await.map_err(fail)?;
    let tenant = member.tenant;
    let store = &state.store;
    let first = visible_page(
        registrar_store::PageRequest::first(MEMBERS_SHOWN),
        |r| async move { store.group_members(tenant, id, &r).await },
        |u| state.sees(member, u.id),
        |u| u.username.to_string(),
    )
    .await
    .map_err(fail)?;
    let more_members = first.next.is_some();
    let members = first.items.into_iter().map(MemberRow::from).collect();
    let mut about = vec![(
        "Confidentiality".to_owned(),
        if g.public {
            "public".to_owned()
        } else {
            "private".to_owned()
        },
    )];
    if !g.description.is_empty() {
        about.push(("Description".to_owned(), g.description.clone()));
    }
    if let Some(p) = g.parent
        && let Ok(parent) = state.store.group(tenant, p).await
    {
        about.push(("Inside".to_owned(), parent.name.to_string()));
    }
    let stewards = state
        .access
        .read(tenant, |m| m.group_stewards(id, today()))
        .map_err(fail)?;
    let administrators = seen_people(state, viewer, &stewards.administrators).await?;
    let managers = seen_people(state, viewer, &stewards.managers).await?;
    let group_edit = state
        .allows(member, &Act::EditGroup(id))
        .then(|| (g.name.to_string(), g.public));
    let places = if group_edit.is_some() {
        places_for(state, viewer, &g).await?
    } else {
        Vec::new()
    };
    let mut frame = viewer.frame(state, g.name.to_string(), "/groups");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&GroupPage {
        frame,
        base: "groups",
        id: id.to_string(),
        about,
        members,
        may_manage: state.allows(member, &Act::ManageMembers(id)),
        more_members,
        may_edit: false,
        may_delete: false,
        group_edit,
        places,
        administrators,
        managers,
    }))
}

/// The people among `ids` the viewer sees, as rows.
async fn seen_people(
    state: &AppState,
    viewer: &Viewer,
    ids: &[registrar_domain::ids::UserId],
) -> Result<Vec<MemberRow>, super::Refusal> {
    let mut rows = Vec::new();
    for id in ids {
        if state.sees(&viewer.member, *id) {
            rows.push(MemberRow::from(
                state
                    .store
                    .user(viewer.member.tenant, *id)
                    .await
                    .map_err(fail)?,
            ));
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// Where the viewer may move `g` (the engine's `Act::MoveGroup`), and its place now: the top of
/// the tenant and every group that is not `g` or inside it.
async fn places_for(
    state: &AppState,
    viewer: &Viewer,
    g: &registrar_domain::group::Group,
) -> Result<Vec<(String, String, bool)>, super::Refusal> {
    let all = state
        .store
        .list_groups(
            viewer.member.tenant,
            &registrar_store::PageRequest::first(500),
        )
        .await
        .map_err(fail)?
        .items;
    let parents: std::collections::HashMap<GroupId, GroupId> = all
        .iter()
        .filter_map(|x| x.parent.map(|p| (x.id, p)))
        .collect();
    let may = |to| state.allows(&viewer.member, &Act::MoveGroup { group: g.id, to });
    let mut places = Vec::new();
    if g.parent.is_none() || may(None) {
        places.push((
            TOP.to_owned(),
            "(the top of the tenant)".to_owned(),
            g.parent.is_none(),
        ));
    }
    let mut groups = Vec::new();
    for other in &all {
        let here = g.parent == Some(other.id);
        let fits =
            !registrar_domain::group::would_cycle(g.id, other.id, |x| parents.get(&x).copied());
        if here || (fits && may(Some(other.id))) {
            groups.push((other.id.to_string(), other.name.to_string(), here));
        }
    }
    groups.sort_by(|a, b| a.1.cmp(&b.1));
    places.extend(groups);
    Ok(places)
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    csrf: String,
    /// A username or id (to add), or an id (to take out).
    user: String,
    #[serde(default)]
    remove: bool,
}

pub async fn group_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let group = path_id(GroupId::parse, &id).map_err(fail)?;
    let member = &viewer.member;
    // The form names a person by username or id; the API's handlers, which take an id, decide
    // and write, and the answer about someone hidden is the answer about nobody.
    let outcome = async {
        let person = crate::routes::person(&state, member, form.user.trim()).await?;
        let path = Path((id.clone(), person.id.to_string()));
        let done = if form.remove {
            crate::routes::groups::remove_member(State(state.clone()), member.clone(), path).await
        } else {
            crate::routes::groups::add_member(State(state.clone()), member.clone(), path).await
        };
        person.conceal(member, done.map(drop))
    }
    .await;
    match outcome {
        Ok(()) => {
            let done = membership_notice(form.remove, "group");
            render_group(&state, &viewer, group, Some(done), None).await
        }
        Err(e) => render_group(&state, &viewer, group, None, Some(e.to_string())).await,
    }
}

/// What the page says after a member was added or taken out.
fn membership_notice(removed: bool, of: &str) -> String {
    if removed {
        format!("Taken out of the {of}.")
    } else {
        format!("Added to the {of}.")
    }
}

pub async fn team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_object(&id).map_err(fail)?;
    render_team(&state, &viewer, id, None, None).await
}

fn team_ref(id: registrar_domain::access::ObjectId) -> ObjectRef {
    ObjectRef::new(ObjectKind::Team, id)
}

async fn render_team(
    state: &AppState,
    viewer: &Viewer,
    id: registrar_domain::access::ObjectId,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let member = &viewer.member;
    let team = team_ref(id);
    state
        .authorize(member, Act::View(team))
        .await
        .map_err(fail)?;
    let t = state.store.team(member.tenant, id).await.map_err(fail)?;
    let tenant = member.tenant;
    let store = &state.store;
    let members = visible_page(
        registrar_store::PageRequest::first(500),
        |r| async move { store.team_members(tenant, id, &r).await },
        |u| state.sees(member, u.id),
        |u| u.username.to_string(),
    )
    .await
    .map_err(fail)?
    .items
    .into_iter()
    .map(MemberRow::from)
    .collect();
    let mut about = vec![("Members".to_owned(), t.members.to_string())];
    if let Some(creator) = t.created_by
        && state.sees(member, creator)
        && let Ok(u) = state.store.user(tenant, creator).await
    {
        about.push(("Made by".to_owned(), u.display_name.to_string()));
    }
    // Filling the team is asked about the viewer themselves, whom they always see: what is
    // left is whether they may fill this team.
    let may_manage = state.allows(
        member,
        &Act::ManageTeamMember {
            team,
            person: member.user.id,
        },
    );
    let mut frame = viewer.frame(state, t.name.to_string(), "/groups");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&GroupPage {
        frame,
        base: "teams",
        id: id.to_string(),
        about,
        members,
        may_manage,
        more_members: false,
        may_edit: state.allows(member, &Act::Edit(team)),
        may_delete: state.allows(member, &Act::Delete(team)),
        group_edit: None,
        places: Vec::new(),
        administrators: Vec::new(),
        managers: Vec::new(),
    }))
}

pub async fn team_member(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let team = path_object(&id).map_err(fail)?;
    // The API's handlers, which take a username or an id as the form does.
    let path = Path((id, form.user.trim().to_owned()));
    let (at, member) = (State(state.clone()), viewer.member.clone());
    let done = if form.remove {
        crate::routes::teams::remove_member(at, member, path).await
    } else {
        crate::routes::teams::add_member(at, member, path).await
    };
    match done {
        Ok(_) => {
            let done = membership_notice(form.remove, "team");
            render_team(&state, &viewer, team, Some(done), None).await
        }
        Err(e) => render_team(&state, &viewer, team, None, Some(e.to_string())).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct TeamForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    delete: bool,
}

/// Creates a team (its creator edits it) and opens it.
pub async fn create_team(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<TeamForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let member = &viewer.member;
    let outcome = async {
        let name = Name::parse("name", &form.name)?;
        let by = state
            .authorize(
                member,
                Act::Create {
                    kind: ObjectKind::Team,
                    place: ObjectRef::tenant(member.tenant),
                },
            )
            .await?;
        Ok::<_, crate::error::ApiError>(
            state
                .store
                .create_team(&by.into(), member.tenant, name, Some(member.user.id))
                .await?,
        )
    }
    .await;
    match outcome {
        Ok(t) => Ok(Redirect::to(&format!("/teams/{}", t.id)).into_response()),
        Err(e) => render_list(&state, &viewer, Some(e.to_string())).await,
    }
}

/// Renames or deletes a team: its creator's (or whoever edits every team).
pub async fn edit_team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<TeamForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let id = path_object(&id).map_err(fail)?;
    let member = &viewer.member;
    if form.delete {
        let done = async {
            let by = state.authorize(member, Act::Delete(team_ref(id))).await?;
            state
                .store
                .delete_team(&by.into(), member.tenant, id)
                .await?;
            Ok::<_, crate::error::ApiError>(())
        }
        .await;
        return match done {
            Ok(()) => Ok(Redirect::to("/groups").into_response()),
            Err(e) => render_team(&state, &viewer, id, None, Some(e.to_string())).await,
        };
    }
    let done = async {
        let name = Name::parse("name", &form.name)?;
        let by = state.authorize(member, Act::Edit(team_ref(id))).await?;
        state
            .store
            .rename_team(&by.into(), member.tenant, id, name)
            .await?;
        Ok::<_, crate::error::ApiError>(())
    }
    .await;
    match done {
        Ok(()) => render_team(&state, &viewer, id, Some("Renamed.".into()), None).await,
        Err(e) => render_team(&state, &viewer, id, None, Some(e.to_string())).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct GroupForm {
    csrf: String,
    name: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    public: Option<String>,
}

/// Creates a group (inside another, or at the top): `POST /api/v1/groups` itself.
pub async fn create_group(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<GroupForm>,
) -> PageResult {
    viewer.verify(&f.csrf)?;
    let body = crate::routes::groups::NewGroupIn {
        name: f.name.clone(),
        description: String::new(),
        parent: (!f.parent.is_empty()).then(|| f.parent.clone()),
        public: f.public.is_some(),
    };
    let made = crate::routes::groups::create(
        axum::extract::State(state.clone()),
        viewer.member.clone(),
        crate::extract::Json(body),
    )
    .await;
    match made {
        Ok((_, crate::extract::Json(g))) => {
            Ok(Redirect::to(&format!("/groups/{}", g.id)).into_response())
        }
        Err(e) => render_list(&state, &viewer, Some(e.to_string())).await,
    }
}

/// Renames a group or changes its confidentiality: `PATCH /api/v1/groups/{id}` itself.
pub async fn edit_group(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<GroupForm>,
) -> PageResult {
    viewer.verify(&f.csrf)?;
    let group = path_id(GroupId::parse, &id).map_err(fail)?;
    // The place is sent only when it changes: staying where it is is no move, and hands the
    // members nothing new to check.
    let now = state
        .access
        .read(viewer.member.tenant, |m| {
            m.data().groups.get(&group).map(|g| g.parent)
        })
        .flatten()
        .map_or_else(|| TOP.to_owned(), |p| p.to_string());
    let parent = match f.parent.trim() {
        "" => None,
        place if place == now => None,
        TOP => Some(None),
        place => Some(Some(place.to_owned())),
    };
    let body = crate::routes::groups::GroupPatchIn {
        name: Some(f.name.clone()),
        description: None,
        parent,
        public: Some(f.public.is_some()),
    };
    let done = crate::routes::groups::update(
        axum::extract::State(state.clone()),
        viewer.member.clone(),
        Path(id),
        crate::extract::Json(body),
    )
    .await;
    match done {
        Ok(_) => render_group(&state, &viewer, group, Some("Saved.".into()), None).await,
        Err(e) => render_group(&state, &viewer, group, None, Some(e.to_string())).await,
    }
}
