use registrar_domain::ValidationError;
use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The row does not exist *in this tenant*; rows of other tenants are indistinguishable
    /// from rows that do not exist.
    #[error("{entity} {id:?} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{field} {value:?} is already taken")]
    Conflict { field: &'static str, value: String },
    /// A reference to another row (a primary group, a parent group) that does not exist in the
    /// tenant.
    #[error("{field} {value:?} does not exist")]
    MissingReference { field: &'static str, value: String },
    /// A change that would break a structural rule of the model, e.g. a group nesting cycle.
    #[error("{0}")]
    Rule(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A lifecycle rule refused the change (an illegal transition, a full course, no access).
    #[error(transparent)]
    Lifecycle(#[from] registrar_domain::lifecycle::LifecycleError),
    /// The tenant changed since the caller validated its write; it should catch up and retry.
    #[error("the tenant changed meanwhile (expected revision {expected}, found {actual})")]
    Stale { expected: i64, actual: i64 },
    /// A conditional write (`If-Match`) found the row at another version: nothing was written.
    #[error("{entity} {id} is at version {actual}, not {expected}: read it again")]
    VersionMismatch {
        entity: &'static str,
        id: String,
        expected: i64,
        actual: i64,
    },
    /// A row that no longer parses into a domain value: a bug or a hand-edited database.
    #[error("stored {entity} is corrupt: {detail}")]
    Corrupt {
        entity: &'static str,
        detail: String,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// Turns a unique or foreign-key violation into the error that names the offending field.
    /// `unique` lists the fields a unique constraint of the statement covers, most specific
    /// first; SQLite reports column names and PostgreSQL constraint names, and both contain the
    /// field's column name, so matching on it works for both.
    pub(crate) fn from_write(
        err: sqlx::Error,
        unique: &[(&'static str, &str)],
        references: &[(&'static str, &str)],
    ) -> Self {
        if let Some(db) = err.as_database_error() {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            if db.is_unique_violation() {
                let hit = unique
                    .iter()
                    .find(|(column, _)| text.contains(column))
                    .or(unique.first());
                if let Some((field, value)) = hit {
                    return StoreError::Conflict {
                        field: column_field(field),
                        value: (*value).to_owned(),
                    };
                }
            }
            if db.is_foreign_key_violation() {
                // SQLite does not say which key failed; name the first non-empty reference.
                let hit = references
                    .iter()
                    .find(|(column, v)| !v.is_empty() && text.contains(column))
                    .or(references.iter().find(|(_, v)| !v.is_empty()));
                if let Some((field, value)) = hit {
                    return StoreError::MissingReference {
                        field: column_field(field),
                        value: (*value).to_owned(),
                    };
                }
            }
        }
        StoreError::Database(err)
    }
}

/// Column names are what the database reports; the API speaks of fields.
fn column_field(column: &'static str) -> &'static str {
    match column {
        "primary_group_id" => "primary_group",
        "parent_id" => "parent",
        other => other,
    }
}
