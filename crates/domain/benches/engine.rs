//! Single checks and reverse queries on a tenant of 100k users and 5k courses (classic preset).
//!
//! `cargo bench -p registrar-domain` prints criterion's figures, then a latency distribution
//! (p50/p99 over 200k random checks, each timed on its own, timer overhead included).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use registrar_domain::access::*;
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::tenant::Preset;
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 05 - 01);
const USERS: usize = 100_000;
const COURSES: usize = 5_000;
const GROUPS: usize = 500;

struct Tenant {
    model: AccessModel,
    users: Vec<UserId>,
    courses: Vec<ObjectRef>,
    lessons: Vec<ObjectRef>,
    admin: UserId,
    tutor: UserId,
    manager: UserId,
    student: UserId,
}

struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn build() -> Tenant {
    let t0 = Instant::now();
    let preset = PresetData::for_preset(Preset::ClassicLms);
    let mut d = preset.data(TenantId::new()).unwrap();
    let role = |code: &str| preset.role(code).unwrap().id;
    let mut rng = Lcg(7);
    let groups: Vec<GroupId> = (0..GROUPS).map(|_| GroupId::new()).collect();
    for (i, g) in groups.iter().enumerate() {
        let parent = (i >= 50).then(|| groups[i % 50]);
        d.groups.insert(
            *g,
            AccessGroup {
                id: *g,
                parent,
                public: false,
            },
        );
    }
    let users: Vec<UserId> = (0..USERS).map(|_| UserId::new()).collect();
    for u in &users {
        d.users.insert(*u, AccessUser::active(*u));
        d.memberships.insert((*u, groups[rng.below(GROUPS)]));
    }
    let mut courses = Vec::new();
    let mut lessons = Vec::new();
    for i in 0..COURSES {
        let c = ObjectRef::new(ObjectKind::Course, ObjectId::new());
        let mut o = LearningObject::new(c);
        o.parent = Some(ObjectRef::group(groups[i % GROUPS]));
        d.objects.insert(c, o);
        for _ in 0..5 {
            let l = ObjectRef::new(ObjectKind::Lesson, ObjectId::new());
            d.objects.insert(l, LearningObject::new(l).with_parent(c));
            lessons.push(l);
        }
        let e = ObjectRef::new(ObjectKind::Event, ObjectId::new());
        d.objects.insert(e, LearningObject::new(e).with_parent(c));
        courses.push(c);
    }
    // Five enrollments per user: 500k.
    for u in &users {
        for _ in 0..5 {
            d.enrollments.insert(
                (*u, courses[rng.below(COURSES)].id),
                EnrollmentStatus::InProgress,
            );
        }
    }
    let grant = |d: &mut AccessData, u: UserId, code: &str, scope: Scope| {
        let g = Grant::new(Principal::User(u), role(code), scope);
        d.grants.insert(g.id, g);
    };
    // 100 admins, 1000 tutors with five courses each, 2000 managers with 20 managees and a group.
    for u in &users[..100] {
        grant(&mut d, *u, "lms-admin", Scope::Platform);
    }
    for (i, u) in users[100..1100].iter().enumerate() {
        grant(&mut d, *u, "tutor", Scope::Platform);
        for k in 0..5 {
            grant(
                &mut d,
                *u,
                "course-tutor",
                Scope::Object(courses[(i * 5 + k) % COURSES]),
            );
        }
    }
    for (i, u) in users[1100..3100].iter().enumerate() {
        grant(&mut d, *u, "manager", Scope::Platform);
        for k in 0..20 {
            d.managers
                .insert((*u, users[3100 + (i * 20 + k) % (USERS - 3100)]));
        }
        grant(
            &mut d,
            *u,
            "group-admin",
            Scope::Object(ObjectRef::group(groups[i % GROUPS])),
        );
    }
    let model = AccessModel::from_data(d);
    eprintln!("built 100k users / 5k courses in {:?}", t0.elapsed());
    Tenant {
        admin: users[0],
        tutor: users[100],
        manager: users[1100],
        student: users[50_000],
        model,
        users,
        courses,
        lessons,
    }
}

