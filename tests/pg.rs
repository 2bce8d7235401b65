//! A throwaway PostgreSQL cluster for the tests about the PostgreSQL store: `initdb` in a
//! temporary directory (as the `postgres` user when the tests run as root, since initdb
//! refuses root), `pg_ctl start` on a free port. One cluster per test process, a fresh
//! database per test; a watchdog shell stops the cluster and removes its directory once
//! the test process has exited.
//!
//! The binaries are found in `PLAZA_PG_BIN`, else in the newest
//! `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql` package, which `.ci/run`
//! installs), else on `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PLAZA_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}

impl Cluster {
    /// The process's cluster, started on first use.
    pub fn shared() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(Cluster::start)
    }

    /// A cluster of the caller's own (a test that stops and starts its database), until
    /// the process exits.
    pub fn start() -> Cluster {
        // Removed by the watchdog, after the cluster stopped.
        let dir = tempfile::tempdir().expect("a temporary directory").keep();
        let data = dir.join("data");
        let bin = bin_dir();
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster {
            dir,
            data,
            bin,
            port,
            as_postgres,
        };
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&cluster.dir)
                .status()
                .expect("chown");
            assert!(owned.success(), "chown of the cluster's directory");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let options = cluster.options();
        let log = cluster.dir.join("log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                &cluster.data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        cluster.watch();
        cluster
    }

    /// Stop the cluster and remove its directory once this process has exited.
    #[expect(
        clippy::zombie_processes,
        reason = "the watchdog outlives this process by design; init reaps it"
    )]
    fn watch(&self) {
        let stop = format!(
            "{}{} -D {} -m immediate stop",
            if self.as_postgres {
                "runuser -u postgres -- "
            } else {
                ""
            },
            self.bin.join("pg_ctl").display(),
            self.data.display()
        );
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {}",
            std::process::id(),
            self.dir.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the cluster's watchdog");
    }

    /// Run one of the cluster's binaries (as `postgres` when root); panics on failure.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let program = if path.exists() {
            path
        } else {
            PathBuf::from(program)
        };
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command
            .args(args)
            .current_dir(Path::new("/"))
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stop the server (`pg_ctl stop -m fast`: its connections are cut).
    pub fn stop(&self) {
        let data = self.data.to_string_lossy();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    /// Start the server again after [`Cluster::stop`], on the same port.
    pub fn start_again(&self) {
        let (data, log) = (self.data.to_string_lossy(), self.dir.join("log"));
        let options = self.options();
        let log = log.to_string_lossy();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
    }

    fn options(&self) -> String {
        format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.display()
        )
    }

    /// Run `sql` on the database at `url`; panics when it fails.
    pub fn psql(&self, url: &str, sql: &str) {
        self.run("psql", &[url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]);
    }

    /// The connection string of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The database of data directory `dir` (created on first use): its connection string.
    pub fn database_for(&self, dir: &Path) -> String {
        static OF: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
        let mut of = OF.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, url)) = of.iter().find(|(d, _)| d == dir) {
            return url.clone();
        }
        let url = self.database();
        of.push((dir.to_path_buf(), url.clone()));
        url
    }

    /// A fresh, empty database: its connection string.
    pub fn database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        static CREATING: Mutex<()> = Mutex::new(());
        let name = format!(
            "plaza_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-q",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ],
        );
        self.url(&name)
    }
}
