//! `registrar import`, `registrar export` and `registrar bench-csv`: parsing and printing; the
//! work is the server library's, so a file imports the same way here and over HTTP.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use registrar_domain::import::{ColumnMapping, Format};
use registrar_server::export::ExportKind;
use registrar_server::import::{ImportError, ImportOptions, ImportReport};

use crate::commands::{Database, acting};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    db: Database,
    /// The tenant's slug.
    #[arg(long)]
    tenant: String,
    /// Who imports (username); every row is checked by the engine as them.
    #[arg(long = "as")]
    importer: String,
    /// users, group-roles, status or managers.
    #[arg(long, default_value = "users")]
    format: String,
    /// Map the file's columns onto fields: "Mail=email,Full name=display_name,Dept=label:dept".
    #[arg(long)]
    mapping: Option<String>,
    /// Check every row and report; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// The CSV file (UTF-8; `,` `;` or tab; a byte order mark is fine).
    file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    db: Database,
    /// The tenant's slug.
    #[arg(long)]
    tenant: String,
    /// Whose view (username): only what they may see is exported.
    #[arg(long = "as")]
    viewer: String,
    /// users, grants or enrollments.
    kind: String,
    /// Write here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchCsvArgs {
    /// Data rows to write.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// Rows with an invalid email, spread evenly through the file.
    #[arg(long, default_value_t = 0)]
    bad: u64,
}

fn print_report(r: &ImportReport) {
    println!(
        "{} {} rows ({}): {} created, {} updated, {} unchanged, {} refused",
        if r.applied {
            "imported"
        } else if r.dry_run {
            "checked (dry run, nothing changed)"
        } else {
            "refused"
        },
        r.rows,
        r.format,
        r.created,
        r.updated,
        r.unchanged,
        r.refused
    );
    for e in &r.errors {
        eprintln!("{e}");
    }
    if (r.refused as usize) > r.errors.len() {
        eprintln!("... and {} more", r.refused as usize - r.errors.len());
    }
}

pub async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let options = ImportOptions {
        format: Format::parse(&args.format)?,
        mapping: ColumnMapping::parse(args.mapping.as_deref().unwrap_or_default())?,
        dry_run: args.dry_run,
        source: args.file.display().to_string(),
    };
    let (store, tenant, importer, model) = acting(&args.db, &args.tenant, &args.importer).await?;
    let size = std::fs::metadata(&args.file)?.len();
    let bar = ProgressBar::new(size).with_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {elapsed} eta {eta}",
    )?);
    let result = registrar_server::import::run(
        store.as_ref(),
        &model,
        tenant,
        importer.id,
        std::fs::File::open(&args.file)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", args.file.display()))?,
        &options,
        &|read| bar.set_position(read),
    )
    .await;
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            print_report(&report);
            Ok(if report.refused > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(ImportError::Refused(report)) => {
            print_report(&report);
            println!("nothing was imported");
            Ok(ExitCode::FAILURE)
        }
        Err(ImportError::Api(e)) => Err(e.into()),
    }
}

pub async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let kind = ExportKind::parse(&args.kind)?;
    let (store, tenant, viewer, model) = acting(&args.db, &args.tenant, &args.viewer).await?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::stdout().lock()),
    };
    let n = registrar_server::export::write(store.as_ref(), &model, tenant, viewer.id, kind, out)
        .await?;
    eprintln!("exported {n} rows");
    Ok(ExitCode::SUCCESS)
}

/// A users file for measuring imports: the same bytes for the same arguments.
pub fn bench_csv(args: BenchCsvArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "email,display_name,status,label:dept")?;
    let every = if args.bad == 0 {
        u64::MAX
    } else {
        (args.rows / (args.bad + 1)).max(1)
    };
    let mut bad = 0;
    for i in 1..=args.rows {
        let email = if i % every == 0 && bad < args.bad {
            bad += 1;
            format!("not-an-email-{i}")
        } else {
            format!("user{i:07}@bench.example")
        };
        let name = if i % 10 == 0 {
            format!("Zoë Ångström {i}")
        } else {
            format!("Bench User {i}")
        };
        writeln!(out, "{email},{name},activated,dept-{}", i % 20)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
