//! Lifecycles (SPEC section 3): how an enrollment's status moves, what learning activity does to
//! it and to the learner, and how a learning plan's status follows from its courses. Pure rules;
//! the server stores the results and the engine reads them as vetoes.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::access::EnrollmentStatus;
use crate::user::UserStatus;

use EnrollmentStatus as S;

/// How a course is delivered, which changes what `to_confirm` and completion mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CourseType {
    ELearning,
    InstructorLed,
}

impl CourseType {
    pub fn code(self) -> &'static str {
        match self {
            CourseType::ELearning => "e_learning",
            CourseType::InstructorLed => "instructor_led",
        }
    }

    pub fn parse(input: &str) -> Result<Self, crate::ValidationError> {
        match input.trim() {
            "e_learning" => Ok(CourseType::ELearning),
            "instructor_led" => Ok(CourseType::InstructorLed),
            _ => Err(crate::ValidationError::new(
                "course_type",
                input,
                "must be e_learning or instructor_led",
            )),
        }
    }
}

/// Whether enrolling needs someone's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentPolicy {
    #[default]
    Open,
    ApprovalRequired,
}

impl EnrollmentPolicy {
    pub fn code(self) -> &'static str {
        match self {
            EnrollmentPolicy::Open => "open",
            EnrollmentPolicy::ApprovalRequired => "approval_required",
        }
    }

    pub fn parse(input: &str) -> Result<Self, crate::ValidationError> {
        match input.trim() {
            "open" => Ok(EnrollmentPolicy::Open),
            "approval_required" => Ok(EnrollmentPolicy::ApprovalRequired),
            _ => Err(crate::ValidationError::new(
                "policy",
                input,
                "must be open or approval_required",
            )),
        }
    }
}

/// What a learner did, as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    OpenedCourse,
    CompletedMaterial,
    AttendedSession,
}

/// How far a learner is in one course, counted by the server from recorded activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub materials: u32,
    pub materials_completed: u32,
    /// Sessions of an instructor-led course the learner is enrolled in.
    pub sessions: u32,
    pub sessions_attended: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifecycleError {
    #[error("an enrollment cannot go from {from} to {to}{why}")]
    Transition {
        from: EnrollmentStatus,
        to: EnrollmentStatus,
        why: &'static str,
    },
    #[error("the course is full ({capacity} places taken); raise its capacity to let more in")]
    Full { capacity: u32 },
    #[error("learning activity is not possible while the enrollment is {status}")]
    NoAccess { status: EnrollmentStatus },
    #[error("sessions belong to instructor-led courses only")]
    NotInstructorLed,
    #[error("a session must end after it starts")]
    EndsBeforeStart,
    #[error("only bookings to confirm or waiting for a place are approved; this one is {status}")]
    BookingNotAwaiting {
        status: crate::session::BookingStatus,
    },
    #[error("a booking that is {status} cannot be attended: it needs approval and a place first")]
    CannotAttend {
        status: crate::session::BookingStatus,
    },
    #[error("learner-app access needs an email address: add one to the user first")]
    AppAccessNeedsEmail,
    #[error("learner-app access is off for this account: contact your administrator")]
    AppAccessOff,
    #[error("learner-app access ended after {until}: contact your administrator")]
    AppAccessExpired { until: time::Date },
    #[error("invitations are unavailable: the tenant has no invitation template yet")]
    NoInvitationTemplate,
}

/// A learner's access to the learner app: on until the end of `until`, if given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAccess {
    pub until: Option<time::Date>,
    /// E-learning access for the same period, where the tenant's e-learning integration is on.
    #[serde(default)]
    pub elearning: bool,
}

/// The most places a course, session or event may offer: far beyond any room or licence.
pub const MAX_CAPACITY: u32 = 1_000_000;

/// A capacity from input, bounded by [`MAX_CAPACITY`].
pub fn capacity(places: u32) -> Result<u32, crate::ValidationError> {
    crate::error::bounded(
        "capacity",
        places,
        MAX_CAPACITY,
        "must be at most 1000000 places",
    )
}

