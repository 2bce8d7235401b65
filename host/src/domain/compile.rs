//! Compiling an upload: validation and Cranelift, off the request path and bounded.
//!
//! - At most `compile_concurrency` compiles run at once; an upload past that gets 429.
//! - The permit is held by the compile itself, not by the request: when the request gives
//!   up at `compile_timeout`, the permit stays taken until the compile has really stopped,
//!   so abandoned compiles never pile up beside new ones.
//! - A compile that outlived its timeout leaves nothing behind: its artifact is not
//!   cached, so re-uploading the same bytes compiles (and times out) again.

use super::{Error, Plaza};
use crate::sandbox::Plugin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

impl Plaza {
    pub(super) async fn compile(&self, bytes: &[u8]) -> Result<Plugin, Error> {
        let permit = self
            .compiling
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::Busy("too many plugin uploads compiling; retry shortly"))?;
        let limit = self.settings.compile_timeout;
        let sandbox = self.sandbox.clone();
        let abandoned = Arc::new(AtomicBool::new(false));
        let job = {
            let bytes = bytes.to_vec();
            let abandoned = abandoned.clone();
            tokio::task::spawn_blocking(move || {
                let loaded = sandbox.load_unless_abandoned(&bytes, &abandoned);
                drop(permit);
                loaded
            })
        };
        match tokio::time::timeout(limit, job).await {
            Ok(joined) => Ok(joined.map_err(|e| Error::Internal(format!("compile task: {e}")))??),
            Err(_) => {
                abandoned.store(true, Ordering::SeqCst);
                Err(Error::CompileTimeout {
                    limit_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                })
            }
        }
    }
}
