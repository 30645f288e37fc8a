//! CSV import (`import::check_offline`: the importer's header and row rules, without a store)
//! over a small group-roles tenant: no panic, counts add up, and every refusal names the line it
//! is on (the header is line 1) and a column Registrar knows.
//!
//! The first byte picks the format (bits 0-1), whether the next line is a column mapping
//! (bit 2), and whether an ordinary member imports instead of a superadmin (bit 3); the rest is
//! the file.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use registrar_domain::import::{ColumnMapping, Format, is_field};
use registrar_domain::tenant::Preset;
use registrar_fuzz::{Tenant, tenant};
use registrar_server::error::ApiError;
use registrar_server::import::{ImportError, check_offline};

fn fixture() -> &'static Tenant {
    static T: OnceLock<Tenant> = OnceLock::new();
    T.get_or_init(|| tenant(Preset::GroupRoles))
}

/// "line N: column", as file errors name their field.
fn file_line(field: &str) -> Option<u64> {
    field.strip_prefix("line ")?.split(':').next()?.parse().ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut file)) = data.split_first() else {
        return;
    };
    let format = [
        Format::Users,
        Format::GroupRoles,
        Format::Status,
        Format::Managers,
    ][usize::from(flags & 3)];
    let mapping = if flags & 4 != 0 {
        let end = file.iter().position(|b| *b == b'\n').unwrap_or(file.len());
        let line = String::from_utf8_lossy(&file[..end]).into_owned();
        file = file.get(end + 1..).unwrap_or(&[]);
        match ColumnMapping::parse(&line) {
            Ok(m) => m,
            Err(_) => return,
        }
    } else {
        ColumnMapping::default()
    };
    let t = fixture();
    let importer = if flags & 8 != 0 { t.learner } else { t.admin };
    match check_offline(t.model.clone(), t.tenant, importer, file, format, &mapping) {
        Ok(report) => {
            assert_eq!(
                report.rows,
                report.created + report.updated + report.unchanged + report.refused,
                "{report:?}"
            );
            assert_eq!(report.errors.len() as u64, report.refused.min(1_000));
            assert!(!report.applied && report.dry_run);
            for e in &report.errors {
                assert!(e.line >= 2, "a row error before the first row: {e:?}");
                assert!(
                    (e.column.is_empty() || is_field(&e.column)),
                    "a row error names no known column: {e:?}"
                );
                assert!(!e.reason.is_empty());
            }
        }
        Err(ImportError::Api(ApiError::Invalid { field, detail })) => {
            let field = field.expect("a file error names where");
            let line = file_line(&field);
            assert!(line.is_some_and(|l| l >= 1), "{field:?}: {detail}");
        }
        Err(ImportError::Api(other)) => panic!("an in-memory file fails with {other:?}"),
        Err(ImportError::Refused(_)) => panic!("a dry run never refuses the whole file"),
    }
});