/// The longest default length of learner-app access, in days (a hundred years): far beyond use,
/// and small enough that `today + days` is always a date.
pub const MAX_ACCESS_DAYS: u32 = 36_500;

/// A tenant's default length of app access given in bulk, bounded by [`MAX_ACCESS_DAYS`].
pub fn access_days(days: u32) -> Result<u32, crate::ValidationError> {
    crate::error::bounded(
        "default_access_days",
        days,
        MAX_ACCESS_DAYS,
        "must be at most 36500 days (100 years)",
    )
}

/// The last day of access that starts `today` and lasts `days`; checked, never overflowing.
pub fn access_end(today: time::Date, days: u32) -> Result<time::Date, crate::ValidationError> {
    access_days(days)?;
    today
        .checked_add(time::Duration::days(i64::from(days)))
        .ok_or_else(|| {
            crate::ValidationError::new(
                "default_access_days",
                days.to_string(),
                "ends beyond the calendar",
            )
        })
}

/// Turning app access on needs somewhere to send the login details.
pub fn check_app_access_grant(has_email: bool) -> Result<(), LifecycleError> {
    if has_email {
        Ok(())
    } else {
        Err(LifecycleError::AppAccessNeedsEmail)
    }
}

/// Whether a learner may log in to the app today (`access` is `None` when switched off).
pub fn may_use_app(access: Option<AppAccess>, today: time::Date) -> Result<(), LifecycleError> {
    match access {
        None => Err(LifecycleError::AppAccessOff),
        Some(AppAccess {
            until: Some(until), ..
        }) if until < today => Err(LifecycleError::AppAccessExpired { until }),
        Some(_) => Ok(()),
    }
}

/// A tenant's invitation email. `{name}`, `{username}`, `{password}` and `{tenant}` are filled
/// in per learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationTemplate {
    pub subject: String,
    pub body: String,
}

impl InvitationTemplate {
    pub fn parse(subject: &str, body: &str) -> Result<Self, crate::ValidationError> {
        if subject.trim().is_empty()
            || subject.chars().count() > 200
            || subject.contains(['\r', '\n'])
        {
            return Err(crate::ValidationError::new(
                "subject",
                subject,
                "must be 1 to 200 characters on one line",
            ));
        }
        if !body.contains("{username}") || !body.contains("{password}") {
            return Err(crate::ValidationError::new(
                "body",
                body,
                "must contain {username} and {password}: the invitation carries the login details",
            ));
        }
        if body.chars().count() > 20_000 {
            return Err(crate::ValidationError::new(
                "body",
                "(long)",
                "must be at most 20000 characters",
            ));
        }
        Ok(Self {
            subject: subject.trim().to_owned(),
            body: body.to_owned(),
        })
    }

    /// The subject and body for one learner.
    pub fn render(
        &self,
        name: &str,
        username: &str,
        password: &str,
        tenant: &str,
    ) -> (String, String) {
        let fill = |t: &str| {
            t.replace("{name}", name)
                .replace("{username}", username)
                .replace("{tenant}", tenant)
                .replace("{password}", password)
        };
        (fill(&self.subject), fill(&self.body))
    }
}

/// The status a new enrollment starts in: waiting when the course asks for approval or is full.
pub fn new_enrollment(
    policy: EnrollmentPolicy,
    capacity: Option<u32>,
    taken: u32,
) -> EnrollmentStatus {
    let full = capacity.is_some_and(|c| taken >= c);
    if policy == EnrollmentPolicy::ApprovalRequired || full {
        S::Waiting
    } else {
        S::Enrolled
    }
}

/// Whether an administrator may set an enrollment's status to `to` by hand: any status, at any
/// time (seed 002: "you can always manually edit the user's status in a course at any time"),
/// except overbooking on an instructor-led course, which exists for e-learning only. Who may do
/// it, and when it is an approval, is the engine's question (`Act::ChangeEnrollmentStatus`).
pub fn check_manual_status(
    course: CourseType,
    from: EnrollmentStatus,
    to: EnrollmentStatus,
) -> Result<(), LifecycleError> {
    if to == S::Overbooked && course == CourseType::InstructorLed && from != to {
        return Err(LifecycleError::Transition {
            from,
            to,
            why: ": overbooking exists for e-learning courses only",
        });
    }
    Ok(())
}

