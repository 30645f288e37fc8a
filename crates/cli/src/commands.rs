use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Email, Name, Password, Username};
use registrar_server::bootstrap::{AdminSpec, create_admin, create_tenant, issue_token};
use registrar_server::mail::{Mailbox, Smtp, Transport};
use registrar_server::readmodel::ReadModel;
use registrar_server::{AppState, Application, Settings};
use registrar_store::{Actor, PageRequest, Store, TokenKind};

/// Registrar: people, roles and access for a learning platform.
#[derive(Debug, Parser)]
#[command(name = "registrar", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Database {
    /// Where the data lives: `sqlite://FILE` or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "REGISTRAR_DATABASE_URL",
        default_value = "sqlite://registrar.db"
    )]
    database_url: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (JSON API, OpenAPI, health and metrics).
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(Database),
    /// Create and list tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Add an administrator (superadmin) to a tenant.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Mint API or operator tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// May this user do this to this object? Exit status 0 when allowed, 3 when denied.
    Check(CheckArgs),
    /// Like `check`, printing the whole explanation as JSON.
    Explain(CheckArgs),
    /// List a tenant's roles.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Grant a role at a scope, validated by the engine as if `--as` granted it.
    Grant(GrantArgs),
    /// Revoke a grant, as `--as`.
    Revoke(RevokeArgs),
    /// Import a CSV file (users, group roles, statuses, managers), checked row by row as `--as`;
    /// all of it or nothing.
    Import(crate::import::ImportArgs),
    /// Export users, grants or enrollments as CSV, cut by what `--as` may see.
    Export(crate::import::ExportArgs),
    /// Write a deterministic users CSV to standard output, for measuring imports.
    BenchCsv(crate::import::BenchCsvArgs),
    /// Run the mail sender on its own: deliver the outbox, then keep following it (or stop
    /// when it is empty, with `--once`). Run one sender per database: `serve` runs one too
    /// unless given `--no-mail-sender`.
    Mail(MailArgs),
    /// Print a fingerprint of a tenant's access model, replayed afresh from the change log, as
    /// JSON: the same as `GET /api/v1/tenants/{id}/digest` answers for a running server.
    Digest {
        #[command(flatten)]
        db: Database,
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
    },
}

/// Where mail goes: SMTP when `--smtp-url` is given, else the mailbox file.
#[derive(Debug, Args)]
struct MailTransportArgs {
    /// File the mail sender delivers to, one JSON line per mail (invitations and their login
    /// details), when no SMTP relay is configured.
    #[arg(long, env = "REGISTRAR_MAILBOX", default_value = "mailbox.jsonl")]
    mailbox: std::path::PathBuf,
    /// SMTP relay, e.g. `smtp://user:pass@mail.example:587?tls=required` or
    /// `smtps://mail.example`. Prefer the environment variable: arguments show in `ps`.
    #[arg(long, env = "REGISTRAR_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// Sender address of outgoing mail (with SMTP).
    #[arg(
        long,
        env = "REGISTRAR_MAIL_FROM",
        default_value = "Registrar <registrar@localhost>"
    )]
    mail_from: String,
}

impl MailTransportArgs {
    fn transport(&self) -> anyhow::Result<Transport> {
        Ok(match &self.smtp_url {
            Some(url) => Transport::Smtp(Smtp::new(url, &self.mail_from)?),
            None => Transport::Mailbox(Mailbox::new(&self.mailbox)),
        })
    }

    fn describe(&self) -> String {
        match &self.smtp_url {
            Some(_) => "the SMTP relay".into(),
            None => self.mailbox.display().to_string(),
        }
    }
}

#[derive(Debug, Args)]
struct MailArgs {
    #[command(flatten)]
    db: Database,
    #[command(flatten)]
    transport: MailTransportArgs,
    /// Stop once the outbox is empty.
    #[arg(long)]
    once: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    db: Database,
    /// The tenant's slug.
    #[arg(long)]
    tenant: String,
    /// Username or user id.
    #[arg(long)]
    user: String,
    /// A permission code, e.g. courses.view.
    #[arg(long)]
    action: String,
    /// kind:uuid, e.g. course:0190...
    #[arg(long)]
    resource: String,
}

