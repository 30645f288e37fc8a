//! Demo data for `serve --demo`: a small company with nested groups, line managers, labels, an
//! expired contractor and a deactivated leaver, so every feature has something to show.

use std::collections::{BTreeMap, HashMap};

use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Password, Username};
use registrar_domain::user::UserStatus;
use registrar_server::auth::hash_password;
use registrar_server::bootstrap::{AdminSpec, create_tenant, issue_token};
use registrar_store::{
    Actor, ManagerLink, ManagerSource, NewGroup, NewUser, Store, StoreError, TokenKind,
};
use time::macros::date;

pub const SLUG: &str = "demo";
pub const ADMIN: &str = "admin";
/// Printed on start; the demo is for trying things out, never for production data.
pub const ADMIN_PASSWORD: &str = "demo-admin-password";
pub const PEOPLE_PASSWORD: &str = "demo-learner-password";

/// (group, parent)
const GROUPS: &[(&str, Option<&str>)] = &[
    ("Northwind", None),
    ("Sales", Some("Northwind")),
    ("Sales North", Some("Sales")),
    ("Sales South", Some("Sales")),
    ("Engineering", Some("Northwind")),
    ("Platform", Some("Engineering")),
    ("Mobile", Some("Engineering")),
    ("People & HR", Some("Northwind")),
    ("Tutors", None),
    ("Contractors", None),
];

/// (username, display name, primary group, department label, manager)
const PEOPLE: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "grace.hopper",
        "Grace Hopper",
        "Northwind",
        "Executive",
        None,
    ),
    (
        "sam.sales",
        "Sam Okafor",
        "Sales",
        "Sales",
        Some("grace.hopper"),
    ),
    (
        "nina.north",
        "Nina Lindqvist",
        "Sales North",
        "Sales",
        Some("sam.sales"),
    ),
    (
        "olaf.north",
        "Olaf Berg",
        "Sales North",
        "Sales",
        Some("nina.north"),
    ),
    (
        "petra.north",
        "Petra Novak",
        "Sales North",
        "Sales",
        Some("nina.north"),
    ),
    (
        "sofia.south",
        "Sofia Reyes",
        "Sales South",
        "Sales",
        Some("sam.sales"),
    ),
    (
        "tomas.south",
        "Tomás García",
        "Sales South",
        "Sales",
        Some("sofia.south"),
    ),
    (
        "uma.south",
        "Uma Patel",
        "Sales South",
        "Sales",
        Some("sofia.south"),
    ),
    (
        "edsger.eng",
        "Edsger Wouters",
        "Engineering",
        "Engineering",
        Some("grace.hopper"),
    ),
    (
        "linus.platform",
        "Linus Mäkinen",
        "Platform",
        "Engineering",
        Some("edsger.eng"),
    ),
    (
        "margaret.platform",
        "Margaret Hamilton",
        "Platform",
        "Engineering",
        Some("linus.platform"),
    ),
    (
        "ken.platform",
        "Ken Tanaka",
        "Platform",
        "Engineering",
        Some("linus.platform"),
    ),
    (
        "ada.mobile",
        "Ada Byron",
        "Mobile",
        "Engineering",
        Some("edsger.eng"),
    ),
    (
        "barbara.mobile",
        "Barbara Liskov",
        "Mobile",
        "Engineering",
        Some("ada.mobile"),
    ),
    (
        "dennis.mobile",
        "Dennis Ritchie",
        "Mobile",
        "Engineering",
        Some("ada.mobile"),
    ),
    (
        "hana.hr",
        "Hana Kowalska",
        "People & HR",
        "HR",
        Some("grace.hopper"),
    ),
    (
        "ivan.hr",
        "Ivan Petrov",
        "People & HR",
        "HR",
        Some("hana.hr"),
    ),
    (
        "terry.tutor",
        "Terry Pratchett",
        "Tutors",
        "Training",
        Some("hana.hr"),
    ),
    (
        "tessa.tutor",
        "Tessa Moreau",
        "Tutors",
        "Training",
        Some("hana.hr"),
    ),
    (
        "carl.contractor",
        "Carl Jensen",
        "Contractors",
        "Engineering",
        Some("linus.platform"),
    ),
    (
        "cora.contractor",
        "Cora Dubois",
        "Contractors",
        "Sales",
        Some("sam.sales"),
    ),
    (
        "leo.leaver",
        "Leo Fischer",
        "Sales North",
        "Sales",
        Some("nina.north"),
    ),
];

/// What to tell the person who started the demo.
#[derive(Debug)]
pub struct Logins {
    tenant_name: String,
    preset: &'static str,
    api_token: String,
    operator_token: String,
}

