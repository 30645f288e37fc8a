//! Sessions and events of a course, and the bookings learners hold on them (SPEC 1 and 3.2).
//!
//! A session is a dated occurrence of an instructor-led course: attending every session one is
//! booked on completes the course. An event is a dated occurrence of any course, with its own
//! administrators who approve its bookings. Both have a capacity and may ask for approval; a
//! booking that awaits approval is `to_confirm` (the learner sees material, cannot attend), one
//! beyond the capacity is `waiting`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::access::{EnrollmentStatus, LearningObject, ObjectId, ObjectKind, ObjectRef};
use crate::ids::{TenantId, UserId};
use crate::lifecycle::{CourseType, LifecycleError};
use crate::text::Name;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Session,
    Event,
}

impl SessionKind {
    pub fn code(self) -> &'static str {
        match self {
            SessionKind::Session => "session",
            SessionKind::Event => "event",
        }
    }

    pub fn parse(input: &str) -> Result<Self, crate::ValidationError> {
        match input {
            "session" => Ok(SessionKind::Session),
            "event" => Ok(SessionKind::Event),
            _ => Err(crate::ValidationError::new(
                "kind",
                input,
                "must be session or event",
            )),
        }
    }

    /// What the decision engine calls a learning object of this kind.
    pub fn object_kind(self) -> ObjectKind {
        match self {
            SessionKind::Session => ObjectKind::Session,
            SessionKind::Event => ObjectKind::Event,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    pub course: ObjectId,
    pub kind: SessionKind,
    pub title: Name,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    /// Places; bookings beyond it wait.
    pub capacity: Option<u32>,
    /// Bookings wait as `to_confirm` until someone holding `enrollments.approve` here confirms.
    pub approval_required: bool,
}

impl Session {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new(self.kind.object_kind(), self.id)
    }

    /// Inside its course, so course-level responsibilities reach it.
    pub fn learning_object(&self) -> LearningObject {
        LearningObject::new(self.object())
            .with_parent(ObjectRef::new(ObjectKind::Course, self.course))
    }
}

/// Years a session or event may be dated in. Far beyond any real calendar, and well inside what
/// the store's timestamps and RFC 3339 can hold in every offset (a date in year 9999 with a
/// negative offset is in year 10000 in UTC, which neither can).
pub const SESSION_YEARS: std::ops::RangeInclusive<i32> = 1970..=9000;

/// Parses an RFC 3339 date and time (`2027-03-01T09:00:00+02:00`) and keeps it in UTC, as the
/// store does, so what is accepted reads back the same.
pub fn parse_instant(
    field: &'static str,
    raw: &str,
) -> Result<OffsetDateTime, crate::ValidationError> {
    let bad = |reason| crate::ValidationError::new(field, raw, reason);
    let t = OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad("must be a date and time like 2027-03-01T09:00:00Z"))?;
    let utc = t
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|u| SESSION_YEARS.contains(&u.year()))
        .ok_or_else(|| bad("must fall in the years 1970 to 9000 (in UTC)"))?;
    // Milliseconds are what the store keeps.
    utc.replace_millisecond(utc.millisecond())
        .map_err(|_| bad("must be a date and time like 2027-03-01T09:00:00Z"))
}

/// Dates must make a period; checked wherever a session is created or moved.
pub fn check_dates(
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
) -> Result<(), LifecycleError> {
    if ends_at <= starts_at {
        return Err(LifecycleError::EndsBeforeStart);
    }
    Ok(())
}