/// Whether an enrollment may move from `from` to `to` on its own or through a rule (learning
/// activity, bookings, the leaver policy): some moves make no sense there, such as a finished
/// course going back to the waiting list. A move by hand is [`check_manual_status`].
pub fn check_transition(
    course: CourseType,
    from: EnrollmentStatus,
    to: EnrollmentStatus,
) -> Result<(), LifecycleError> {
    let refuse = |why| Err(LifecycleError::Transition { from, to, why });
    if from == to {
        return Ok(());
    }
    if to == S::Overbooked && course == CourseType::InstructorLed {
        return refuse(": overbooking exists for e-learning courses only");
    }
    let allowed = match from {
        S::Enrolled => matches!(
            to,
            S::InProgress | S::Completed | S::Waiting | S::ToConfirm | S::Suspended | S::Overbooked
        ),
        S::Waiting => matches!(to, S::Enrolled | S::ToConfirm | S::Suspended),
        S::ToConfirm => matches!(to, S::Enrolled | S::InProgress | S::Waiting | S::Suspended),
        S::InProgress => matches!(
            to,
            S::Completed | S::Suspended | S::Overbooked | S::ToConfirm
        ),
        S::Completed => matches!(to, S::InProgress | S::Suspended),
        S::Suspended => matches!(to, S::Enrolled | S::InProgress | S::Completed),
        S::Overbooked => matches!(to, S::Enrolled | S::InProgress | S::Suspended),
    };
    if allowed { Ok(()) } else { refuse("") }
}

/// What the leaver policy makes of a leaver's enrollment in a course of type `course`: an open
/// one is suspended, a completed one keeps its record, a suspended one stays. The move is one
/// [`check_transition`] allows, like any other.
pub fn leaver_status(course: CourseType, from: EnrollmentStatus) -> Option<EnrollmentStatus> {
    if matches!(from, S::Completed | S::Suspended) {
        return None;
    }
    check_transition(course, from, S::Suspended)
        .ok()
        .map(|()| S::Suspended)
}

/// Whether moving an enrollment from `from` to `to` lets a learner off the waiting list or
/// confirms their booking: an approval, whichever way it is asked for, so it needs the approve
/// permission even as a plain status edit.
pub fn is_approval(from: EnrollmentStatus, to: EnrollmentStatus) -> bool {
    awaits_approval(from) && !matches!(to, S::Waiting | S::ToConfirm | S::Suspended)
}

/// Whether an enrollment waits for someone to approve it: on the waiting list, or with a
/// booking to confirm.
pub fn awaits_approval(status: EnrollmentStatus) -> bool {
    matches!(status, S::Waiting | S::ToConfirm)
}

/// Approving a waiting enrollment (or a booking to confirm) lets the learner in, if there is room.
pub fn approve(
    from: EnrollmentStatus,
    capacity: Option<u32>,
    taken: u32,
) -> Result<EnrollmentStatus, LifecycleError> {
    if !awaits_approval(from) {
        return Err(LifecycleError::Transition {
            from,
            to: S::Enrolled,
            why: ": only waiting enrollments and bookings to confirm are approved",
        });
    }
    match capacity {
        Some(c) if from == S::Waiting && taken >= c => Err(LifecycleError::Full { capacity: c }),
        _ => Ok(S::Enrolled),
    }
}

