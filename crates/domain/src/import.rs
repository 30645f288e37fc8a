//! CSV import and export rules that need no I/O: the row formats, the column mapping of the
//! generic format, delimiter detection, and the neutralising of cells a spreadsheet would run.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::error::ValidationError;

/// What the rows of an import file mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One user per row, created when neither the email nor the username is known, updated
    /// otherwise. Columns: `email`, `username`, `display_name`, `status`, `expires_on`,
    /// `primary_group`, `labels` (`key=value;key=value`) and any `label:KEY` column.
    Users,
    /// The group-roles preset's format: one line per role per group (`email`, `role` as a digit,
    /// `group_id`), plus any user column; the user is created when unknown.
    GroupRoles,
    /// Bulk activation and deactivation: `email` or `username`, and `status`.
    Status,
    /// Line management: `manager` and `managee`, each an email or a username.
    Managers,
}

impl Format {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        match input.trim() {
            "users" => Ok(Format::Users),
            "group-roles" => Ok(Format::GroupRoles),
            "status" => Ok(Format::Status),
            "managers" => Ok(Format::Managers),
            other => Err(ValidationError::new(
                "format",
                other,
                "formats are users, group-roles, status and managers",
            )),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Format::Users => "users",
            Format::GroupRoles => "group-roles",
            Format::Status => "status",
            Format::Managers => "managers",
        }
    }

    /// Columns every row of the format must have.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Format::Users => &[],
            Format::GroupRoles => &["email", "role", "group_id"],
            Format::Status => &["status"],
            Format::Managers => &["manager", "managee"],
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Column names Registrar understands; anything else must be mapped or is refused, so a typo in
/// a header never silently drops a column.
pub const FIELDS: &[&str] = &[
    "email",
    "username",
    "display_name",
    "status",
    "expires_on",
    "primary_group",
    "labels",
    "role",
    "group_id",
    "manager",
    "managee",
];

/// The generic format: the file's own column names mapped onto Registrar's fields, written
/// `Their column=field,Other=field`. Unmapped columns keep their names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMapping(BTreeMap<String, String>);

impl ColumnMapping {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let mut map = BTreeMap::new();
        for pair in input.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((from, to)) = pair.split_once('=') else {
                return Err(ValidationError::new(
                    "mapping",
                    pair,
                    "write each mapping as `their column=field`",
                ));
            };
            let to = to.trim();
            if !is_field(to) {
                return Err(ValidationError::new(
                    "mapping",
                    to,
                    "not a field Registrar knows (email, username, display_name, status, \
                     expires_on, primary_group, labels, label:KEY, role, group_id, manager, \
                     managee)",
                ));
            }
            map.insert(from.trim().to_owned(), to.to_owned());
        }
        Ok(Self(map))
    }

    /// The field a header names: mapped, or itself, trimmed and lower-cased.
    pub fn field(&self, header: &str) -> String {
        let header = header.trim();
        match self.0.get(header) {
            Some(f) => f.clone(),
            None => header.to_lowercase(),
        }
    }
}

/// A known field, or `label:KEY` (one label per column).
pub fn is_field(name: &str) -> bool {
    FIELDS.contains(&name) || name.strip_prefix("label:").is_some_and(|k| !k.is_empty())
}

/// Picks the delimiter from the header line: the one of `,` `;` tab that occurs most (outside
/// quotes), comma when none does.
pub fn detect_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in header_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for c in counts.iter_mut() {
                if c.0 == b {
                    c.1 += 1;
                }
            }
        }
    }
    counts
        .iter()
        .filter(|c| c.1 > 0)
        .max_by_key(|c| c.1)
        .map_or(b',', |c| c.0)
}

/// The UTF-8 byte order mark that spreadsheet programs put in front of a CSV file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Makes a cell safe to open in a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`, tab
/// or carriage return would be read as a formula (and could run commands), so it gets a leading
/// `'`, which spreadsheets show as text.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Labels written in one cell as `key=value;key=value`.
pub fn parse_labels_cell(cell: &str) -> Result<BTreeMap<String, String>, ValidationError> {
    let mut map = BTreeMap::new();
    for pair in cell.split(';').filter(|p| !p.trim().is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(ValidationError::new(
                "labels",
                pair,
                "write labels as `key=value;key=value`",
            ));
        };
        map.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(map)
}

/// Why one row of a file was refused: the line it is on (the header is line 1), the column
/// and the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_left_alone() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for ok in ["Ann", "", "a=b", "'quoted"] {
            assert_eq!(neutralise(ok), ok);
        }
    }

    #[test]
    fn the_delimiter_is_the_most_frequent_separator_outside_quotes() {
        assert_eq!(detect_delimiter(b"email;display_name;status"), b';');
        assert_eq!(detect_delimiter(b"email\tdisplay_name"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b;c\",d,e"), b',');
        assert_eq!(detect_delimiter(b"email"), b',');
    }

    #[test]
    fn a_mapping_renames_columns_and_refuses_unknown_fields() {
        let m = ColumnMapping::parse("Mail=email, Full name=display_name,Dept=label:dept").unwrap();
        assert_eq!(m.field("Mail"), "email");
        assert_eq!(m.field(" Full name "), "display_name");
        assert_eq!(m.field("Dept"), "label:dept");
        assert_eq!(m.field("Status"), "status");
        assert!(ColumnMapping::parse("Mail=e-mail").is_err());
        assert!(ColumnMapping::parse("Mail").is_err());
    }

    #[test]
    fn labels_in_one_cell_are_key_value_pairs() {
        let l = parse_labels_cell("dept=Sales; site = Lyon").unwrap();
        assert_eq!(l.get("site").map(String::as_str), Some("Lyon"));
        assert!(parse_labels_cell("dept").is_err());
    }
}
