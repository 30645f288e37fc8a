//! The mail sender: drains the outbox through a transport, a local mailbox file (one JSON line
//! per mail, the default) or SMTP (lettre). Mails are queued in the transaction that sends them,
//! so none is lost; a mail is marked sent only after the transport took it.
//!
//! A crash between handing a mail over and marking it sent leaves it pending. The mailbox
//! transport then finds it already in the file and only marks it, so nothing is written twice.
//! An SMTP server cannot be asked what it received, so there the mail goes out again, with the
//! same `Message-ID` (derived from the outbox id) by which receiving systems drop duplicates.
//! Run one sender per database: two would each deliver the same pending mails.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox as Address;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use registrar_store::{OutgoingMail, Store, StoreError};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mailbox {path}: {source}")]
    Mailbox {
        path: String,
        source: std::io::Error,
    },
    /// The URL itself is left out: it may hold the relay's password.
    #[error("the SMTP URL is not usable: {0}")]
    SmtpUrl(String),
    #[error("sender address {0:?} is not an email address")]
    From(String),
    #[error("mail {id} cannot be built: {detail}")]
    Build { id: String, detail: String },
    #[error("SMTP delivery of mail {id}: {detail}")]
    Smtp { id: String, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Transport {
    Mailbox(Mailbox),
    Smtp(Smtp),
}

impl Transport {
    /// Delivers every pending mail once; returns how many were handed over now.
    pub async fn drain(&self, store: &dyn Store) -> Result<usize, MailError> {
        let pending = store.pending_mail(500).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mut handed_over = 0;
        match self {
            Transport::Mailbox(mailbox) => {
                let already = mailbox.delivered().await?;
                for mail in &pending {
                    if !already.contains(&mail.id) {
                        mailbox.deliver(mail).await?;
                        handed_over += 1;
                    }
                    store.mark_mail_sent(&mail.id).await?;
                }
            }
            Transport::Smtp(smtp) => {
                for mail in &pending {
                    smtp.deliver(mail).await?;
                    handed_over += 1;
                    store.mark_mail_sent(&mail.id).await?;
                }
            }
        }
        Ok(handed_over)
    }

    /// Keeps draining the outbox; a failed round is logged and retried on the next tick.
    pub fn run(self, store: Arc<dyn Store>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.drain(store.as_ref()).await {
                    tracing::warn!(error = %e, "mail delivery failed; retrying");
                }
            }
        })
    }
}

#[derive(Debug, Clone)]
pub struct Mailbox {
    path: PathBuf,
}

impl Mailbox {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn io(&self, source: std::io::Error) -> MailError {
        MailError::Mailbox {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Ids of the mails already in the mailbox.
    async fn delivered(&self) -> Result<HashSet<String>, MailError> {
        match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["id"].as_str().map(str::to_owned))
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Appends one mail and waits until it is on disk.
    pub async fn deliver(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let line = serde_json::json!({
            "id": mail.id, "tenant": mail.tenant, "to": mail.recipient,
            "subject": mail.subject, "body": mail.body,
        })
        .to_string();
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| self.io(e))?;
        file.write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| self.io(e))?;
        file.sync_data().await.map_err(|e| self.io(e))?;
        Ok(())
    }
}

/// An SMTP relay, from a URL such as `smtp://user:pass@mail.example:587?tls=required` or
/// `smtps://mail.example` (lettre's URL form).
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl std::fmt::Debug for Smtp {
    // The transport holds credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("from", &self.from).finish()
    }
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::SmtpUrl(e.to_string()))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = from
            .parse::<Address>()
            .map_err(|_| MailError::From(from.to_owned()))?;
        Ok(Self { transport, from })
    }

    async fn deliver(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let build = |detail: String| MailError::Build {
            id: mail.id.clone(),
            detail,
        };
        let to = mail
            .recipient
            .parse::<Address>()
            .map_err(|e| build(e.to_string()))?;
        let message = Message::builder()
            .message_id(Some(format!("<{}@registrar>", mail.id)))
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .body(mail.body.clone())
            .map_err(|e| build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Smtp {
                id: mail.id.clone(),
                detail: e.to_string(),
            })?;
        Ok(())
    }
}
