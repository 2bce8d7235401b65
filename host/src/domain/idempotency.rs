//! Idempotency keys for creating requests without a natural id (a plan save): a retried
//! request must not create a second version.
//!
//! The first request under a key stores its answer in the same transaction as what it
//! created. A retry with the same key and the same request gets that answer back and
//! creates nothing; the same key with a different request is refused with 409
//! `idempotency_key_reused` — the semantics orders have by `order_id`.

use super::{Error, Plaza};
use crate::store::{Table, Tx, TxError, TxExt, encode, key};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// A client's `Idempotency-Key`: 1 to 128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<IdempotencyKey, Error> {
        if text.is_empty()
            || text.len() > MAX_IDEMPOTENCY_KEY
            || !text.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::Invalid {
                field: "Idempotency-Key".into(),
                message: format!("must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
            });
        }
        Ok(IdempotencyKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The hex sha256 of a request's canonical JSON: what a retry must match.
pub(super) fn request_sha256<T: Serialize>(value: &T) -> String {
    hex::encode(Sha256::digest(encode(value)))
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    request_sha256: String,
    response: serde_json::Value,
}

/// One request's idempotency: where its answer is kept, and what identifies the request.
#[derive(Debug)]
pub(super) struct Replay {
    /// None: the request carried no key, so nothing is replayed or recorded.
    key: Option<Vec<u8>>,
    request_sha256: String,
}

impl Replay {
    pub fn new<T: Serialize>(
        tenant: &str,
        scope: &str,
        idempotency: Option<IdempotencyKey>,
        request: &T,
    ) -> Replay {
        Replay {
            key: idempotency.map(|k| key(&[tenant.as_bytes(), scope.as_bytes(), k.0.as_bytes()])),
            request_sha256: request_sha256(request),
        }
    }

    /// Inside the creating transaction: `Some(())` when an earlier request with this key
    /// already committed (the caller then writes nothing and replays).
    pub fn earlier(&self, tx: &mut dyn Tx) -> Result<Option<()>, TxError> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        Ok(tx.get(Table::Idempotency, key)?.map(|_| ()))
    }

    /// Store `response` as this request's answer, inside the transaction that creates.
    pub fn record<T: Serialize>(&self, tx: &mut dyn Tx, response: &T) -> Result<(), TxError> {
        let Some(key) = &self.key else { return Ok(()) };
        let stored = Stored {
            request_sha256: self.request_sha256.clone(),
            response: serde_json::to_value(response)
                .map_err(|e| TxError::Store(crate::store::StoreError::Backend(e.to_string())))?,
        };
        tx.put_json(Table::Idempotency, key, &stored)
    }
}

impl Plaza {
    /// The stored answer of an earlier request with the same key, if there is one. The
    /// earlier call may not have flushed it yet, so it is made durable before it is
    /// answered again.
    pub(super) async fn replayed<T: DeserializeOwned>(
        &self,
        replay: &Replay,
    ) -> Result<Option<T>, Error> {
        let Some(key) = &replay.key else {
            return Ok(None);
        };
        let Some(stored) = self.store.get::<Stored>(Table::Idempotency, key)? else {
            return Ok(None);
        };
        if stored.request_sha256 != replay.request_sha256 {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ));
        }
        let answer = serde_json::from_value(stored.response)
            .map_err(|e| Error::Internal(format!("stored idempotent answer: {e}")))?;
        self.flush().await?;
        Ok(Some(answer))
    }
}
