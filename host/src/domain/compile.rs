//! Compiling an upload: validation and Cranelift, off the request path and bounded for
//! real (see [`crate::sandbox::worker`]).
//!
//! - Bytes whose artifact is already cached (a re-upload, another tenant's identical
//!   upload) load without compiling.
//! - Otherwise a compile worker process compiles them, under its own memory and CPU limits.
//!   At `compile_timeout` the server kills it and waits for it to be gone; a worker that
//!   hits its memory or CPU limit is ended by the kernel. Nothing of a stopped compile is
//!   cached, and the server's own memory never holds the compile.
//! - At most `compile_concurrency` compiles run at once (429 past that), and a compile's
//!   permit is held until its worker has exited — not merely until the request gave up —
//!   so stopped compiles never pile up beside new ones.

use super::{Error, Plaza};
use crate::sandbox::Plugin;
use crate::sandbox::worker::{REFUSED, WorkerArgs};
use std::process::Stdio;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Most of a worker's stderr kept for the log.
const MAX_WORKER_STDERR: usize = 4096;

/// How a compile worker ended.
enum Worked {
    Artifact(Vec<u8>),
    Refused(String),
    Stopped(String),
    TimedOut,
}

impl Plaza {
    pub(super) async fn compile(&self, bytes: &[u8]) -> Result<Plugin, Error> {
        if let Some(plugin) = self.load_blocking(bytes.to_vec(), None).await? {
            return Ok(plugin);
        }
        let permit = self
            .compiling
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::Busy("too many plugin uploads compiling; retry shortly"))?;
        let limits = self.sandbox.limits_for(bytes.len()).clone();
        // A large plugin (a JavaScript rule) takes its lane's compile timeout.
        let limit = if bytes.len() > self.sandbox.limits().max_module_bytes {
            std::time::Duration::from_millis(self.sandbox.limits().large.compile_timeout_ms)
        } else {
            self.settings.compile_timeout
        };
        let args = WorkerArgs {
            limits,
            memory_bytes: self.settings.compile_memory_bytes,
            cpu_seconds: limit.as_secs() + 1,
        };
        let worker = self.settings.compile_worker.clone();
        let input = bytes.to_vec();
        // Its own task: the worker is reaped (and the permit held until then) even if the
        // request that started it goes away.
        let task = tokio::spawn(async move {
            let worked = run_worker(&worker, &args, input, limit).await;
            drop(permit);
            worked
        });
        let worked = task
            .await
            .map_err(|e| Error::Internal(format!("compile task: {e}")))??;
        match worked {
            Worked::Artifact(artifact) => Ok(self
                .load_blocking(bytes.to_vec(), Some(artifact))
                .await?
                .expect("a precompiled load answers")),
            Worked::Refused(message) => Err(Error::Load(crate::sandbox::LoadError::Invalid {
                message: crate::sandbox::truncate(message, 1024),
            })),
            Worked::Stopped(how) => Err(Error::CompileStopped { how }),
            Worked::TimedOut => Err(Error::CompileTimeout {
                limit_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// Load from the cache (`artifact: None`; `None` when not cached) or from a worker's
    /// artifact, on the blocking pool (it runs the plugin's `describe`).
    async fn load_blocking(
        &self,
        bytes: Vec<u8>,
        artifact: Option<Vec<u8>>,
    ) -> Result<Option<Plugin>, Error> {
        let sandbox = self.sandbox.clone();
        let loaded = tokio::task::spawn_blocking(move || match artifact {
            None => sandbox.load_if_cached(&bytes),
            Some(artifact) => sandbox.load_precompiled(&bytes, &artifact).map(Some),
        })
        .await
        .map_err(|e| Error::Internal(format!("load task: {e}")))?;
        Ok(loaded?)
    }
}

async fn run_worker(
    program: &std::path::Path,
    args: &WorkerArgs,
    input: Vec<u8>,
    limit: std::time::Duration,
) -> Result<Worked, Error> {
    let spawn_error = |e: std::io::Error| {
        Error::Internal(format!(
            "starting the compile worker {}: {e}",
            program.display()
        ))
    };
    let mut child = tokio::process::Command::new(program)
        .arg("compile-worker")
        .arg(serde_json::to_string(args).map_err(|e| Error::Internal(e.to_string()))?)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error)?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let talk = async {
        // A worker that dies early closes its stdin: that is reported by its exit status.
        let _ = stdin.write_all(&input).await;
        drop(stdin);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (read_out, _) =
            tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        err.truncate(MAX_WORKER_STDERR);
        let err = String::from_utf8_lossy(&err).into_owned();
        read_out.map_err(spawn_error)?;
        let status = child.wait().await.map_err(spawn_error)?;
        Ok::<_, Error>((status, out, err))
    };
    let Ok(finished) = tokio::time::timeout(limit, talk).await else {
        // Kill, then wait until it is gone: only then may another compile start.
        let _ = child.kill().await;
        return Ok(Worked::TimedOut);
    };
    let (status, out, err) = finished?;
    if !err.is_empty() {
        tracing::warn!(stderr = %err.trim_end(), "compile worker");
    }
    Ok(match status.code() {
        Some(0) => Worked::Artifact(out),
        Some(REFUSED) => Worked::Refused(String::from_utf8_lossy(&out).into_owned()),
        _ => Worked::Stopped(describe_stop(status)),
    })
}

/// How a worker that neither finished nor refused ended (its limits, as a rule).
fn describe_stop(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return format!("it was stopped by its memory or CPU-time limit (signal {signal})");
        }
    }
    format!("it exited with {status}")
}