/// Sessions belong to instructor-led courses; events may date any course.
pub fn check_kind(kind: SessionKind, course: CourseType) -> Result<(), LifecycleError> {
    if kind == SessionKind::Session && course != CourseType::InstructorLed {
        return Err(LifecycleError::NotInstructorLed);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    ToConfirm,
    Waiting,
    Attended,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 4] = [
        BookingStatus::Booked,
        BookingStatus::ToConfirm,
        BookingStatus::Waiting,
        BookingStatus::Attended,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::ToConfirm => "to_confirm",
            BookingStatus::Waiting => "waiting",
            BookingStatus::Attended => "attended",
        }
    }

    pub fn parse(input: &str) -> Result<Self, crate::ValidationError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == input)
            .ok_or_else(|| {
                crate::ValidationError::new(
                    "status",
                    input,
                    "must be booked, to_confirm, waiting or attended",
                )
            })
    }

    /// Whether approving the booking would give it a place: it is to confirm or waiting.
    pub fn awaits_a_decision(self) -> bool {
        matches!(self, BookingStatus::ToConfirm | BookingStatus::Waiting)
    }

    /// Whether attendance is still to be marked on a confirmed place.
    pub fn attendable(self) -> bool {
        self == BookingStatus::Booked
    }

    /// Whether the booking awaits approval (the learner may not attend that session yet).
    pub fn awaits_approval(self) -> bool {
        self == BookingStatus::ToConfirm
    }

    /// Whether the booking counts towards completing an instructor-led course: it holds a place
    /// or awaits approval for one, unlike a place on the waiting list.
    pub fn counts_towards_completion(self) -> bool {
        self != BookingStatus::Waiting
    }

    /// Whether the booking holds one of the session's places. Bookings awaiting approval or a
    /// place do not: approving them needs room.
    pub fn takes_a_place(self) -> bool {
        matches!(self, BookingStatus::Booked | BookingStatus::Attended)
    }
}

impl std::fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub session: ObjectId,
    pub user: UserId,
    pub status: BookingStatus,
    pub booked_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A new booking: only learners with access to the course may book; it awaits approval when the
/// session asks for it, and waits for a place when the session is full.
pub fn new_booking(
    enrollment: EnrollmentStatus,
    approval_required: bool,
    capacity: Option<u32>,
    taken: u32,
) -> Result<BookingStatus, LifecycleError> {
    use EnrollmentStatus as S;
    if matches!(enrollment, S::Waiting | S::Suspended | S::Overbooked) {
        return Err(LifecycleError::NoAccess { status: enrollment });
    }
    Ok(if approval_required {
        BookingStatus::ToConfirm
    } else if capacity.is_some_and(|c| taken >= c) {
        BookingStatus::Waiting
    } else {
        BookingStatus::Booked
    })
}

/// Approving a booking to confirm, or one waiting for a place, books it if there is room.
pub fn approve_booking(
    status: BookingStatus,
    capacity: Option<u32>,
    taken: u32,
) -> Result<BookingStatus, LifecycleError> {
    if !status.awaits_a_decision() {
        return Err(LifecycleError::BookingNotAwaiting { status });
    }
    match capacity {
        Some(c) if taken >= c => Err(LifecycleError::Full { capacity: c }),
        _ => Ok(BookingStatus::Booked),
    }
}

/// Only a confirmed booking can be attended: a learner to confirm may see material but cannot
/// attend that session, and a waiting one has no place. Marking twice changes nothing.
pub fn attend(status: BookingStatus) -> Result<BookingStatus, LifecycleError> {
    match status {
        BookingStatus::Booked | BookingStatus::Attended => Ok(BookingStatus::Attended),
        BookingStatus::ToConfirm | BookingStatus::Waiting => {
            Err(LifecycleError::CannotAttend { status })
        }
    }
}

/// The course enrollment follows its bookings: a not-yet-started learner is `to_confirm` while
/// any booking awaits approval, and back to `enrolled` when none does. Any other status is the
/// learner's progress or an administrator's decision, which bookings do not override.
pub fn enrollment_after_bookings(
    enrollment: EnrollmentStatus,
    any_awaiting_approval: bool,
) -> EnrollmentStatus {
    use EnrollmentStatus as S;
    match (enrollment, any_awaiting_approval) {
        (S::Enrolled, true) => S::ToConfirm,
        (S::ToConfirm, false) => S::Enrolled,
        (other, _) => other,
    }
}

