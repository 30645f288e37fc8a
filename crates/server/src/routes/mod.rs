//! The HTTP surface: one module per resource, assembled here.

pub mod access;
pub mod app;
pub mod audit;
pub mod courses;
pub mod deployments;
pub mod groups;
pub mod health;
pub mod imports;
pub mod invitations;
pub mod reports;
pub mod review;
pub mod session;
pub mod sessions;
pub mod teams;
pub mod tenants;
pub mod tokens;
pub mod users;

use registrar_domain::ValidationError;
use registrar_domain::ids::UserId;
use registrar_domain::text::Username;
use registrar_domain::user::User;
use registrar_store::StoreError;
use registrar_store::{Page, PageRequest, StoreResult};

use crate::error::{ApiError, ApiResult};
use crate::extract::Member;
use crate::state::AppState;

/// Parses an id taken from the URL path, naming it when malformed.
pub(crate) fn path_id<T>(
    parse: fn(&str) -> Result<T, ValidationError>,
    raw: &str,
) -> Result<T, ApiError> {
    parse(raw).map_err(|e| ApiError::BadRequest(format!("{e} (in the URL path)")))
}

/// Pages through the store until `request.limit` rows the caller may see are found. `next` is
/// the key of the last row returned, and is given only when another visible row exists, so
/// neither the cursor nor a search (`q`) says anything about rows the caller may not see.
/// A caller who sees few rows of a large tenant makes this scan far; the engine's reverse
/// queries are the way to a cheaper plan for them.
pub(crate) async fn visible_page<T, Fut>(
    request: PageRequest,
    mut fetch: impl FnMut(PageRequest) -> Fut,
    visible: impl Fn(&T) -> bool,
    key: impl Fn(&T) -> String,
) -> StoreResult<Page<T>>
where
    Fut: Future<Output = StoreResult<Page<T>>>,
{
    let want = request.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    let mut items: Vec<T> = Vec::with_capacity(want);
    let mut after = request.after.clone();
    loop {
        let page = fetch(PageRequest {
            after: after.clone(),
            limit: PageRequest::MAX_LIMIT,
            search: request.search.clone(),
        })
        .await?;
        let exhausted = page.next.is_none();
        for item in page.items {
            if !visible(&item) {
                continue;
            }
            if items.len() == want {
                let next = items.last().map(&key);
                return Ok(Page { items, next });
            }
            items.push(item);
        }
        if exhausted {
            return Ok(Page { items, next: None });
        }
        after = page.next;
    }
}

/// The one answer about a person the caller may not reach, the same whether that person exists
/// or not: a caller who cannot see everyone learns nothing about which ids and usernames exist.
pub(crate) fn hidden_person(member: &Member, named: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "user {:?} may not users.view on {named:?}: no such user, or one hidden from them",
        member.user.username.as_str()
    ))
}

/// A person named in a request, resolved for the caller: see [`person`].
#[derive(Debug)]
pub(crate) struct Person {
    /// The person's id; for a missing person, a fresh id that names nobody.
    pub id: UserId,
    /// `None` for a missing person.
    user: Option<User>,
    /// Not the caller, and not one they may view (`users.view`), or missing.
    hidden: bool,
    named: String,
}

impl Person {
    /// Makes the answer about a hidden person the answer about a missing one. The act goes on
    /// for both alike (a missing person under an id that names nobody), so rules about the
    /// object acted on (the course, the session) give the same refusal for both; a refusal or
    /// a "not found" that names the person becomes [`hidden_person`].
    pub(crate) fn conceal<T>(&self, member: &Member, result: ApiResult<T>) -> ApiResult<T> {
        match result {
            Err(ApiError::Forbidden(d) | ApiError::NotFound(d))
                if self.hidden && (d.contains(&self.id.to_string()) || d.contains(&self.named)) =>
            {
                Err(hidden_person(member, &self.named))
            }
            other => other,
        }
    }

    /// The person's record, for acts that need more than the id; a missing person is not found
    /// (and [`Self::conceal`] turns that into the hidden answer).
    pub(crate) fn require(&self) -> ApiResult<&User> {
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::NotFound(format!("user {:?} not found", self.named)))
    }

    /// The caller, when a request names nobody and so acts on themselves.
    pub(crate) fn me(member: &Member) -> Self {
        Person {
            id: member.user.id,
            user: Some(member.user.clone()),
            hidden: false,
            named: member.user.username.to_string(),
        }
    }
}

/// Resolves a person named in a request for an act on them. To a caller who does not see every
/// user, a missing person is hidden like an existing one they may not see: see
/// [`Person::conceal`].
pub(crate) async fn person(state: &AppState, member: &Member, raw: &str) -> ApiResult<Person> {
    match user_ref(state, member, raw).await {
        Ok(user) => Ok(Person {
            id: user.id,
            hidden: state.hides(member, user.id),
            user: Some(user),
            named: raw.to_owned(),
        }),
        Err(ApiError::NotFound(_)) if !state.sees_all_users(member) => Ok(Person {
            id: UserId::new(),
            user: None,
            hidden: true,
            named: raw.to_owned(),
        }),
        Err(e) => Err(e),
    }
}

/// A user of the caller's tenant named in a request by id or by username: the one place where
/// request input is turned into a person, so every endpoint says "not found" the same way.
pub(crate) async fn user_ref(state: &AppState, member: &Member, raw: &str) -> ApiResult<User> {
    let found = match UserId::parse(raw) {
        Ok(id) => state.store.user(member.tenant, id).await,
        Err(_) => {
            let name = Username::parse(raw).map_err(|_| {
                ApiError::invalid(
                    "user",
                    format!("{raw:?} is neither a user id nor a username"),
                )
            })?;
            state.store.user_by_username(member.tenant, &name).await
        }
    };
    found.map_err(|e| match e {
        StoreError::NotFound { .. } => ApiError::NotFound(format!("user {raw:?} not found")),
        other => other.into(),
    })
}
