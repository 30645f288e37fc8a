//! Validated text values: email, username, display names, labels, passwords.
//!
//! Each type normalises on construction (trim, case-fold where identity is case-insensitive) so
//! that uniqueness in the store means what a person would expect: `Ann@Example.com` and
//! `ann@example.com` are one login.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The one case-folding rule for identities (emails and usernames): trimmed, then Unicode
/// lower-cased. Lower-casing can change a string's length and even its validity ("İ" becomes
/// "i" plus a combining dot above), so every rule is checked on the folded form, never on the
/// input: what is stored is exactly what parses back.
pub fn fold_identity(input: &str) -> String {
    input.trim().to_lowercase()
}

/// An email address, lower-cased. Deliberately simpler than RFC 5322: one `@`, a non-empty local
/// part, a dotted domain, no spaces or control characters. Anything odder is a typo in practice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let folded = fold_identity(input);
        let s = folded.as_str();
        let bad = |reason| Err(ValidationError::new("email", input, reason));
        if s.is_empty() {
            return bad("must not be empty");
        }
        if s.len() > 254 {
            return bad("must be at most 254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("must not contain spaces or control characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("must contain an @");
        };
        if local.is_empty() || local.len() > 64 {
            return bad("the part before @ must be 1 to 64 characters");
        }
        if domain.contains('@') {
            return bad("must contain exactly one @");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return bad("the domain after @ must be a dotted name like example.com");
        }
        Ok(Self(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A login name, unique per tenant and separate from the email (it defaults to the email).
/// Case-insensitive, so stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let folded = fold_identity(input);
        let s = folded.as_str();
        let bad = |reason| Err(ValidationError::new("username", input, reason));
        if s.is_empty() {
            return bad("must not be empty");
        }
        if s.chars().count() > 128 {
            return bad("must be at most 128 characters");
        }
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
        {
            return bad(
                "may contain only letters, digits and . _ - @ + (checked after lower-casing)",
            );
        }
        Ok(Self(folded))
    }

    /// The username an account gets when none is given. Not every valid email is a valid
    /// username (`o'brien@...`); then the caller must name one.
    pub fn from_email(email: &Email) -> Result<Self, ValidationError> {
        Self::parse(email.as_str()).map_err(|_| {
            ValidationError::new(
                "username",
                email.as_str(),
                "the email cannot serve as a username (it has characters a username may not); give a username",
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A human-readable name (of a person, group or tenant): trimmed, 1 to 200 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &'static str, input: &str) -> Result<Self, ValidationError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ValidationError::new(field, input, "must not be empty"));
        }
        if s.chars().count() > 200 {
            return Err(ValidationError::new(
                field,
                input,
                "must be at most 200 characters",
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ValidationError::new(
                field,
                input,
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What names sort by: without accents (compatibility decomposition, combining marks
    /// dropped) and lower-cased, so that "élodie", "Elodie" and "ELODIE" sit together and both
    /// backends order them alike (the store keeps it beside the name, compared byte by byte).
    pub fn sort_key(&self) -> String {
        use unicode_normalization::UnicodeNormalization;
        use unicode_normalization::char::is_combining_mark;
        self.0
            .nfkd()
            .filter(|c| !is_combining_mark(*c))
            .collect::<String>()
            .to_lowercase()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free key/value fields on a user ("extra fields" in the reference platforms: department, cost
/// centre, ...). Keys are short identifiers so that CSV columns and SCIM attributes map onto them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Labels(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(BTreeMap::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl Labels {
    pub const MAX_LABELS: usize = 50;

    pub fn parse(map: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        if map.len() > Self::MAX_LABELS {
            return Err(ValidationError::new(
                "labels",
                format!("{} labels", map.len()),
                "at most 50 labels per user",
            ));
        }
        for (key, value) in &map {
            let key_ok = !key.is_empty()
                && key.len() <= 64
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !key_ok {
                return Err(ValidationError::new(
                    "label key",
                    key,
                    "must be 1 to 64 characters of a-z, 0-9, _ - .",
                ));
            }
            if value.chars().count() > 1000 || value.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    "label value",
                    value,
                    "must be at most 1000 characters without control characters",
                ));
            }
        }
        Ok(Self(map))
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// A password as typed, before hashing. Never serialised and never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let n = input.chars().count();
        // The offending value is not echoed: it is a secret.
        if n < Self::MIN_CHARS {
            return Err(ValidationError::new(
                "password",
                "(hidden)",
                "must be at least 12 characters",
            ));
        }
        if input.len() > 1024 {
            return Err(ValidationError::new(
                "password",
                "(hidden)",
                "must be at most 1024 bytes",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_without_case_or_accents() {
        let key = |n: &str| Name::parse("name", n).unwrap().sort_key();
        assert_eq!(key("Élodie"), "elodie");
        assert_eq!(key("ELODIE"), key("elodie"));
        assert_eq!(key("İnes"), "ines");
        assert_eq!(key("ﬁona"), "fiona");
        let mut names = ["zoe", "Émile", "adam", "Bea", "émilie"];
        names.sort_by_key(|n| key(n));
        assert_eq!(names, ["adam", "Bea", "Émile", "émilie", "zoe"]);
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused_with_a_reason() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@x.io",
            "a@b@c.io",
            "a@-x.io",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
        }
    }

    #[test]
    fn a_username_defaults_to_a_valid_email() {
        let email = Email::parse("a.b+c@x-y.io").unwrap();
        let from = Username::from_email(&email).unwrap();
        assert_eq!(Username::parse(from.as_str()), Ok(from));
    }

    #[test]
    fn an_email_with_characters_a_username_refuses_needs_a_username() {
        let email = Email::parse("o'brien@example.com").unwrap();
        assert_eq!(Username::from_email(&email).unwrap_err().field, "username");
    }

    #[test]
    fn usernames_refuse_spaces_and_punctuation() {
        assert!(Username::parse("ann smith").is_err());
        assert!(Username::parse("ann;drop").is_err());
        assert_eq!(Username::parse("Ann.Smith").unwrap().as_str(), "ann.smith");
    }

    #[test]
    fn a_dotted_capital_i_is_refused_rather_than_stored_in_a_form_that_does_not_parse() {
        // "İ" lower-cases to "i" plus U+0307, which is not a letter: the folded form decides.
        let err = Username::parse("İnes").unwrap_err();
        assert_eq!(err.field, "username");
        assert!(Email::parse("ines@İstanbul.example").is_err());
        // The part before @ may hold any printable character; the folded form is what is kept.
        let e = Email::parse("İnes@example.com").unwrap();
        assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
    }

    #[test]
    fn what_parses_parses_again_from_its_stored_form() {
        for raw in ["Ann.Smith", "ÅSA", "straße", "ΣΟΦΙΑ", "dž", "ǅ"] {
            let u = Username::parse(raw).unwrap();
            assert_eq!(Username::parse(u.as_str()), Ok(u.clone()), "{raw}");
        }
        for raw in ["Ann@Example.COM", "ÅSA@bücher.example"] {
            let e = Email::parse(raw).unwrap();
            assert_eq!(Email::parse(e.as_str()), Ok(e.clone()), "{raw}");
        }
    }

    #[test]
    fn lengths_are_checked_on_the_folded_form() {
        // 'Ⱥ' (2 bytes) lower-cases to 'ⱥ' (3 bytes): 64 of them fit the local part's limit
        // only before folding.
        let local = "Ⱥ".repeat(30);
        assert!(Email::parse(&format!("{local}@example.com")).is_err());
    }

    #[test]
    fn labels_deserialise_only_through_their_rules() {
        assert!(serde_json::from_str::<Labels>(r#"{"cost centre": "x"}"#).is_err());
        let ok: Labels = serde_json::from_str(r#"{"dept": "Sales"}"#).unwrap();
        assert_eq!(ok.as_map()["dept"], "Sales");
    }

    #[test]
    fn label_keys_are_identifiers() {
        let mut m = BTreeMap::new();
        m.insert("cost centre".to_owned(), "x".to_owned());
        assert_eq!(Labels::parse(m).unwrap_err().field, "label key");
    }

    #[test]
    fn short_passwords_are_refused_without_echoing_them() {
        let err = Password::parse("hunter2").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