fn benches(c: &mut Criterion, t: &Tenant) {
    let m = &t.model;
    let tutor_course = t.courses[0];
    let tutor_lesson = t.lessons[0];
    let other_lesson = t.lessons[t.lessons.len() - 1];
    let managee = ObjectRef::user(t.users[3100]);
    let student_course = {
        let page = m
            .objects_for(
                t.student,
                Permission::CoursesAccess,
                ObjectKind::Course,
                None,
                1,
                TODAY,
            )
            .unwrap();
        page.items[0]
    };
    let mut g = c.benchmark_group("check");
    g.bench_function("admin tenant reach", |b| {
        b.iter(|| {
            m.check(
                black_box(t.admin),
                Permission::CoursesEdit,
                black_box(&tutor_course),
                TODAY,
            )
        })
    });
    g.bench_function("tutor lesson via course scope", |b| {
        b.iter(|| {
            m.check(
                black_box(t.tutor),
                Permission::LessonsEdit,
                black_box(&tutor_lesson),
                TODAY,
            )
        })
    });
    g.bench_function("manager team member", |b| {
        b.iter(|| {
            m.check(
                black_box(t.manager),
                Permission::UsersView,
                black_box(&managee),
                TODAY,
            )
        })
    });
    g.bench_function("student own enrolled course", |b| {
        b.iter(|| {
            m.check(
                black_box(t.student),
                Permission::CoursesAccess,
                black_box(&student_course),
                TODAY,
            )
        })
    });
    g.bench_function("tutor denied with explanation", |b| {
        b.iter(|| {
            m.check(
                black_box(t.tutor),
                Permission::LessonsEdit,
                black_box(&other_lesson),
                TODAY,
            )
        })
    });
    g.bench_function("allows (no explanation) tutor lesson", |b| {
        b.iter(|| {
            m.allows(
                black_box(t.tutor),
                Permission::LessonsEdit,
                black_box(&tutor_lesson),
                TODAY,
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("reverse");
    g.bench_function("objects_for tutor courses", |b| {
        b.iter(|| {
            m.objects_for(
                black_box(t.tutor),
                Permission::CoursesEdit,
                ObjectKind::Course,
                None,
                50,
                TODAY,
            )
        })
    });
    g.bench_function("objects_for admin courses page of 50", |b| {
        b.iter(|| {
            m.objects_for(
                black_box(t.admin),
                Permission::CoursesEdit,
                ObjectKind::Course,
                None,
                50,
                TODAY,
            )
        })
    });
    g.bench_function("objects_for manager users (team)", |b| {
        b.iter(|| {
            m.objects_for(
                black_box(t.manager),
                Permission::UsersView,
                ObjectKind::User,
                None,
                50,
                TODAY,
            )
        })
    });
    g.bench_function("holders courses.edit on a course", |b| {
        b.iter(|| m.holders(Permission::CoursesEdit, black_box(&tutor_course), TODAY))
    });
    g.finish();
}

fn percentiles(label: &str, mut ns: Vec<u64>) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 - 1.0) * q) as usize];
    eprintln!(
        "{label}: n={} p50={}ns p90={}ns p99={}ns max={}ns",
        ns.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        ns[ns.len() - 1]
    );
}

/// Random users checking random lessons and users: the mix a server would see. Each pass draws
/// its own sequence, so neither runs on caches the other warmed.
fn distribution(t: &Tenant) {
    let m = &t.model;
    let perms = [
        Permission::CoursesAccess,
        Permission::LessonsEdit,
        Permission::LessonsView,
    ];
    let draw = |rng: &mut Lcg, i: usize| {
        let u = t.users[rng.below(t.users.len())];
        if i.is_multiple_of(4) {
            (
                u,
                Permission::UsersView,
                ObjectRef::user(t.users[rng.below(t.users.len())]),
            )
        } else {
            let l = t.lessons[rng.below(t.lessons.len())];
            (u, perms[rng.below(perms.len())], l)
        }
    };
    let mut rng = Lcg(42);
    let (mut check, mut allowed, mut denied) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..200_000 {
        let (u, p, o) = draw(&mut rng, i);
        let s = Instant::now();
        let d = black_box(m.check(u, p, &o, TODAY).unwrap());
        let ns = s.elapsed().as_nanos() as u64;
        check.push(ns);
        if d.allowed() {
            allowed.push(ns)
        } else {
            denied.push(ns)
        }
    }
    let mut rng = Lcg(4242);
    let mut allows = Vec::new();
    for i in 0..200_000 {
        let (u, p, o) = draw(&mut rng, i);
        let s = Instant::now();
        black_box(m.allows(u, p, &o, TODAY).unwrap());
        allows.push(s.elapsed().as_nanos() as u64);
    }
    let mut rng = Lcg(424242);
    let mut hot = Vec::new();
    for i in 0..200_000 {
        let (u, p, o) = draw(&mut rng, i);
        black_box(m.allows(u, p, &o, TODAY).unwrap());
        let s = Instant::now();
        black_box(m.check(u, p, &o, TODAY).unwrap());
        hot.push(s.elapsed().as_nanos() as u64);
    }
    percentiles("random check, cold (with explanation)", check);
    percentiles("  of which allowed", allowed);
    percentiles("  of which denied", denied);
    percentiles("random allows, cold (bool only)", allows);
    percentiles("random check, warm (same triple just asked)", hot);
    let mut rev = Vec::new();
    for _ in 0..2_000 {
        let u = t.users[rng.below(3100)];
        let s = Instant::now();
        black_box(
            m.objects_for(
                u,
                Permission::CoursesView,
                ObjectKind::Course,
                None,
                50,
                TODAY,
            )
            .unwrap(),
        );
        rev.push(s.elapsed().as_nanos() as u64);
    }
    percentiles(
        "objects_for courses.view page of 50 (admins, tutors, managers)",
        rev,
    );
    let mut hold = Vec::new();
    for _ in 0..2_000 {
        let c = t.courses[rng.below(t.courses.len())];
        let s = Instant::now();
        black_box(m.holders(Permission::CoursesEdit, &c, TODAY).unwrap());
        hold.push(s.elapsed().as_nanos() as u64);
    }
    percentiles("holders courses.edit on a random course", hold);
}

fn all(c: &mut Criterion) {
    let t = build();
    distribution(&t);
    benches(c, &t);
}

criterion_group!(engine, all);

fn main() {
    engine();
    Criterion::default().configure_from_args().final_summary();
}
