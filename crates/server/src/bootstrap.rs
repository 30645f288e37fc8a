//! Creating tenants, administrators and tokens: shared by the operator API, the command line and
//! the demo data, so a password is hashed and a secret is minted in exactly one way.

use registrar_domain::ids::{TenantId, TokenId, UserId};
use registrar_domain::tenant::{Preset, Tenant, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Password, Username};
use registrar_domain::user::{User, UserStatus};
use registrar_store::{Actor, NewTenant, NewToken, NewUser, Store, TokenKind, TokenRecord};

use crate::auth::{hash_password, new_secret, secret_hash};
use crate::error::ApiError;

/// The first administrator of a new tenant.
#[derive(Debug, Clone)]
pub struct AdminSpec {
    pub username: Option<Username>,
    pub email: Option<Email>,
    pub display_name: Name,
    pub password: Password,
}

impl AdminSpec {
    pub(crate) async fn into_new_user(self) -> Result<NewUser, ApiError> {
        let username = match (self.username, &self.email) {
            (Some(u), _) => u,
            (None, Some(e)) => Username::from_email(e)?,
            (None, None) => {
                return Err(ApiError::invalid(
                    "username",
                    "an administrator needs a username or an email",
                ));
            }
        };
        Ok(NewUser {
            username,
            email: self.email,
            display_name: self.display_name,
            labels: Labels::default(),
            status: UserStatus::Activated,
            expires_on: None,
            primary_group: None,
            also_joins: Vec::new(),
            superadmin: true,
            password_hash: Some(hash_password(self.password).await?),
        })
    }
}

pub async fn create_tenant(
    store: &dyn Store,
    actor: &Actor,
    slug: TenantSlug,
    name: Name,
    preset: Preset,
    admin: Option<AdminSpec>,
) -> Result<(Tenant, Option<User>), ApiError> {
    let admin = match admin {
        Some(spec) => Some(spec.into_new_user().await?),
        None => None,
    };
    Ok(store
        .create_tenant(actor, NewTenant { slug, name, preset }, admin)
        .await?)
}

/// Adds a superadmin to an existing tenant (the `admin create` command).
pub async fn create_admin(
    store: &dyn Store,
    actor: &Actor,
    tenant: TenantId,
    spec: AdminSpec,
) -> Result<User, ApiError> {
    let new = spec.into_new_user().await?;
    Ok(store.create_user(actor, tenant, new).await?)
}

/// Mints a secret and stores its hash; the secret is returned once.
pub async fn issue_token(
    store: &dyn Store,
    actor: &Actor,
    owner: Option<(TenantId, UserId)>,
    kind: TokenKind,
    name: &str,
    expires_at: Option<time::OffsetDateTime>,
) -> Result<(TokenRecord, String), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "a token name must be 1 to 100 characters",
        ));
    }
    let secret = new_secret();
    let record = store
        .create_token(
            actor,
            NewToken {
                id: TokenId::new(),
                tenant: owner.map(|(t, _)| t),
                user: owner.map(|(_, u)| u),
                kind,
                name: name.to_owned(),
                secret_hash: secret_hash(&secret),
                csrf_hash: None,
                expires_at,
            },
        )
        .await?;
    Ok((record, secret))
}
