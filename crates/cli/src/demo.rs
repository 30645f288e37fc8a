//! Demo data for `serve --demo`: one tenant per preset, with people in every role and
//! responsibility, nested groups, line managers, labels, learning objects, enrollments, an
//! expired contractor and a deactivated leaver, so that every feature has something to show.
//! Everything goes through the same engine validation as the API, granted by each tenant's
//! superadmin.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use registrar_domain::access::{
    Act, Change, EnrollmentStatus, Feature, LearningObject, ObjectId, ObjectKind, ObjectRef,
    Principal, Scope,
};
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::lifecycle::{
    Activity, AppAccess, CourseType, EnrollmentPolicy, InvitationTemplate,
};
use registrar_domain::session::SessionKind;
use registrar_domain::tenant::{LegalRepresentative, Preset, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Password, Username};
use registrar_domain::user::UserStatus;
use registrar_server::auth::hash_password;
use registrar_server::bootstrap::{AdminSpec, create_tenant, issue_token};
use registrar_server::ops;
use registrar_server::readmodel::ReadModel;
use registrar_server::state::today;
use registrar_store::{
    Actor, AppAccessGrant, GroupPatch, Invitation, LeaverPolicy, ManagerLink, ManagerSource,
    NewCourse, NewGroup, NewMail, NewSession, NewUser, PageRequest, Store, StoreError,
    TenantSettings, TokenKind,
};
use time::macros::date;

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
    // Sorted by name among the E's, not after the Z's: names sort without case or accents.
    (
        "emile.north",
        "Émile Durand",
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

/// Builds one demo tenant: people and groups through the store, access through the engine.
struct Builder<'a> {
    store: &'a Arc<dyn Store>,
    access: &'a ReadModel,
    tenant: TenantId,
    admin: UserId,
    hash: String,
    groups: HashMap<&'static str, GroupId>,
    people: HashMap<&'static str, UserId>,
    /// (reference, what it is) for the printout.
    objects: Vec<(ObjectRef, &'static str)>,
}

impl<'a> Builder<'a> {
    /// The engine's proof that `user` may do `act` now, as the one they act as: the demo acts
    /// as its people only where the rules let them.
    async fn allowed(&self, user: UserId, act: Act) -> anyhow::Result<Actor> {
        self.access.sync().await?;
        let decision = self
            .access
            .read(self.tenant, |m| m.decide(user, &act, today()))?;
        decision
            .authorized()
            .map(Actor::from)
            .ok_or_else(|| anyhow::anyhow!("demo: {act:?} refused: {}", decision.explanation()))
    }

    async fn new(
        store: &'a Arc<dyn Store>,
        access: &'a ReadModel,
        slug: &str,
        name: &str,
        preset: Preset,
        hash: String,
    ) -> anyhow::Result<Self> {
        let (tenant, admin) = create_tenant(
            store.as_ref(),
            &Actor::cli(),
            TenantSlug::parse(slug)?,
            Name::parse("name", name)?,
            preset,
            Some(AdminSpec {
                username: Some(Username::parse(ADMIN)?),
                email: Some(Email::parse(&format!("admin@{slug}.example"))?),
                display_name: Name::parse("display name", "Demo Admin")?,
                password: Password::parse(ADMIN_PASSWORD)?,
            }),
        )
        .await?;
        let admin = admin.ok_or_else(|| anyhow::anyhow!("the demo administrator was not made"))?;
        // Groups a preset brings (the learner-management group) are addressable by name.
        let mut groups = HashMap::new();
        for g in store
            .list_groups(tenant.id, &PageRequest::first(100))
            .await?
            .items
        {
            if g.name.as_str() == "Learner management" {
                groups.insert("Learner management", g.id);
            }
        }
        Ok(Self {
            store,
            access,
            tenant: tenant.id,
            admin: admin.id,
            hash,
            groups,
            people: HashMap::new(),
            objects: Vec::new(),
        })
    }

    async fn group(&mut self, name: &'static str, parent: Option<&str>) -> anyhow::Result<GroupId> {
        let g = self
            .store
            .create_group(
                &Actor::cli(),
                self.tenant,
                NewGroup {
                    name: Name::parse("name", name)?,
                    description: format!("{name} (demo)"),
                    parent: parent.and_then(|p| self.groups.get(p).copied()),
                    public: false,
                },
            )
            .await?;
        self.groups.insert(name, g.id);
        Ok(g.id)
    }

    async fn person(
        &mut self,
        username: &'static str,
        display: &str,
        group: Option<&str>,
        labels: BTreeMap<String, String>,
        status: UserStatus,
        expires_on: Option<time::Date>,
    ) -> anyhow::Result<UserId> {
        let primary = group.and_then(|g| self.groups.get(g).copied());
        let user = self
            .store
            .create_user(
                &Actor::cli(),
                self.tenant,
                NewUser {
                    username: Username::parse(username)?,
                    email: Some(Email::parse(&format!("{username}@example.com"))?),
                    display_name: Name::parse("display name", display)?,
                    labels: Labels::parse(labels)?,
                    status,
                    expires_on,
                    primary_group: primary,
                    also_joins: Vec::new(),
                    superadmin: false,
                    password_hash: Some(self.hash.clone()),
                },
            )
            .await?;
        if let Some(g) = primary {
            self.store
                .add_member(&Actor::cli(), self.tenant, g, user.id)
                .await?;
        }
        self.people.insert(username, user.id);
        Ok(user.id)
    }

    async fn simple(
        &mut self,
        username: &'static str,
        display: &str,
        group: Option<&str>,
    ) -> anyhow::Result<UserId> {
        self.person(
            username,
            display,
            group,
            BTreeMap::new(),
            UserStatus::Activated,
            None,
        )
        .await
    }

    async fn member(&self, username: &str, group: &str) -> anyhow::Result<()> {
        self.store
            .add_member(
                &Actor::cli(),
                self.tenant,
                self.groups[group],
                self.people[username],
            )
            .await?;
        Ok(())
    }

    async fn manages(
        &self,
        manager: &str,
        managee: &str,
        source: ManagerSource,
    ) -> anyhow::Result<()> {
        let link = ManagerLink {
            manager: self.people[manager],
            managee: self.people[managee],
            source,
        };
        self.store
            .add_manager(&Actor::cli(), self.tenant, link)
            .await?;
        Ok(())
    }

    async fn grant(&self, username: &str, role: &str, scope: Scope) -> anyhow::Result<()> {
        let user = if username == ADMIN {
            self.admin
        } else {
            self.people[username]
        };
        ops::grant(
            self.access,
            self.tenant,
            self.admin,
            Principal::User(user),
            role,
            scope,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo grant of {role} to {username}: {e}"))?;
        Ok(())
    }

    async fn object(
        &mut self,
        kind: ObjectKind,
        about: &'static str,
        parent: Option<ObjectRef>,
        published: bool,
        instructor_led: bool,
        created_by: Option<&str>,
    ) -> anyhow::Result<ObjectRef> {
        let object = ObjectRef::new(kind, ObjectId::from_uuid(uuid_now()));
        let value = LearningObject {
            object,
            parent,
            created_by: Some(created_by.map_or(self.admin, |u| self.people[u])),
            published,
            instructor_led,
        };
        ops::record(
            self.access,
            self.tenant,
            &Actor::cli(),
            "object.created",
            "object",
            object.to_string(),
            Change::UpsertObject(value),
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo object {about}: {e}"))?;
        self.objects.push((object, about));
        Ok(object)
    }

    /// A store course (listed, enrollable) that the engine also knows as a learning object.
    // One call per course reads best in demo data, so its settings stay positional.
    #[allow(clippy::too_many_arguments)]
    async fn course(
        &mut self,
        about: &'static str,
        title: &str,
        group: Option<&str>,
        course_type: CourseType,
        published: bool,
        capacity: Option<u32>,
        created_by: Option<&str>,
    ) -> anyhow::Result<ObjectRef> {
        let creator = created_by.map_or(self.admin, |u| self.people[u]);
        // What the engine gives whoever creates a course (its author, in the group-roles preset).
        self.access.sync().await?;
        let creator_roles = self.access.read(self.tenant, |m| {
            m.creator_roles(creator, ObjectKind::Course)
        });
        let course = self
            .store
            .create_course(
                &Actor::cli(),
                self.tenant,
                NewCourse {
                    title: Name::parse("title", title)?,
                    course_type,
                    published,
                    capacity,
                    policy: EnrollmentPolicy::Open,
                    group: group.map(|g| self.groups[g]),
                    created_by: Some(creator),
                    creator_roles,
                },
            )
            .await?;
        self.objects.push((course.object(), about));
        Ok(course.object())
    }

    async fn material(
        &mut self,
        about: &'static str,
        course: ObjectRef,
        title: &str,
    ) -> anyhow::Result<ObjectId> {
        let m = self
            .store
            .add_material(
                &Actor::cli(),
                self.tenant,
                course.id,
                Name::parse("title", title)?,
            )
            .await?;
        self.objects.push((m.learning_object().object, about));
        Ok(m.id)
    }

    /// Enrolls through the store (policy and capacity apply), then sets the status by hand
    /// when the demo wants another one.
    async fn enroll(
        &self,
        username: &str,
        course: ObjectRef,
        status: EnrollmentStatus,
    ) -> anyhow::Result<()> {
        let user = self.people[username];
        let e = self
            .store
            .enroll(&Actor::cli(), self.tenant, course.id, user)
            .await?;
        if e.status != status {
            self.store
                .set_enrollment_status(&Actor::cli(), self.tenant, course.id, user, status)
                .await
                .map_err(|err| anyhow::anyhow!("demo enrollment of {username}: {err}"))?;
        }
        Ok(())
    }

    /// Switches a learner's app access on and queues their invitation, as the API does with the
    /// automation on.
    async fn app_access(&self, username: &str) -> anyhow::Result<()> {
        let user = self.store.user(self.tenant, self.people[username]).await?;
        let template = self
            .store
            .tenant_settings(self.tenant)
            .await?
            .invitation
            .ok_or_else(|| anyhow::anyhow!("the demo template is missing"))?;
        let tenant = self.store.tenant(self.tenant).await?;
        let (subject, body) = template.render(
            user.display_name.as_str(),
            user.username.as_str(),
            PEOPLE_PASSWORD,
            tenant.name.as_str(),
        );
        let email = user
            .email
            .clone()
            .ok_or_else(|| anyhow::anyhow!("demo learner {username} has no email"))?;
        self.store
            .enable_app_access(
                &Actor::cli(),
                self.tenant,
                vec![AppAccessGrant {
                    user: user.id,
                    access: AppAccess {
                        until: Some(date!(2030 - 12 - 31)),
                        elearning: true,
                    },
                    invitation: Some(Invitation {
                        password_hash: self.hash.clone(),
                        mail: NewMail {
                            recipient: email,
                            subject,
                            body,
                        },
                    }),
                }],
            )
            .await?;
        Ok(())
    }

    async fn activity(
        &self,
        username: &str,
        course: ObjectRef,
        activity: Activity,
        material: Option<ObjectId>,
    ) -> anyhow::Result<()> {
        let user = self.people[username];
        let by = self
            .allowed(
                user,
                Act::RecordActivity {
                    course,
                    learner: user,
                },
            )
            .await?;
        self.store
            .record_activity(&by, self.tenant, course.id, user, activity, material)
            .await?;
        Ok(())
    }

    async fn plan(
        &mut self,
        about: &'static str,
        title: &str,
        courses: &[ObjectRef],
    ) -> anyhow::Result<()> {
        let plan = self
            .store
            .create_plan(
                &Actor::cli(),
                self.tenant,
                Name::parse("title", title)?,
                courses.iter().map(|c| c.id).collect(),
            )
            .await?;
        self.objects.push((plan.learning_object().object, about));
        Ok(())
    }

    /// A session or event in the store, from 9 to 17 o'clock (UTC) on `day`.
    #[allow(clippy::too_many_arguments)]
    async fn session(
        &mut self,
        about: &'static str,
        course: ObjectRef,
        kind: SessionKind,
        title: &str,
        (day, from, to): (time::Date, u8, u8),
        capacity: Option<u32>,
        approval_required: bool,
    ) -> anyhow::Result<ObjectRef> {
        let at = |hour| -> anyhow::Result<time::OffsetDateTime> {
            Ok(day.with_hms(hour, 0, 0)?.assume_utc())
        };
        let session = self
            .store
            .create_session(
                &Actor::cli(),
                self.tenant,
                NewSession {
                    course: course.id,
                    kind,
                    title: Name::parse("title", title)?,
                    starts_at: at(from)?,
                    ends_at: at(to)?,
                    capacity,
                    approval_required,
                },
            )
            .await?;
        self.objects.push((session.object(), about));
        Ok(session.object())
    }

    /// Books as the API does: the session's responsible approvers are told of a booking that
    /// awaits approval (the mails wait in the outbox for the sender).
    async fn book(&self, username: &str, session: ObjectRef) -> anyhow::Result<()> {
        let learner = self.people[username];
        let s = self.store.session(self.tenant, session.id).await?;
        self.access.sync().await?;
        let notify = registrar_server::routes::sessions::approval_notices(
            self.store.as_ref(),
            self.access,
            self.tenant,
            &s,
            learner,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo booking of {username}: {e}"))?;
        self.store
            .book(&Actor::cli(), self.tenant, session.id, learner, notify)
            .await
            .map_err(|e| anyhow::anyhow!("demo booking of {username}: {e}"))?;
        Ok(())
    }

    /// Deploys a course to a group or a catalogue, as the administrator.
    async fn deploy(&self, course: ObjectRef, to: ObjectRef) -> anyhow::Result<()> {
        let by = self.allowed(self.admin, Act::Deploy { course, to }).await?;
        self.store.deploy(&by, self.tenant, course.id, to).await?;
        Ok(())
    }

    async fn feature(&self, feature: Feature) -> anyhow::Result<()> {
        ops::record(
            self.access,
            self.tenant,
            &Actor::cli(),
            "feature.set",
            "tenant",
            self.tenant.to_string(),
            Change::SetFeature { feature, on: true },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo feature: {e}"))?;
        Ok(())
    }

    fn group_scope(&self, name: &str) -> Scope {
        Scope::Object(ObjectRef::group(self.groups[name]))
    }
}

fn uuid_now() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// What one demo tenant shows, for the printout.
#[derive(Debug)]
struct Shown {
    slug: &'static str,
    name: &'static str,
    preset: Preset,
    people: Vec<(&'static str, &'static str)>,
    objects: Vec<(ObjectRef, &'static str)>,
}

/// What to tell the person who started the demo.
#[derive(Debug)]
pub struct Logins {
    tenants: Vec<Shown>,
    api_token: String,
    operator_token: String,
    scim_token: String,
}

/// Loads the demo tenants unless they are there already. Running it again resets the
/// administrators' passwords and mints fresh tokens, so the printed logins always work.
pub async fn load(store: &Arc<dyn Store>) -> anyhow::Result<Logins> {
    let access = ReadModel::load(store.clone()).await?;
    let hash = hash_password(Password::parse(PEOPLE_PASSWORD)?).await?;
    let admin_hash = hash_password(Password::parse(ADMIN_PASSWORD)?).await?;
    let builders: [(&str, Preset); 4] = [
        ("demo", Preset::ClassicLms),
        ("levels-demo", Preset::Levels),
        ("mgmt-demo", Preset::ManagementGroups),
        ("groups-demo", Preset::GroupRoles),
    ];
    let mut tenants = vec![];
    for (slug, preset) in builders {
        let shown = match store.tenant_by_slug(&TenantSlug::parse(slug)?).await {
            Ok(t) => {
                let admin = store
                    .user_by_username(t.id, &Username::parse(ADMIN)?)
                    .await?;
                store
                    .set_password_hash(&Actor::cli(), t.id, admin.id, admin_hash.clone())
                    .await?;
                describe(slug, preset, vec![])
            }
            Err(StoreError::NotFound { .. }) => match preset {
                Preset::ClassicLms => classic(store, &access, hash.clone()).await?,
                Preset::Levels => levels(store, &access, hash.clone()).await?,
                Preset::ManagementGroups => management(store, &access, hash.clone()).await?,
                Preset::GroupRoles => group_roles(store, &access, hash.clone()).await?,
            },
            Err(e) => return Err(e.into()),
        };
        tenants.push(shown);
    }
    let main = store.tenant_by_slug(&TenantSlug::parse("demo")?).await?;
    let admin = store
        .user_by_username(main.id, &Username::parse(ADMIN)?)
        .await?;
    let (_, api_token) = issue_token(
        store.as_ref(),
        &Actor::cli(),
        Some((main.id, admin.id)),
        TokenKind::Api,
        "demo",
        None,
    )
    .await?;
    // The people-data feed: its own token (revocable on its own), and a leaver policy so that a
    // feed deactivation shows what it does.
    let (_, scim_token) = issue_token(
        store.as_ref(),
        &Actor::cli(),
        Some((main.id, admin.id)),
        TokenKind::Api,
        "scim-feed",
        None,
    )
    .await?;
    store
        .set_leaver_policy(&Actor::cli(), main.id, LeaverPolicy::SuspendEnrollments)
        .await?;
    let (_, operator_token) = issue_token(
        store.as_ref(),
        &Actor::cli(),
        None,
        TokenKind::Operator,
        "demo operator",
        None,
    )
    .await?;
    Ok(Logins {
        tenants,
        api_token,
        operator_token,
        scim_token,
    })
}

/// Who to log in as, per preset.
fn describe(slug: &'static str, preset: Preset, objects: Vec<(ObjectRef, &'static str)>) -> Shown {
    let (name, people): (&str, Vec<(&str, &str)>) = match preset {
        Preset::ClassicLms => (
            "Northwind Learning",
            vec![
                ("grace.hopper", "LMS Administrator: everything"),
                (
                    "hana.hr",
                    "Training Coordinator: all but system configuration",
                ),
                (
                    "nina.north",
                    "Manager (made one by the HR feed, which names her as a manager): sees her team only, books them onto any event",
                ),
                (
                    "terry.tutor",
                    "Tutor + course tutor of Selling Basics: sees that course only",
                ),
                (
                    "petra.north",
                    "Tutor + course administrator of Selling Basics: cannot approve",
                ),
                (
                    "ivan.hr",
                    "Tutor + event administrator of Onboarding Day: mailed of Olaf's booking to confirm",
                ),
                (
                    "tessa.tutor",
                    "Manager/Tutor + course tutor of Rust for Platform Teams",
                ),
                (
                    "linus.platform",
                    "Manager + group manager of Platform: line manager of its members",
                ),
                (
                    "olaf.north",
                    "half-way through Selling Basics, plan in progress (GET /users/{id}/results); learner app on (log in with \"app\": true; GET /users/{id}/app-access)",
                ),
                (
                    "tomas.south",
                    "suspended in Selling Basics: the engine refuses course access",
                ),
                (
                    "ken.platform",
                    "to confirm for a session of Rust for Platform Teams",
                ),
                ("leo.leaver", "deactivated: login refused"),
                (
                    "carl.contractor",
                    "expired: login refused; moving expires_on restores his status",
                ),
            ],
        ),
        Preset::Levels => (
            "Globex Academy",
            vec![
                (
                    "pia.power",
                    "Power User over the Support group and Customer Care 101",
                ),
                (
                    "tom.tutor",
                    "course tutor of Customer Care 101 (learner + forum moderation)",
                ),
                ("ina.instructor", "instructor of the on-site workshop"),
                ("lea.learner", "learner, in progress in Customer Care 101"),
                (
                    "leo.learner",
                    "waiting: Customer Care 101 is full (2 places), no access yet",
                ),
                ("mia.manager", "manager of lea and leo: may enroll them"),
                (
                    "eva.expert",
                    "expert of the Kubernetes Q&A channel (social learning on)",
                ),
            ],
        ),
        Preset::ManagementGroups => (
            "Initech Training",
            vec![
                (
                    "lou.lm",
                    "learner management group: creates teams, reads all, edits own",
                ),
                ("lisa.lm", "learner management group"),
                ("pat.learner", "learner"),
            ],
        ),
        Preset::GroupRoles => (
            "Hooli Campus",
            vec![
                (
                    "oscar.owner",
                    "Owner (billing: GET /tenant/legal-representative); hand-over makes the old owner Platform Admin",
                ),
                ("olga.admin", "Admin of the Engineering Guild"),
                (
                    "aaron.author",
                    "Author; created Intro to Rust, so its Course Author (hand it over with POST /grants)",
                ),
                ("cora.coauthor", "Co-Author of Intro to Rust (needs Author)"),
                ("rita.reviewer", "Reviewer of Intro to Rust (published)"),
                ("coby.coach", "Coach of the Engineering Guild"),
                (
                    "paula.coach",
                    "platform Coach: sees the members of public groups (the Engineering Guild)",
                ),
                (
                    "max.manager",
                    "manager of lena and luis by being given them as managees (no role needed)",
                ),
                (
                    "ivy.instructor",
                    "Instructor of the Intro to Rust live session",
                ),
                ("lena.learner", "Learner in the Engineering Guild"),
            ],
        ),
    };
    Shown {
        slug,
        name,
        preset,
        people,
        objects,
    }
}

async fn classic(
    store: &Arc<dyn Store>,
    access: &ReadModel,
    hash: String,
) -> anyhow::Result<Shown> {
    let mut b = Builder::new(
        store,
        access,
        "demo",
        "Northwind Learning",
        Preset::ClassicLms,
        hash,
    )
    .await?;
    for (name, parent) in GROUPS {
        b.group(name, *parent).await?;
    }
    for (i, (username, display, group, department, _)) in PEOPLE.iter().enumerate() {
        let mut labels = BTreeMap::new();
        labels.insert("department".to_owned(), (*department).to_owned());
        labels.insert(
            "location".to_owned(),
            ["Oslo", "Madrid", "Remote"][i % 3].to_owned(),
        );
        labels.insert("employee_id".to_owned(), format!("NW-{:04}", 1000 + i));
        let status = if *username == "leo.leaver" {
            UserStatus::Deactivated
        } else {
            UserStatus::Activated
        };
        // One contractor's contract has run out, the other's has not.
        let expires_on = match *username {
            "carl.contractor" => Some(date!(2025 - 06 - 30)),
            _ if *group == "Contractors" => Some(date!(2030 - 12 - 31)),
            _ => None,
        };
        b.person(username, display, Some(group), labels, status, expires_on)
            .await?;
    }
    // Tutors also belong to the department they teach for.
    b.member("terry.tutor", "Sales").await?;
    b.member("tessa.tutor", "Engineering").await?;
    for (username, _, _, _, manager) in PEOPLE {
        if let Some(manager) = manager {
            let source = if username.ends_with("contractor") {
                ManagerSource::Explicit
            } else {
                ManagerSource::Feed
            };
            b.manages(manager, username, source).await?;
        }
    }
    let selling = b
        .course(
            "Selling Basics (e-learning, published)",
            "Selling Basics",
            Some("Sales"),
            CourseType::ELearning,
            true,
            None,
            None,
        )
        .await?;
    let rust = b
        .course(
            "Rust for Platform Teams (instructor-led)",
            "Rust for Platform Teams",
            Some("Engineering"),
            CourseType::InstructorLed,
            true,
            Some(12),
            None,
        )
        .await?;
    let compliance = b
        .course(
            "Compliance 2027 (draft)",
            "Compliance 2027",
            None,
            CourseType::ELearning,
            false,
            None,
            None,
        )
        .await?;
    // Deployed to Engineering: its members are enrolled, and whoever joins later.
    let security = b
        .course(
            "Security Awareness (deployed to Engineering: members enrolled, and later joiners)",
            "Security Awareness",
            None,
            CourseType::ELearning,
            true,
            None,
            None,
        )
        .await?;
    b.deploy(security, ObjectRef::group(b.groups["Engineering"]))
        .await?;
    // In the open catalogue: students enroll themselves (POST /courses/{id}/self-enrollment),
    // the second of two places fills it and the next one waits.
    let catalogue = b
        .object(
            ObjectKind::Catalogue,
            "Open catalogue (students see it and enroll themselves)",
            None,
            false,
            false,
            None,
        )
        .await?;
    let excel = b
        .course(
            "Excel Essentials (offered in the open catalogue, 2 places)",
            "Excel Essentials",
            None,
            CourseType::ELearning,
            true,
            Some(2),
            None,
        )
        .await?;
    b.deploy(excel, catalogue).await?;
    let lesson1 = b
        .material("Selling Basics, material 1", selling, "Why customers buy")
        .await?;
    let lesson2 = b
        .material("Selling Basics, material 2", selling, "Closing the deal")
        .await?;
    // Sessions and events live in the store (with capacity, approval and bookings); the engine
    // knows them as learning objects inside their course.
    let onboarding = b
        .session(
            "Onboarding Day (event of Selling Basics: approval, 3 places)",
            selling,
            SessionKind::Event,
            "Onboarding Day",
            (date!(2027 - 02 - 15), 9, 17),
            Some(3),
            true,
        )
        .await?;
    let rust_day1 = b
        .session(
            "Rust for Platform Teams, day 1 (session)",
            rust,
            SessionKind::Session,
            "Day 1: ownership and borrowing",
            (date!(2027 - 03 - 01), 9, 17),
            Some(10),
            false,
        )
        .await?;
    let rust_day2 = b
        .session(
            "Rust for Platform Teams, day 2 (session, approval required)",
            rust,
            SessionKind::Session,
            "Day 2: async services",
            (date!(2027 - 03 - 02), 9, 17),
            Some(10),
            true,
        )
        .await?;
    b.grant("grace.hopper", "lms-admin", Scope::Platform)
        .await?;
    b.grant("hana.hr", "training-coordinator", Scope::Platform)
        .await?;
    // Nina is given no role: the HR feed names her as a manager, which makes her one.
    for manager in [
        "sam.sales",
        "sofia.south",
        "edsger.eng",
        "linus.platform",
        "ada.mobile",
    ] {
        b.grant(manager, "manager", Scope::Platform).await?;
    }
    for tutor in ["terry.tutor", "petra.north", "ivan.hr"] {
        b.grant(tutor, "tutor", Scope::Platform).await?;
    }
    b.grant("tessa.tutor", "manager-tutor", Scope::Platform)
        .await?;
    b.grant("terry.tutor", "course-tutor", Scope::Object(selling))
        .await?;
    b.grant("petra.north", "course-admin", Scope::Object(selling))
        .await?;
    b.grant("ivan.hr", "event-admin", Scope::Object(onboarding))
        .await?;
    b.grant("tessa.tutor", "course-tutor", Scope::Object(rust))
        .await?;
    b.grant("linus.platform", "group-manager", b.group_scope("Platform"))
        .await?;
    b.grant("ada.mobile", "group-admin", b.group_scope("Mobile"))
        .await?;
    for learner in ["olaf.north", "petra.north", "uma.south", "tomas.south"] {
        b.enroll(learner, selling, EnrollmentStatus::Enrolled)
            .await?;
    }
    // Barbara asked to join: her enrollment waits for a course tutor's approval (Terry may,
    // Petra, the course administrator, may not).
    b.enroll("barbara.mobile", selling, EnrollmentStatus::Waiting)
        .await?;
    // Olaf is half-way, Petra finished, Uma has only looked; Tomas is suspended.
    b.activity("olaf.north", selling, Activity::OpenedCourse, None)
        .await?;
    b.activity(
        "olaf.north",
        selling,
        Activity::CompletedMaterial,
        Some(lesson1),
    )
    .await?;
    for material in [lesson1, lesson2] {
        b.activity(
            "petra.north",
            selling,
            Activity::CompletedMaterial,
            Some(material),
        )
        .await?;
    }
    b.activity("uma.south", selling, Activity::OpenedCourse, None)
        .await?;
    b.store
        .set_enrollment_status(
            &Actor::cli(),
            b.tenant,
            selling.id,
            b.people["tomas.south"],
            EnrollmentStatus::Suspended,
        )
        .await?;
    // Rust: Ken is booked on day 1 and awaits approval for day 2 (so his enrollment is
    // to_confirm); Margaret was approved by the course tutor and attended both days, which
    // completed the course; Dennis is booked on day 1 only.
    for learner in ["ken.platform", "margaret.platform", "dennis.mobile"] {
        b.enroll(learner, rust, EnrollmentStatus::Enrolled).await?;
        b.book(learner, rust_day1).await?;
    }
    for learner in ["ken.platform", "margaret.platform"] {
        b.book(learner, rust_day2).await?;
    }
    let tessa = b.people["tessa.tutor"];
    let margaret = b.people["margaret.platform"];
    let by = b.allowed(tessa, Act::ApproveEnrollments(rust_day2)).await?;
    b.store
        .approve_booking(&by, b.tenant, rust_day2.id, margaret)
        .await?;
    for day in [rust_day1, rust_day2] {
        let by = b.allowed(tessa, Act::TakeAttendance(day)).await?;
        b.store
            .record_attendance(&by, b.tenant, day.id, margaret)
            .await?;
    }
    // Onboarding Day: Uma was confirmed by the event administrator and attended; Olaf's booking
    // waits for him.
    let ivan = b.people["ivan.hr"];
    for learner in ["uma.south", "olaf.north"] {
        b.book(learner, onboarding).await?;
    }
    let by = b.allowed(ivan, Act::ApproveEnrollments(onboarding)).await?;
    b.store
        .approve_booking(&by, b.tenant, onboarding.id, b.people["uma.south"])
        .await?;
    let by = b.allowed(ivan, Act::TakeAttendance(onboarding)).await?;
    b.store
        .record_attendance(&by, b.tenant, onboarding.id, b.people["uma.south"])
        .await?;
    b.enroll("olaf.north", compliance, EnrollmentStatus::Enrolled)
        .await?;
    // The learner app: an invitation template, the automation, and two learners switched on
    // (their invitations wait in the outbox for the sender).
    b.store
        .set_tenant_settings(
            &Actor::cli(),
            b.tenant,
            TenantSettings {
                invitation: Some(InvitationTemplate::parse(
                    "Welcome to {tenant}",
                    "Hello {name}, your learner app login is {username} with password {password}",
                )?),
                invite_on_app_access: true,
                default_access_days: Some(365),
            },
        )
        .await?;
    b.feature(Feature::ELearning).await?;
    for learner in ["olaf.north", "uma.south"] {
        b.app_access(learner).await?;
    }
    // The draft compliance course is hidden from Olaf's app until it is published.
    b.store
        .set_show_in_app(
            &Actor::cli(),
            b.tenant,
            compliance.id,
            b.people["olaf.north"],
            false,
        )
        .await?;
    b.plan(
        "Sales onboarding plan (Selling Basics, then Compliance 2027)",
        "Sales onboarding",
        &[selling, compliance],
    )
    .await?;
    Ok(describe("demo", Preset::ClassicLms, b.objects))
}

async fn levels(store: &Arc<dyn Store>, access: &ReadModel, hash: String) -> anyhow::Result<Shown> {
    let mut b = Builder::new(
        store,
        access,
        "levels-demo",
        "Globex Academy",
        Preset::Levels,
        hash,
    )
    .await?;
    b.group("Support", None).await?;
    b.group("Field Sales", None).await?;
    for (u, d, g) in [
        ("pia.power", "Pia Power", "Support"),
        ("tom.tutor", "Tom Tutor", "Support"),
        ("ina.instructor", "Ina Instructor", "Field Sales"),
        ("lea.learner", "Lea Learner", "Support"),
        ("leo.learner", "Leo Learner", "Support"),
        ("mia.manager", "Mia Manager", "Support"),
        ("eva.expert", "Eva Expert", "Field Sales"),
    ] {
        b.simple(u, d, Some(g)).await?;
    }
    b.manages("mia.manager", "lea.learner", ManagerSource::Feed)
        .await?;
    b.manages("mia.manager", "leo.learner", ManagerSource::Feed)
        .await?;
    let care = b
        .course(
            "Customer Care 101 (e-learning, 2 places)",
            "Customer Care 101",
            Some("Support"),
            CourseType::ELearning,
            true,
            Some(2),
            None,
        )
        .await?;
    let onsite = b
        .course(
            "Negotiation workshop (instructor-led)",
            "Negotiation workshop",
            Some("Field Sales"),
            CourseType::InstructorLed,
            true,
            None,
            None,
        )
        .await?;
    b.object(
        ObjectKind::Session,
        "Negotiation workshop, Madrid session",
        Some(onsite),
        true,
        false,
        None,
    )
    .await?;
    b.feature(Feature::SocialLearning).await?;
    let channel = b
        .object(
            ObjectKind::Channel,
            "Kubernetes Q&A channel",
            None,
            true,
            false,
            None,
        )
        .await?;
    b.grant("pia.power", "power-user", Scope::Platform).await?;
    b.grant(
        "pia.power",
        "power-user-assignment",
        b.group_scope("Support"),
    )
    .await?;
    b.grant("pia.power", "power-user-assignment", Scope::Object(care))
        .await?;
    // Two places: Lea and Tom take them, Leo waits; Lea has started.
    for (u, role, course) in [
        ("lea.learner", "learner", care),
        ("tom.tutor", "tutor", care),
        ("leo.learner", "learner", care),
        ("ina.instructor", "instructor", onsite),
    ] {
        b.grant(u, role, Scope::Object(course)).await?;
        b.store
            .enroll(&Actor::cli(), b.tenant, course.id, b.people[u])
            .await?;
    }
    b.activity("lea.learner", care, Activity::OpenedCourse, None)
        .await?;
    b.grant("eva.expert", "expert", Scope::Object(channel))
        .await?;
    Ok(describe("levels-demo", Preset::Levels, b.objects))
}

async fn management(
    store: &Arc<dyn Store>,
    access: &ReadModel,
    hash: String,
) -> anyhow::Result<Shown> {
    let mut b = Builder::new(
        store,
        access,
        "mgmt-demo",
        "Initech Training",
        Preset::ManagementGroups,
        hash,
    )
    .await?;
    b.group("Initech", None).await?;
    for (u, d) in [
        ("lou.lm", "Lou Lumbergh"),
        ("lisa.lm", "Lisa Lane"),
        ("pat.learner", "Pat Peters"),
        ("sam.learner", "Sam Smykowski"),
    ] {
        b.simple(u, d, Some("Initech")).await?;
    }
    b.member("lou.lm", "Learner management").await?;
    b.member("lisa.lm", "Learner management").await?;
    // Named teams (seed 003): each learner manager made one and fills it; the other reads it.
    for (maker, name, about, members) in [
        (
            "lou.lm",
            "Onboarding cohort",
            "Onboarding cohort (named team made by lou.lm, with Pat)",
            &["pat.learner"][..],
        ),
        (
            "lisa.lm",
            "Sales cohort",
            "Sales cohort (named team made by lisa.lm, with Pat and Sam)",
            &["pat.learner", "sam.learner"][..],
        ),
    ] {
        let creator = b.people[maker];
        let place = ObjectRef::tenant(b.tenant);
        let by = b
            .allowed(
                creator,
                Act::Create {
                    kind: ObjectKind::Team,
                    place,
                },
            )
            .await?;
        let team = b
            .store
            .create_team(&by, b.tenant, Name::parse("name", name)?, Some(creator))
            .await?;
        for m in members {
            let person = b.people[*m];
            let act = Act::ManageTeamMember {
                team: team.object(),
                person,
            };
            let by = b.allowed(creator, act).await?;
            b.store
                .add_team_member(&by, b.tenant, team.id, person)
                .await?;
        }
        b.objects.push((team.object(), about));
    }
    let tps = b
        .course(
            "TPS Reports 101 (Pat and Sam enrolled: the learner managers' reports have rows)",
            "TPS Reports 101",
            None,
            CourseType::ELearning,
            true,
            None,
            None,
        )
        .await?;
    b.enroll("pat.learner", tps, EnrollmentStatus::Enrolled)
        .await?;
    b.enroll("sam.learner", tps, EnrollmentStatus::Enrolled)
        .await?;
    Ok(describe("mgmt-demo", Preset::ManagementGroups, b.objects))
}

async fn group_roles(
    store: &Arc<dyn Store>,
    access: &ReadModel,
    hash: String,
) -> anyhow::Result<Shown> {
    let mut b = Builder::new(
        store,
        access,
        "groups-demo",
        "Hooli Campus",
        Preset::GroupRoles,
        hash,
    )
    .await?;
    let guild = b.group("Engineering Guild", None).await?;
    b.group("Design Guild", None).await?;
    // The guild is public, so the platform coach reaches its members; the design guild is not.
    b.store
        .update_group(
            &Actor::cli(),
            b.tenant,
            guild,
            GroupPatch {
                public: Some(true),
                ..GroupPatch::default()
            },
        )
        .await?;
    for (u, d, g) in [
        ("oscar.owner", "Oscar Owner", "Engineering Guild"),
        ("olga.admin", "Olga Admin", "Engineering Guild"),
        ("aaron.author", "Aaron Author", "Engineering Guild"),
        ("cora.coauthor", "Cora Coauthor", "Design Guild"),
        ("rita.reviewer", "Rita Reviewer", "Engineering Guild"),
        ("coby.coach", "Coby Coach", "Engineering Guild"),
        ("max.manager", "Max Manager", "Engineering Guild"),
        ("ivy.instructor", "Ivy Instructor", "Design Guild"),
        ("lena.learner", "Lena Learner", "Engineering Guild"),
        ("luis.learner", "Luis Learner", "Engineering Guild"),
        ("paula.coach", "Paula Coach", "Design Guild"),
    ] {
        b.simple(u, d, Some(g)).await?;
    }
    b.manages("max.manager", "lena.learner", ManagerSource::Explicit)
        .await?;
    b.manages("max.manager", "luis.learner", ManagerSource::Explicit)
        .await?;
    b.grant("oscar.owner", "owner", Scope::Platform).await?;
    let eng = b.group_scope("Engineering Guild");
    let design = b.group_scope("Design Guild");
    // Aaron is an Author of the guild, so the course he creates makes him its Course Author.
    b.grant("aaron.author", "author", eng).await?;
    let intro = b
        .course(
            "Intro to Rust (published)",
            "Intro to Rust",
            Some("Engineering Guild"),
            CourseType::ELearning,
            true,
            None,
            Some("aaron.author"),
        )
        .await?;
    let live = b
        .object(
            ObjectKind::Session,
            "Intro to Rust, live session",
            Some(intro),
            true,
            false,
            None,
        )
        .await?;
    b.grant("olga.admin", "admin", eng).await?;
    b.grant("cora.coauthor", "author", design).await?;
    b.grant("cora.coauthor", "co-author", Scope::Object(intro))
        .await?;
    b.grant("rita.reviewer", "learner", eng).await?;
    b.grant("rita.reviewer", "reviewer", Scope::Object(intro))
        .await?;
    b.grant("coby.coach", "coach", eng).await?;
    b.grant("paula.coach", "coach", Scope::PublicGroups).await?;
    b.grant("max.manager", "learner", eng).await?;
    b.grant("ivy.instructor", "learner", design).await?;
    b.grant("ivy.instructor", "instructor", Scope::Object(live))
        .await?;
    for learner in ["lena.learner", "luis.learner"] {
        b.grant(learner, "learner", eng).await?;
    }
    // An invitation to the Design Guild that makes its invitee an Author there on sign-up;
    // its code waits in the outbox with the mail.
    let design_guild = b.groups["Design Guild"];
    let by = b.allowed(b.admin, Act::InviteToGroup(design_guild)).await?;
    let author = b
        .access
        .read(b.tenant, |m| m.role_by_code("author").map(|r| r.id));
    let code = registrar_server::auth::new_secret();
    b.store
        .invite(
            &by,
            b.tenant,
            registrar_store::NewGroupInvitation {
                group: design_guild,
                email: Email::parse("new.designer@hooli.example")?,
                roles: author.into_iter().collect(),
                invited_by: b.admin,
                token_hash: registrar_server::auth::secret_hash(&code),
                expires_at: time::OffsetDateTime::now_utc() + time::Duration::days(14),
                mail: NewMail {
                    recipient: Email::parse("new.designer@hooli.example")?,
                    subject: "You are invited to Design Guild at Hooli Campus".to_owned(),
                    body: format!(
                        "Your sign-up code: {code}\n\nChoose your password with it \
                         (POST /api/v1/invitations/accept).\n"
                    ),
                },
            },
        )
        .await?;
    // The name on the invoices: a tenant setting, not a role.
    b.store
        .set_legal_representative(
            &Actor::cli(),
            b.tenant,
            Some(LegalRepresentative {
                name: Name::parse("name", "Hooli Campus Ltd")?,
                address: Some(Name::parse("address", "1 Infinite Loop, Palo Alto")?),
            }),
        )
        .await?;
    Ok(describe("groups-demo", Preset::GroupRoles, b.objects))
}

impl Logins {
    pub fn print(&self, url: &str) {
        println!("Demo data: one tenant per preset. Every administrator logs in as");
        println!(
            "  username={ADMIN} password={ADMIN_PASSWORD}; everyone else with password={PEOPLE_PASSWORD}"
        );
        for t in &self.tenants {
            println!();
            println!(
                "Tenant {:?}: {} (preset {})",
                t.slug,
                t.name,
                t.preset.code()
            );
            for (who, what) in &t.people {
                println!("  {who:<16} {what}");
            }
            for (object, what) in &t.objects {
                println!("  {object}  {what}");
            }
        }
        println!();
        println!("  administrator login: tenant=demo username={ADMIN} password={ADMIN_PASSWORD}");
        println!("  API token (acts as {ADMIN}): {}", self.api_token);
        println!(
            "  operator token (manages tenants): {}",
            self.operator_token
        );
        println!(
            "  try: curl -H 'Authorization: Bearer {}' {url}/api/v1/users",
            self.api_token
        );
        if let Some((course, _)) = self.tenants.first().and_then(|t| t.objects.first()) {
            println!(
                "  try: curl -H 'Authorization: Bearer {}' -H 'content-type: application/json' \
                 -d '{{\"user\":\"terry.tutor\",\"action\":\"courses.view\",\"resource\":\"{course}\"}}' {url}/api/v1/check",
                self.api_token
            );
        }
        println!("  API description: {url}/api/openapi.json");
        println!(
            "  SCIM 2.0 feed: {url}/scim/v2 (leaver policy: suspend_enrollments) with the SCIM token: {}",
            self.scim_token
        );
    }
}
