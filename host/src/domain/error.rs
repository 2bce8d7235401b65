//! The domain's error: what a caller did wrong, or what stopped the service. The HTTP edge
//! maps each to a status and a stable `type`.

use crate::Money;
use crate::executor::{BudgetLimit, PlanError, QuoteError};
use crate::sandbox::LoadError;
use crate::store::{StoreError, TxError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("missing or unknown API key (send `Authorization: Bearer <key>`)")]
    Unauthenticated,
    #[error("a {role} key may not {action}")]
    Forbidden {
        role: &'static str,
        action: &'static str,
    },
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict {
        /// Stable error type, e.g. `plugin_in_use`.
        kind: &'static str,
        message: String,
    },
    /// A well-formed request the domain refuses, with a stable type naming why.
    #[error("{field}: {message}")]
    Unprocessable {
        kind: &'static str,
        field: String,
        message: String,
    },
    #[error("plugin refused: {0}")]
    Load(LoadError),
    #[error("compiling the plugin took longer than {limit_ms} ms")]
    CompileTimeout { limit_ms: u64 },
    #[error("compiling the plugin was stopped: {how}")]
    CompileStopped { how: String },
    #[error("plan refused: {0}")]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Quote(#[from] QuoteError),
    #[error("step {step}: its {} limit is reached", limit.as_str())]
    BudgetExhausted { step: String, limit: BudgetLimit },
    /// A budget counter could not be read (corrupt or unreadable): the commit is refused
    /// rather than counting the budget as unused.
    #[error("step {step}: its budget counters cannot be read; nothing was committed")]
    BudgetUnreadable { step: String },
    #[error("the plan's latest version is {latest}, not the {expected} this change was based on")]
    PreconditionFailed { expected: u32, latest: u32 },
    #[error("the tenant's {quota} quota ({limit}) is used up")]
    QuotaExceeded { quota: &'static str, limit: u64 },
    #[error("the order now costs {actual}, not the expected {expected}; quote again")]
    PriceChanged { expected: Money, actual: Money },
    #[error("{0}")]
    Busy(&'static str),
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        Error::Load(e)
    }
}

impl Error {
    /// A transaction that failed in the store (an abort carries its own reason, kept by
    /// the caller; reaching here with one is a bug).
    pub fn from_tx(e: TxError) -> Error {
        match e {
            TxError::Store(e) => Error::Store(e),
            TxError::Abort => Error::Internal("a transaction aborted without a reason".into()),
        }
    }

    pub fn not_found(what: &'static str, id: impl Into<String>) -> Error {
        Error::NotFound {
            what,
            id: id.into(),
        }
    }

    pub fn unprocessable(
        kind: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Error {
        Error::Unprocessable {
            kind,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(kind: &'static str, message: impl Into<String>) -> Error {
        Error::Conflict {
            kind,
            message: message.into(),
        }
    }
}