/// The enrollment status after `activity`, given the progress it brings the learner to.
/// E-learning completes when every material is completed; instructor-led when every session
/// the learner is enrolled in is attended. Waiting, suspended and overbooked learners have no
/// access, so no activity; a learner to confirm may see material but not attend.
pub fn after_activity(
    course: CourseType,
    status: EnrollmentStatus,
    activity: Activity,
    progress: Progress,
) -> Result<EnrollmentStatus, LifecycleError> {
    let may_see_material = match status {
        S::Enrolled | S::InProgress | S::Completed => true,
        S::ToConfirm => course == CourseType::InstructorLed,
        S::Waiting | S::Suspended | S::Overbooked => false,
    };
    if !may_see_material {
        return Err(LifecycleError::NoAccess { status });
    }
    if activity == Activity::AttendedSession {
        if course != CourseType::InstructorLed {
            return Err(LifecycleError::NotInstructorLed);
        }
        if status == S::ToConfirm {
            return Err(LifecycleError::NoAccess { status });
        }
    }
    if status == S::Completed {
        return Ok(S::Completed);
    }
    let done = match course {
        CourseType::ELearning => {
            progress.materials > 0 && progress.materials_completed >= progress.materials
        }
        CourseType::InstructorLed => {
            progress.sessions > 0 && progress.sessions_attended >= progress.sessions
        }
    };
    Ok(match (done, status) {
        (true, S::Enrolled | S::InProgress) => S::Completed,
        // Seeing material while a session booking awaits approval does not change the booking.
        (_, S::ToConfirm) => S::ToConfirm,
        _ => S::InProgress,
    })
}

/// A learner's first learning activity makes an activated account active; nothing else changes
/// (activity never reactivates a deactivated account).
pub fn user_after_activity(status: UserStatus) -> UserStatus {
    match status {
        UserStatus::Activated => UserStatus::Active,
        other => other,
    }
}

/// A learner's status in a learning plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Enrolled in none of the plan's courses.
    NotEnrolled,
    NotStarted,
    InProgress,
    Completed,
}