#[derive(Debug, Subcommand)]
enum RoleCommand {
    /// Code, name, kind and (permission, reach) pairs of every role.
    List {
        #[command(flatten)]
        db: Database,
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
    },
    /// Copy a role under a new code, to change it without touching the original.
    Copy {
        #[command(flatten)]
        db: Database,
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Who does it (username); they need roles.edit.
        #[arg(long = "as")]
        editor: String,
        /// The role to copy (code).
        #[arg(long)]
        from: String,
        /// The new role's code.
        #[arg(long)]
        code: String,
        /// The new role's name.
        #[arg(long)]
        name: String,
    },
    /// Delete a role nobody holds.
    Delete {
        #[command(flatten)]
        db: Database,
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Who does it (username); they need roles.edit.
        #[arg(long = "as")]
        editor: String,
        /// Role code.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Args)]
struct RevokeArgs {
    #[command(flatten)]
    db: Database,
    /// The tenant's slug.
    #[arg(long)]
    tenant: String,
    /// Who revokes (username); they need roles.assign where the grant applies.
    #[arg(long = "as")]
    revoker: String,
    /// The grant's id (as `grant` printed it).
    #[arg(long)]
    grant: String,
}

#[derive(Debug, Args)]
struct GrantArgs {
    #[command(flatten)]
    db: Database,
    /// The tenant's slug.
    #[arg(long)]
    tenant: String,
    /// The granter (username); the delegation rule applies to them.
    #[arg(long = "as")]
    granter: String,
    /// Who receives the role (username).
    #[arg(long)]
    user: String,
    /// Role code.
    #[arg(long)]
    role: String,
    /// platform, public_groups or kind:uuid.
    #[arg(long, default_value = "platform")]
    scope: String,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    db: Database,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "REGISTRAR_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Load a demo tenant with people, groups and managers, and print how to log in.
    #[arg(long)]
    demo: bool,
    /// Leave `Secure` off the session cookie (only for plain HTTP on a host other than
    /// localhost).
    #[arg(long, env = "REGISTRAR_INSECURE_COOKIES")]
    insecure_cookies: bool,
    /// Send `Strict-Transport-Security` (only when every client reaches the server over HTTPS,
    /// e.g. behind a TLS-terminating proxy).
    #[arg(long, env = "REGISTRAR_HSTS")]
    hsts: bool,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "REGISTRAR_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    #[command(flatten)]
    mail: MailTransportArgs,
    /// Do not run the mail sender in this process (run `registrar mail` instead).
    #[arg(long, env = "REGISTRAR_NO_MAIL_SENDER")]
    no_mail_sender: bool,
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// Login name; defaults to the email.
    #[arg(long)]
    username: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// Display name.
    #[arg(long = "display-name", default_value = "Administrator")]
    display_name: String,
    /// At least 12 characters. Prefer the environment variable: arguments show in `ps`.
    #[arg(long, env = "REGISTRAR_ADMIN_PASSWORD", hide_env_values = true)]
    password: String,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant from a preset, optionally with its first administrator.
    Create {
        #[command(flatten)]
        db: Database,
        /// Short name used at login, e.g. `acme`.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// classic-lms, levels, management-groups or group-roles.
        #[arg(long, default_value = "classic-lms")]
        preset: String,
        /// Also create the first administrator (needs --admin-* and a password).
        #[arg(long)]
        with_admin: bool,
        #[arg(long = "admin-username")]
        admin_username: Option<String>,
        #[arg(long = "admin-email")]
        admin_email: Option<String>,
        #[arg(long = "admin-display-name", default_value = "Administrator")]
        admin_display_name: String,
        #[arg(
            long = "admin-password",
            env = "REGISTRAR_ADMIN_PASSWORD",
            hide_env_values = true
        )]
        admin_password: Option<String>,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a superadmin in an existing tenant.
    Create {
        #[command(flatten)]
        db: Database,
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Mint an API token acting as a user of a tenant; the secret is printed once.
    Create {
        #[command(flatten)]
        db: Database,
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The username the token acts as.
        #[arg(long)]
        user: String,
        /// What it is for, e.g. `hr-feed`.
        #[arg(long)]
        name: String,
    },
    /// Mint an operator token (manages tenants, sees nothing inside them).
    Operator {
        #[command(flatten)]
        db: Database,
        #[arg(long, default_value = "operator")]
        name: String,
    },
}

async fn open(db: &Database) -> anyhow::Result<Arc<dyn Store>> {
    registrar_store::connect(&db.database_url)
        .await
        .context("cannot open the database")
}

fn admin_spec(
    username: Option<String>,
    email: Option<String>,
    display_name: &str,
    password: &str,
) -> anyhow::Result<AdminSpec> {
    Ok(AdminSpec {
        username: username.as_deref().map(Username::parse).transpose()?,
        email: email.as_deref().map(Email::parse).transpose()?,
        display_name: Name::parse("display name", display_name)?,
        password: Password::parse(password)?,
    })
}

async fn tenant_id(
    store: &dyn Store,
    slug: &str,
) -> anyhow::Result<registrar_domain::ids::TenantId> {
    let slug = TenantSlug::parse(slug)?;
    Ok(store.tenant_by_slug(&slug).await?.id)
}

/// The store, tenant, acting user and read model a command acting as a user needs.
pub(crate) async fn acting(
    db: &Database,
    tenant: &str,
    username: &str,
) -> anyhow::Result<(
    Arc<dyn Store>,
    registrar_domain::ids::TenantId,
    registrar_domain::user::User,
    ReadModel,
)> {
    let store = open(db).await?;
    let tenant = tenant_id(store.as_ref(), tenant).await?;
    let user = store
        .user_by_username(tenant, &Username::parse(username)?)
        .await?;
    let model = ReadModel::load(store.clone()).await?;
    Ok((store, tenant, user, model))
}

/// Exit status of `check` when the answer is no, so scripts can tell it from an error (1).
pub const DENIED: u8 = 3;

async fn decide(args: &CheckArgs) -> anyhow::Result<registrar_domain::access::Decision> {
    use registrar_domain::access::{ObjectRef, Permission};
    let store = open(&args.db).await?;
    let tenant = tenant_id(store.as_ref(), &args.tenant).await?;
    let user = match registrar_domain::ids::UserId::parse(&args.user) {
        Ok(id) => id,
        Err(_) => {
            store
                .user_by_username(tenant, &Username::parse(&args.user)?)
                .await?
                .id
        }
    };
    let permission = Permission::parse(&args.action)?;
    let resource = ObjectRef::parse(&args.resource)?;
    let model = ReadModel::load(store).await?;
    let today = time::OffsetDateTime::now_utc().date();
    Ok(model.read(tenant, |m| m.check(user, permission, &resource, today))?)
}

pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    match cli.command {
        Command::Import(args) => crate::import::import(args).await,
        Command::Export(args) => crate::import::export(args).await,
        Command::BenchCsv(args) => crate::import::bench_csv(args),
        Command::Check(args) => {
            let decision = decide(&args).await?;
            println!("{}", decision.explanation());
            Ok(if decision.allowed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(DENIED)
            })
        }
        Command::Explain(args) => {
            let decision = decide(&args).await?;
            println!("{}", serde_json::to_string_pretty(&decision.explanation())?);
            Ok(if decision.allowed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(DENIED)
            })
        }
        Command::Role(RoleCommand::Copy {
            db,
            tenant,
            editor,
            from,
            code,
            name,
        }) => {
            let (_, tenant, editor, model) = acting(&db, &tenant, &editor).await?;
            let role =
                registrar_server::ops::copy_role(&model, tenant, editor.id, &from, &code, &name)
                    .await?;
            println!("copied {from} to {} ({})", role.code, role.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Role(RoleCommand::Delete {
            db,
            tenant,
            editor,
            role,
        }) => {
            let (_, tenant, editor, model) = acting(&db, &tenant, &editor).await?;
            registrar_server::ops::delete_role(&model, tenant, editor.id, &role).await?;
            println!("deleted role {role}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke(args) => {
            let (_, tenant, revoker, model) = acting(&args.db, &args.tenant, &args.revoker).await?;
            let grant = registrar_domain::access::GrantId::parse(&args.grant)?;
            registrar_server::ops::revoke(&model, tenant, revoker.id, grant).await?;
            println!("revoked grant {grant}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Role(RoleCommand::List { db, tenant }) => {
            let store = open(&db).await?;
            let tenant = tenant_id(store.as_ref(), &tenant).await?;
            let model = ReadModel::load(store).await?;
            model.read(tenant, |m| {
                for role in m.data().roles.values() {
                    let scopes: Vec<String> = role.scopes.iter().map(ToString::to_string).collect();
                    let caps: Vec<String> =
                        role.capabilities.iter().map(ToString::to_string).collect();
                    println!(
                        "{}\t{}\t{}\tat {}\t{}",
                        role.code,
                        role.name,
                        if role.level { "level" } else { "scoped" },
                        scopes.join(","),
                        caps.join(" ")
                    );
                }
            });
            Ok(ExitCode::SUCCESS)
        }
        Command::Grant(args) => {
            let (store, tenant, granter, model) =
                acting(&args.db, &args.tenant, &args.granter).await?;
            let holder = store
                .user_by_username(tenant, &Username::parse(&args.user)?)
                .await?;
            let scope = match args.scope.as_str() {
                "platform" => registrar_domain::access::Scope::Platform,
                "public_groups" => registrar_domain::access::Scope::PublicGroups,
                other => registrar_domain::access::Scope::Object(
                    registrar_domain::access::ObjectRef::parse(other)?,
                ),
            };
            let grant = registrar_server::ops::grant(
                &model,
                tenant,
                granter.id,
                registrar_domain::access::Principal::User(holder.id),
                &args.role,
                scope,
            )
            .await?;
            println!(
                "granted {} to {} at {} (grant {})",
                args.role, holder.username, scope, grant.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Digest { db, tenant } => {
            let store = open(&db).await?;
            let tenant = tenant_id(store.as_ref(), &tenant).await?;
            let model = ReadModel::load(store.clone()).await?;
            let digest = model.digest(tenant, time::OffsetDateTime::now_utc().date());
            println!("{}", serde_json::to_string(&digest)?);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve(args).await.map(|()| ExitCode::SUCCESS),
        Command::Mail(args) => {
            init_tracing();
            let store = open(&args.db).await?;
            let transport = args.transport.transport()?;
            if args.once {
                let mut total = 0;
                loop {
                    let sent = transport.drain(store.as_ref()).await?;
                    total += sent;
                    if store.pending_mail(1).await?.is_empty() {
                        break;
                    }
                }
                println!("{total} mails delivered to {}", args.transport.describe());
            } else {
                let sender = transport.run(store, std::time::Duration::from_secs(1));
                shutdown_signal().await;
                sender.abort();
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(db) => {
            let store = open(&db).await?;
            println!(
                "database is up to date ({}, revision {})",
                store.backend(),
                store.latest_revision().await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::Create {
            db,
            slug,
            name,
            preset,
            with_admin,
            admin_username,
            admin_email,
            admin_display_name,
            admin_password,
        }) => {
            let admin = if with_admin {
                let Some(password) = admin_password else {
                    bail!("--with-admin needs --admin-password or REGISTRAR_ADMIN_PASSWORD");
                };
                Some(admin_spec(
                    admin_username,
                    admin_email,
                    &admin_display_name,
                    &password,
                )?)
            } else {
                None
            };
            let store = open(&db).await?;
            let (tenant, admin) = create_tenant(
                store.as_ref(),
                &Actor::cli(),
                TenantSlug::parse(&slug)?,
                Name::parse("name", &name)?,
                Preset::parse(&preset)?,
                admin,
            )
            .await?;
            println!("created tenant {} ({})", tenant.slug, tenant.id);
            if let Some(admin) = admin {
                println!("created administrator {} ({})", admin.username, admin.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::List { db }) => {
            let store = open(&db).await?;
            let mut after = None;
            loop {
                let page = store
                    .list_tenants(&PageRequest {
                        after,
                        limit: 500,
                        search: None,
                    })
                    .await?;
                for t in &page.items {
                    println!("{}\t{}\t{}\t{}", t.slug, t.id, t.preset.code(), t.name);
                }
                after = page.next;
                if after.is_none() {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        Command::Admin(AdminCommand::Create { db, tenant, admin }) => {
            let spec = admin_spec(
                admin.username,
                admin.email,
                &admin.display_name,
                &admin.password,
            )?;
            let store = open(&db).await?;
            let tenant = tenant_id(store.as_ref(), &tenant).await?;
            let user = create_admin(store.as_ref(), &Actor::cli(), tenant, spec).await?;
            println!("created administrator {} ({})", user.username, user.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create {
            db,
            tenant,
            user,
            name,
        }) => {
            let store = open(&db).await?;
            let tenant = tenant_id(store.as_ref(), &tenant).await?;
            let user = store
                .user_by_username(tenant, &Username::parse(&user)?)
                .await?;
            let (record, secret) = issue_token(
                store.as_ref(),
                &Actor::cli(),
                Some((tenant, user.id)),
                TokenKind::Api,
                &name,
                None,
            )
            .await?;
            eprintln!(
                "token {} acts as {}; it is shown only now:",
                record.id, user.username
            );
            println!("{secret}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Operator { db, name }) => {
            let store = open(&db).await?;
            let (record, secret) = issue_token(
                store.as_ref(),
                &Actor::cli(),
                None,
                TokenKind::Operator,
                &name,
                None,
            )
            .await?;
            eprintln!("operator token {}; it is shown only now:", record.id);
            println!("{secret}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    let store = open(&args.db).await?;
    let settings = Settings {
        max_body_bytes: args.max_body_bytes,
        secure_cookies: !args.insecure_cookies,
        hsts: args.hsts,
        mail: if args.no_mail_sender {
            None
        } else {
            Some(args.mail.transport()?)
        },
        ..Settings::default()
    };
    // Demo data goes in first, so that the read model loads it like any other data.
    let demo = if args.demo {
        Some(crate::demo::load(&store).await?)
    } else {
        None
    };
    let state = AppState::new(store.clone(), settings)
        .await
        .context("cannot load the read model")?;
    let app = Application::bind(args.bind, state)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let url = format!("http://{}", app.local_addr()?);
    if let Some(demo) = demo {
        demo.print(&url);
        println!(
            "  mail (invitations with login details) goes to {}",
            args.mail.describe()
        );
    }
    println!(
        "Registrar is serving on {url} ({} database)",
        store.backend()
    );
    tracing::info!(%url, backend = store.backend(), "serving");
    app.serve(shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
