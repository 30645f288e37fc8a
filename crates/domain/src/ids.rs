//! Identifiers. All ids are UUIDs (version 7, time-ordered) so that no id reveals how many
//! objects another tenant holds, and so that ids can be made before a row is written.

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7())
            }
            pub fn from_uuid(id: ::uuid::Uuid) -> Self {
                Self(id)
            }
            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
            pub fn parse(s: &str) -> Result<Self, $crate::ValidationError> {
                ::uuid::Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| $crate::ValidationError::new($field, s, "not a valid id (expected a UUID)"))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

pub(crate) use uuid_id;

uuid_id!(
    /// A tenant: an isolated platform.
    TenantId,
    "tenant id"
);
uuid_id!(
    /// A person (or service account) inside one tenant.
    UserId,
    "user id"
);
uuid_id!(
    /// A group of users inside one tenant.
    GroupId,
    "group id"
);
uuid_id!(
    /// An API token or login session; the secret itself is never stored.
    TokenId,
    "token id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn a_malformed_id_names_its_kind() {
        let err = GroupId::parse("nope").unwrap_err();
        assert_eq!(err.field, "group id");
        assert!(err.to_string().contains("\"nope\""));
    }
}