/// Derives a plan's status from the learner's enrollments in its courses (courses they are not
/// enrolled in are left out), exactly as SPEC 3.2 states, in this order:
/// in progress when some course is in progress, or one is completed and another still enrolled;
/// completed when every course is completed or sits in waiting, to_confirm, suspended or
/// overbooked (so a plan whose courses are all blocked counts as completed: no progress is
/// possible); not started when enrolled in at least one and none started.
pub fn plan_status(enrollments: &[EnrollmentStatus]) -> PlanStatus {
    if enrollments.is_empty() {
        return PlanStatus::NotEnrolled;
    }
    let any = |s: EnrollmentStatus| enrollments.contains(&s);
    if any(S::InProgress) || (any(S::Completed) && any(S::Enrolled)) {
        return PlanStatus::InProgress;
    }
    let finished_or_blocked = |s: &EnrollmentStatus| {
        matches!(
            s,
            S::Completed | S::Waiting | S::ToConfirm | S::Suspended | S::Overbooked
        )
    };
    if enrollments.iter().all(finished_or_blocked) {
        return PlanStatus::Completed;
    }
    PlanStatus::NotStarted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_access_lengths_are_bounded_and_never_overflow_the_calendar() {
        let today = time::macros::date!(2026 - 12 - 01);
        assert_eq!(
            access_end(today, 31),
            Ok(time::macros::date!(2027 - 01 - 01))
        );
        assert!(access_end(today, MAX_ACCESS_DAYS).is_ok());
        assert_eq!(
            access_end(today, 3_000_000).unwrap_err().field,
            "default_access_days"
        );
        assert!(access_end(today, u32::MAX).is_err());
        assert!(access_end(time::Date::MAX, 1).is_err());
    }
    use CourseType::{ELearning, InstructorLed};

    #[test]
    fn a_new_enrollment_waits_when_the_course_needs_approval() {
        assert_eq!(
            new_enrollment(EnrollmentPolicy::ApprovalRequired, None, 0),
            S::Waiting
        );
        assert_eq!(
            new_enrollment(EnrollmentPolicy::Open, None, 10_000),
            S::Enrolled
        );
    }

    #[test]
    fn a_new_enrollment_waits_when_the_course_is_full() {
        assert_eq!(
            new_enrollment(EnrollmentPolicy::Open, Some(2), 1),
            S::Enrolled
        );
        assert_eq!(
            new_enrollment(EnrollmentPolicy::Open, Some(2), 2),
            S::Waiting
        );
    }

    #[test]
    fn overbooked_exists_for_e_learning_only() {
        assert!(check_transition(ELearning, S::Enrolled, S::Overbooked).is_ok());
        let err = check_transition(InstructorLed, S::Enrolled, S::Overbooked).unwrap_err();
        assert!(err.to_string().contains("e-learning courses only"), "{err}");
    }

    #[test]
    fn a_completed_enrollment_never_goes_back_to_waiting() {
        let err = check_transition(ELearning, S::Completed, S::Waiting).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an enrollment cannot go from completed to waiting"
        );
    }

    #[test]
    fn by_hand_any_status_may_be_set_but_overbooking_on_instructor_led_courses() {
        for from in S::ALL {
            for to in S::ALL {
                assert!(
                    check_manual_status(ELearning, from, to).is_ok(),
                    "{from} -> {to}"
                );
                assert_eq!(
                    check_manual_status(InstructorLed, from, to).is_ok(),
                    to != S::Overbooked || from == to,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn suspension_is_manual_and_can_be_lifted() {
        for from in [S::Enrolled, S::InProgress, S::Completed] {
            assert!(check_transition(ELearning, from, S::Suspended).is_ok());
        }
        assert!(check_transition(ELearning, S::Suspended, S::InProgress).is_ok());
    }

    #[test]
    fn approval_lets_a_waiting_learner_in_only_if_there_is_room() {
        assert_eq!(approve(S::Waiting, Some(3), 2), Ok(S::Enrolled));
        assert_eq!(
            approve(S::Waiting, Some(3), 3),
            Err(LifecycleError::Full { capacity: 3 })
        );
        assert_eq!(
            approve(S::ToConfirm, Some(3), 3),
            Ok(S::Enrolled),
            "already in the course"
        );
        assert!(approve(S::Completed, None, 0).is_err());
    }

    #[test]
    fn leaving_the_waiting_list_by_hand_is_an_approval() {
        assert!(is_approval(S::Waiting, S::Enrolled));
        assert!(is_approval(S::ToConfirm, S::InProgress));
        assert!(!is_approval(S::Waiting, S::Suspended));
        assert!(!is_approval(S::Enrolled, S::Completed));
    }

    #[test]
    fn opening_a_course_starts_it() {
        let p = Progress {
            materials: 3,
            ..Progress::default()
        };
        assert_eq!(
            after_activity(ELearning, S::Enrolled, Activity::OpenedCourse, p),
            Ok(S::InProgress)
        );
    }

    #[test]
    fn e_learning_completes_when_every_material_is_completed() {
        let half = Progress {
            materials: 2,
            materials_completed: 1,
            ..Progress::default()
        };
        let all = Progress {
            materials: 2,
            materials_completed: 2,
            ..Progress::default()
        };
        assert_eq!(
            after_activity(ELearning, S::InProgress, Activity::CompletedMaterial, half),
            Ok(S::InProgress)
        );
        assert_eq!(
            after_activity(ELearning, S::InProgress, Activity::CompletedMaterial, all),
            Ok(S::Completed)
        );
    }

    #[test]
    fn instructor_led_completes_when_every_enrolled_session_is_attended() {
        let one_of_two = Progress {
            sessions: 2,
            sessions_attended: 1,
            ..Progress::default()
        };
        let both = Progress {
            sessions: 2,
            sessions_attended: 2,
            ..Progress::default()
        };
        assert_eq!(
            after_activity(
                InstructorLed,
                S::Enrolled,
                Activity::AttendedSession,
                one_of_two
            ),
            Ok(S::InProgress)
        );
        assert_eq!(
            after_activity(
                InstructorLed,
                S::InProgress,
                Activity::AttendedSession,
                both
            ),
            Ok(S::Completed)
        );
        assert_eq!(
            after_activity(ELearning, S::InProgress, Activity::AttendedSession, both),
            Err(LifecycleError::NotInstructorLed)
        );
    }

    #[test]
    fn waiting_suspended_and_overbooked_learners_have_no_access() {
        for status in [S::Waiting, S::Suspended, S::Overbooked] {
            let err = after_activity(
                ELearning,
                status,
                Activity::OpenedCourse,
                Progress::default(),
            );
            assert_eq!(err, Err(LifecycleError::NoAccess { status }));
        }
    }

    #[test]
    fn to_confirm_sees_material_but_cannot_attend_the_session() {
        let p = Progress {
            materials: 2,
            sessions: 1,
            ..Progress::default()
        };
        assert_eq!(
            after_activity(InstructorLed, S::ToConfirm, Activity::OpenedCourse, p),
            Ok(S::ToConfirm)
        );
        assert!(after_activity(InstructorLed, S::ToConfirm, Activity::AttendedSession, p).is_err());
        assert!(
            after_activity(ELearning, S::ToConfirm, Activity::OpenedCourse, p).is_err(),
            "like waiting"
        );
    }

    #[test]
    fn the_first_learning_activity_makes_an_activated_user_active() {
        assert_eq!(
            user_after_activity(UserStatus::Activated),
            UserStatus::Active
        );
        assert_eq!(user_after_activity(UserStatus::Active), UserStatus::Active);
        assert_eq!(
            user_after_activity(UserStatus::Deactivated),
            UserStatus::Deactivated
        );
    }

    #[test]
    fn app_access_needs_an_email_address() {
        assert_eq!(
            check_app_access_grant(false),
            Err(LifecycleError::AppAccessNeedsEmail)
        );
        assert!(check_app_access_grant(true).is_ok());
    }

    #[test]
    fn the_learner_app_refuses_switched_off_and_expired_access() {
        use time::macros::date;
        let today = date!(2027 - 01 - 10);
        assert_eq!(may_use_app(None, today), Err(LifecycleError::AppAccessOff));
        let ended = AppAccess {
            until: Some(date!(2027 - 01 - 09)),
            elearning: true,
        };
        assert!(matches!(
            may_use_app(Some(ended), today),
            Err(LifecycleError::AppAccessExpired { .. })
        ));
        let last_day = AppAccess {
            until: Some(today),
            elearning: false,
        };
        assert!(may_use_app(Some(last_day), today).is_ok());
        assert!(
            may_use_app(
                Some(AppAccess {
                    until: None,
                    elearning: false
                }),
                today
            )
            .is_ok()
        );
    }

    #[test]
    fn an_invitation_template_carries_the_login_details() {
        assert_eq!(
            InvitationTemplate::parse("Welcome", "Hello {name}")
                .unwrap_err()
                .field,
            "body"
        );
        let t =
            InvitationTemplate::parse("Welcome to {tenant}", "Hi {name}: {username} / {password}")
                .unwrap();
        let (subject, body) = t.render("Ann", "ann", "s3cret-pass", "Acme");
        assert_eq!(subject, "Welcome to Acme");
        assert_eq!(body, "Hi Ann: ann / s3cret-pass");
    }

    #[test]
    fn a_plan_is_not_started_while_enrolled_courses_are_untouched() {
        assert_eq!(
            plan_status(&[S::Enrolled, S::Enrolled]),
            PlanStatus::NotStarted
        );
        assert_eq!(
            plan_status(&[S::Enrolled, S::Waiting]),
            PlanStatus::NotStarted
        );
        assert_eq!(plan_status(&[]), PlanStatus::NotEnrolled);
    }

    #[test]
    fn a_plan_is_in_progress_when_a_course_is_in_progress() {
        assert_eq!(
            plan_status(&[S::InProgress, S::Waiting]),
            PlanStatus::InProgress
        );
    }

    #[test]
    fn a_plan_is_in_progress_when_one_course_is_completed_and_another_still_enrolled() {
        assert_eq!(
            plan_status(&[S::Completed, S::Enrolled]),
            PlanStatus::InProgress
        );
    }

    #[test]
    fn a_plan_is_completed_when_every_course_is_completed_or_blocked() {
        assert_eq!(
            plan_status(&[S::Completed, S::Completed]),
            PlanStatus::Completed
        );
        assert_eq!(
            plan_status(&[
                S::Completed,
                S::Waiting,
                S::ToConfirm,
                S::Suspended,
                S::Overbooked
            ]),
            PlanStatus::Completed
        );
    }
}