/// Loads the demo tenant unless it is there already. Running it again resets the
/// administrator's password and mints fresh tokens, so the printed login always works.
pub async fn load(store: &dyn Store) -> anyhow::Result<Logins> {
    let slug = TenantSlug::parse(SLUG)?;
    let tenant = match store.tenant_by_slug(&slug).await {
        Ok(t) => {
            let admin = store
                .user_by_username(t.id, &Username::parse(ADMIN)?)
                .await?;
            let hash = hash_password(Password::parse(ADMIN_PASSWORD)?).await?;
            store
                .set_password_hash(&Actor::Cli, t.id, admin.id, hash)
                .await?;
            t
        }
        Err(StoreError::NotFound { .. }) => create(store).await?,
        Err(e) => return Err(e.into()),
    };
    let admin = store
        .user_by_username(tenant.id, &Username::parse(ADMIN)?)
        .await?;
    let (_, api_token) = issue_token(
        store,
        &Actor::Cli,
        Some((tenant.id, admin.id)),
        TokenKind::Api,
        "demo",
        None,
    )
    .await?;
    let (_, operator_token) = issue_token(
        store,
        &Actor::Cli,
        None,
        TokenKind::Operator,
        "demo operator",
        None,
    )
    .await?;
    Ok(Logins {
        tenant_name: tenant.name.to_string(),
        preset: tenant.preset.code(),
        api_token,
        operator_token,
    })
}

impl Logins {
    pub fn print(&self, url: &str) {
        let Logins {
            tenant_name,
            preset,
            api_token,
            operator_token,
        } = self;
        println!("Demo tenant {SLUG:?} ({tenant_name}, preset {preset})");
        println!("  administrator login: tenant={SLUG} username={ADMIN} password={ADMIN_PASSWORD}");
        println!("  any other demo person: username e.g. nina.north, password={PEOPLE_PASSWORD}");
        println!("  API token (acts as {ADMIN}): {api_token}");
        println!("  operator token (manages tenants): {operator_token}");
        println!("  try: curl -H 'Authorization: Bearer {api_token}' {url}/api/v1/users");
        println!("  API description: {url}/api/openapi.json");
    }
}

async fn create(store: &dyn Store) -> anyhow::Result<registrar_domain::tenant::Tenant> {
    let actor = Actor::Cli;
    let (tenant, _) = create_tenant(
        store,
        &actor,
        TenantSlug::parse(SLUG)?,
        Name::parse("name", "Northwind Learning")?,
        Preset::ClassicLms,
        Some(AdminSpec {
            username: Some(Username::parse(ADMIN)?),
            email: Some(Email::parse("admin@northwind.example")?),
            display_name: Name::parse("display name", "Ada Admin")?,
            password: Password::parse(ADMIN_PASSWORD)?,
        }),
    )
    .await?;
    let t = tenant.id;

    let mut groups: HashMap<&str, GroupId> = HashMap::new();
    for (name, parent) in GROUPS {
        let g = store
            .create_group(
                &actor,
                t,
                NewGroup {
                    name: Name::parse("name", name)?,
                    description: format!("{name} (demo)"),
                    parent: parent.and_then(|p| groups.get(p).copied()),
                },
            )
            .await?;
        groups.insert(name, g.id);
    }

    // One hash for all demo people: argon2id is slow by design.
    let hash = hash_password(Password::parse(PEOPLE_PASSWORD)?).await?;
    let mut people: HashMap<&str, UserId> = HashMap::new();
    for (i, (username, display, group, department, _)) in PEOPLE.iter().enumerate() {
        let mut labels = BTreeMap::new();
        labels.insert("department".to_owned(), (*department).to_owned());
        labels.insert(
            "location".to_owned(),
            ["Oslo", "Madrid", "Remote"][i % 3].to_owned(),
        );
        labels.insert("employee_id".to_owned(), format!("NW-{:04}", 1000 + i));
        let contractor = *group == "Contractors";
        let user = store
            .create_user(
                &actor,
                t,
                NewUser {
                    username: Username::parse(username)?,
                    email: Some(Email::parse(&format!("{username}@northwind.example"))?),
                    display_name: Name::parse("display name", display)?,
                    labels: Labels::parse(labels)?,
                    status: if *username == "leo.leaver" {
                        UserStatus::Deactivated
                    } else {
                        UserStatus::Activated
                    },
                    // One contractor's contract has run out, the other's has not.
                    expires_on: match *username {
                        "carl.contractor" => Some(date!(2025 - 06 - 30)),
                        _ if contractor => Some(date!(2030 - 12 - 31)),
                        _ => None,
                    },
                    primary_group: groups.get(group).copied(),
                    superadmin: false,
                    password_hash: Some(hash.clone()),
                },
            )
            .await?;
        if let Some(g) = groups.get(group) {
            store.add_member(&actor, t, *g, user.id).await?;
        }
        people.insert(username, user.id);
    }
    // Tutors also belong to the department they teach for.
    for (tutor, group) in [("terry.tutor", "Sales"), ("tessa.tutor", "Engineering")] {
        store
            .add_member(&actor, t, groups[group], people[tutor])
            .await?;
    }
    for (username, _, _, _, manager) in PEOPLE {
        if let Some(manager) = manager {
            let link = ManagerLink {
                manager: people[manager],
                managee: people[username],
                source: if username.ends_with("contractor") {
                    ManagerSource::Explicit
                } else {
                    ManagerSource::Feed
                },
            };
            store.add_manager(&actor, t, link).await?;
        }
    }
    Ok(tenant)
}
