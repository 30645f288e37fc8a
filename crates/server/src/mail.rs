//! The mail sender: drains the outbox into a local mailbox file (one JSON line per mail).
//! Delivery is idempotent by mail id: a mail delivered just before a crash, and so never marked
//! sent, is found in the mailbox on the next round and only marked. Nothing is lost (mails are
//! queued in the transaction that sends them) and nothing is written twice.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use registrar_store::{OutgoingMail, Store, StoreError};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mailbox {path}: {source}")]
    Mailbox {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
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

    /// Delivers every pending mail once; returns how many were written now.
    pub async fn drain(&self, store: &dyn Store) -> Result<usize, MailError> {
        let pending = store.pending_mail(500).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let already = self.delivered().await?;
        let mut written = 0;
        for mail in &pending {
            if !already.contains(&mail.id) {
                self.deliver(mail).await?;
                written += 1;
            }
            store.mark_mail_sent(&mail.id).await?;
        }
        Ok(written)
    }

    /// Keeps draining the outbox.
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