/// The enrollment status that counts for attending one session: the booking decides about its
/// session, so a learner whose enrollment is `to_confirm` because of another session may still
/// attend this confirmed one. The engine's veto on `sessions.attend` follows the same rule.
pub fn enrollment_for_attending(
    enrollment: EnrollmentStatus,
    booking: BookingStatus,
) -> EnrollmentStatus {
    match (enrollment, booking) {
        (EnrollmentStatus::ToConfirm, BookingStatus::Booked | BookingStatus::Attended) => {
            EnrollmentStatus::Enrolled
        }
        (status, _) => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_far_from_any_calendar_are_refused_and_accepted_ones_read_back_in_utc() {
        // Year 9999 with a negative offset is year 10000 in UTC: refused, not stored.
        assert!(parse_instant("starts_at", "9999-12-31T23:00:00-05:00").is_err());
        assert!(parse_instant("starts_at", "1969-12-31T23:59:59Z").is_err());
        let t = parse_instant("starts_at", "2027-03-01T09:00:00.123456+02:00").unwrap();
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        assert_eq!(
            (t.hour(), t.millisecond(), t.nanosecond()),
            (7, 123, 123_000_000)
        );
    }
    use EnrollmentStatus as S;

    #[test]
    fn only_learners_with_course_access_book() {
        for s in [S::Waiting, S::Suspended, S::Overbooked] {
            assert_eq!(
                new_booking(s, false, None, 0),
                Err(LifecycleError::NoAccess { status: s })
            );
        }
        for s in [S::Enrolled, S::InProgress, S::Completed, S::ToConfirm] {
            assert_eq!(new_booking(s, false, None, 0), Ok(BookingStatus::Booked));
        }
    }

    #[test]
    fn a_session_asking_for_approval_books_to_confirm() {
        assert_eq!(
            new_booking(S::Enrolled, true, Some(10), 0),
            Ok(BookingStatus::ToConfirm)
        );
    }

    #[test]
    fn a_full_session_books_waiting() {
        assert_eq!(
            new_booking(S::Enrolled, false, Some(2), 2),
            Ok(BookingStatus::Waiting)
        );
        assert_eq!(
            new_booking(S::Enrolled, false, Some(2), 1),
            Ok(BookingStatus::Booked)
        );
    }

    #[test]
    fn approving_a_booking_needs_room() {
        assert_eq!(
            approve_booking(BookingStatus::ToConfirm, Some(1), 1),
            Err(LifecycleError::Full { capacity: 1 })
        );
        assert_eq!(
            approve_booking(BookingStatus::Waiting, Some(2), 1),
            Ok(BookingStatus::Booked)
        );
        assert_eq!(
            approve_booking(BookingStatus::Booked, None, 0),
            Err(LifecycleError::BookingNotAwaiting {
                status: BookingStatus::Booked
            })
        );
    }

    #[test]
    fn to_confirm_cannot_attend_that_session() {
        assert_eq!(
            attend(BookingStatus::ToConfirm),
            Err(LifecycleError::CannotAttend {
                status: BookingStatus::ToConfirm
            })
        );
        assert!(attend(BookingStatus::Waiting).is_err());
        assert_eq!(attend(BookingStatus::Booked), Ok(BookingStatus::Attended));
        assert_eq!(attend(BookingStatus::Attended), Ok(BookingStatus::Attended));
    }

    #[test]
    fn the_enrollment_is_to_confirm_while_a_booking_awaits_approval() {
        assert_eq!(enrollment_after_bookings(S::Enrolled, true), S::ToConfirm);
        assert_eq!(enrollment_after_bookings(S::ToConfirm, false), S::Enrolled);
        assert_eq!(
            enrollment_after_bookings(S::InProgress, true),
            S::InProgress
        );
        assert_eq!(enrollment_after_bookings(S::Suspended, false), S::Suspended);
    }

    #[test]
    fn a_confirmed_booking_is_attended_while_another_awaits_approval() {
        assert_eq!(
            enrollment_for_attending(S::ToConfirm, BookingStatus::Booked),
            S::Enrolled
        );
        assert_eq!(
            enrollment_for_attending(S::ToConfirm, BookingStatus::ToConfirm),
            S::ToConfirm
        );
        assert_eq!(
            enrollment_for_attending(S::Suspended, BookingStatus::Booked),
            S::Suspended
        );
    }

    #[test]
    fn sessions_belong_to_instructor_led_courses_and_events_to_any() {
        assert!(check_kind(SessionKind::Session, CourseType::ELearning).is_err());
        assert!(check_kind(SessionKind::Event, CourseType::ELearning).is_ok());
        assert!(check_kind(SessionKind::Session, CourseType::InstructorLed).is_ok());
    }

    #[test]
    fn a_session_ends_after_it_starts() {
        let t = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(check_dates(t, t), Err(LifecycleError::EndsBeforeStart));
        assert!(check_dates(t, t + time::Duration::hours(1)).is_ok());
    }
}
