//! The HTTP surface: one module per resource, assembled here.

pub mod access;
pub mod app;
pub mod audit;
pub mod courses;
pub mod groups;
pub mod health;
pub mod session;
pub mod tenants;
pub mod tokens;
pub mod users;

use registrar_domain::ValidationError;
use registrar_store::{Page, PageRequest, StoreResult};

use crate::error::ApiError;

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
