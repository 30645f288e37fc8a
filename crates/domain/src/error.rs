use thiserror::Error;

/// Input that does not make a valid domain value. Carries the field so that the HTTP edge, the
/// CSV importer and SCIM can all say *where* the problem is without re-validating.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {field} {value:?}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub value: String,
    pub reason: &'static str,
}

/// A count or length from input, bounded far beyond real use so that nothing downstream (date
/// arithmetic, capacity sums, storage) can overflow on it.
pub fn bounded(
    field: &'static str,
    value: u32,
    max: u32,
    reason: &'static str,
) -> Result<u32, ValidationError> {
    if value <= max {
        Ok(value)
    } else {
        Err(ValidationError::new(field, value.to_string(), reason))
    }
}

impl ValidationError {
    pub fn new(field: &'static str, value: impl Into<String>, reason: &'static str) -> Self {
        // Echoing a megabyte of garbage back helps nobody; keep the quoted input short.
        let mut value = value.into();
        if value.chars().count() > 80 {
            value = value.chars().take(77).collect::<String>() + "...";
        }
        Self {
            field,
            value,
            reason,
        }
    }
}
