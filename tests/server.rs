//! A real Plaza server for end-to-end tests: in-process on `127.0.0.1:0` over a temporary
//! data directory (restartable on the same directory), or the `plaza` command line as a
//! separate process that a test can kill. And a small blocking HTTP client for both.

use plaza::clock::{ManualClock, SharedClock, SystemClock};
use plaza::config::Config;
use plaza::store::Store;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The operator key every test server is started with.
pub const OPERATOR_KEY: &str = "test-operator-key";

/// The `plaza` command line built for the tests (`target/<profile>/plaza-e2e`): what a
/// test server runs its compile workers with, since a test binary is not `plaza`.
pub fn plaza_binary() -> std::path::PathBuf {
    let test = std::env::current_exe().expect("the running test's path");
    // target/<profile>/deps/<test> → target/<profile>/plaza-e2e
    let profile_dir = test
        .parent()
        .and_then(Path::parent)
        .expect("a test runs from target/<profile>/deps");
    profile_dir.join(format!("plaza-e2e{}", std::env::consts::EXE_SUFFIX))
}

/// The configuration of a test server over `dir`.
///
/// With `PLAZA_TEST_STORE=postgres` every such server keeps its state in a fresh database
/// of the process's throwaway PostgreSQL cluster ([`crate::pg::Cluster`]) instead of sled:
/// the same tests, on the other store.
pub fn config(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.to_path_buf(),
        store: test_store(dir),
        operator_key: Some(OPERATOR_KEY.to_owned()),
        compile_worker: Some(plaza_binary()),
        ..Config::default()
    }
}

/// The store of a test's servers over data directory `dir`: sled in it, or with
/// `PLAZA_TEST_STORE=postgres` the database of the throwaway cluster that belongs to `dir`
/// (so that a server started again over `dir`, in this process or as `plaza serve`, finds
/// its state).
pub fn test_store(dir: &Path) -> Option<String> {
    match std::env::var("PLAZA_TEST_STORE").as_deref() {
        Ok("postgres") => Some(crate::pg::Cluster::shared().database_for(dir)),
        Ok("sled") | Err(_) => None,
        Ok(other) => panic!("PLAZA_TEST_STORE={other}: sled or postgres"),
    }
}

/// A server running in this process on its own runtime thread.
#[derive(Debug)]
pub struct Server {
    pub base: String,
    pub config: Config,
    /// The host's clock, when the test moves time itself.
    pub clock: Option<ManualClock>,
    dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// A fresh server over a new temporary directory.
    pub fn start() -> Server {
        Server::start_configured(|_| {})
    }

    /// A fresh server, with `adjust` applied to its configuration.
    pub fn start_configured(adjust: impl FnOnce(&mut Config)) -> Server {
        Server::start_timed(adjust, None)
    }

    /// A fresh server whose host time is `clock`, moved by the test.
    pub fn start_with_clock(adjust: impl FnOnce(&mut Config), clock: ManualClock) -> Server {
        Server::start_timed(adjust, Some(clock))
    }

    fn start_timed(adjust: impl FnOnce(&mut Config), clock: Option<ManualClock>) -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = config(dir.path());
        let default_store = config.store.clone();
        adjust(&mut config);
        if config.store == default_store && config.data_dir != dir.path() {
            // Another data directory: its store.
            config.store = test_store(&config.data_dir);
        }
        let mut server = Server::start_with(config, clock);
        server.dir = Some(dir);
        server
    }

    fn start_with(config: Config, clock: Option<ManualClock>) -> Server {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_config = config.clone();
        let thread_clock: SharedClock = match &clock {
            Some(clock) => Arc::new(clock.clone()),
            None => Arc::new(SystemClock),
        };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let state = plaza::server::open_with_clock(&thread_config, thread_clock)
                    .expect("opening the server");
                let listener = tokio::net::TcpListener::bind(thread_config.listen)
                    .await
                    .expect("binding");
                ready_tx
                    .send(listener.local_addr().expect("address"))
                    .expect("ready");
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                plaza::server::run(listener, state, &thread_config, shutdown)
                    .await
                    .expect("serving");
            });
        });
        let addr = ready_rx.recv().expect("the server started");
        let mut config = config;
        // A restart binds the same port, so clients keep their address.
        config.listen = addr;
        Server {
            base: format!("http://{addr}"),
            config,
            clock,
            dir: None,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Shut down gracefully and start again over the same data directory.
    pub fn restart(self) -> Server {
        self.restart_after(|_| {})
    }

    /// Shut down, let `between` act on the data directory (the store is closed), start
    /// again over it.
    pub fn restart_after(mut self, between: impl FnOnce(&Path)) -> Server {
        self.shutdown();
        between(&self.config.data_dir);
        let mut next = Server::start_with(self.config.clone(), self.clock.take());
        next.dir = self.dir.take();
        next
    }

    /// Shut down, let `between` change the state through the store the server was
    /// configured with (closed again before the start), start again.
    pub fn restart_with_store(self, between: impl FnOnce(&Store)) -> Server {
        let url = self.config.store.clone();
        self.restart_after(|dir| {
            // sled's file lock is let go by its background threads a moment after the
            // server's last handle; on a loaded machine that moment can outlast the
            // store's own wait for it.
            let deadline = Instant::now() + Duration::from_secs(30);
            let store = loop {
                match Store::open_configured(url.as_deref(), &dir.join("db")) {
                    Ok(store) => break store,
                    Err(e) if e.to_string().contains("could not acquire lock") => {
                        assert!(Instant::now() < deadline, "the store stayed locked: {e}");
                    }
                    Err(e) => panic!("the store: {e}"),
                }
            };
            between(&store);
        })
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread");
        }
    }

    pub fn operator(&self) -> Api {
        Api::new(&self.base, OPERATOR_KEY)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The `plaza` command line serving in a child process.
#[derive(Debug)]
pub struct Process {
    pub base: String,
    child: Child,
}

impl Process {
    /// `plaza serve` (the binary at `program`) over `dir` on a free port; returns once
    /// `/readyz` answers. Integration tests pass `env!("CARGO_BIN_EXE_plaza-e2e")`.
    pub fn serve(program: &str, dir: &Path) -> Process {
        Process::serve_on(program, dir, test_store(dir).as_deref())
    }

    /// [`Process::serve`] on the store at `store` (a `postgres://` connection string; sled
    /// in `dir` when `None`).
    pub fn serve_on(program: &str, dir: &Path, store: Option<&str>) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(program)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir)
            .args(store.iter().flat_map(|url| ["--store", url]))
            .args(["--operator-key", OPERATOR_KEY])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting plaza serve");
        let process = Process {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let probe = Api::anonymous(&process.base);
        while probe.try_get("/readyz").is_none_or(|a| a.status != 200) {
            assert!(
                Instant::now() < deadline,
                "plaza serve did not become ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        process
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub body: Value,
    pub headers: ureq::http::HeaderMap,
}

impl Answer {
    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error `type` of an error answer.
    pub fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or("")
    }
}

/// A blocking client with one key.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub key: Option<String>,
    /// The client a service provider's key acts for (`Plaza-Tenant`).
    pub act_for: Option<String>,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            base: base.to_owned(),
            key: Some(key.to_owned()),
            act_for: None,
        }
    }

    pub fn anonymous(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            key: None,
            act_for: None,
        }
    }

    /// The same key acting for `client` (a service provider's key, or any key to test
    /// that one without a grant is refused).
    pub fn acting_for(&self, client: &str) -> Api {
        Api {
            act_for: Some(client.to_owned()),
            ..self.clone()
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into()
    }

    fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let response = result.expect("HTTP exchange");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .into_body()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            text,
            body,
            headers,
        }
    }

    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = match &self.act_for {
            Some(client) => request.header("plaza-tenant", client),
            None => request,
        };
        match &self.key {
            Some(key) => request.header("authorization", &format!("Bearer {key}")),
            None => request,
        }
    }

    /// A GET with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.auth(Self::agent().get(&format!("{}{path}", self.base)));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::answer(request.call())
    }

    /// A JSON POST with extra headers.
    pub fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
        let body = serde_json::to_vec(body).expect("json");
        let mut request = self
            .auth(Self::agent().post(&format!("{}{path}", self.base)))
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::answer(request.send(&body[..]))
    }

    /// A GET whose transport may fail (a server still starting).
    pub fn try_get(&self, path: &str) -> Option<Answer> {
        let result = self
            .auth(Self::agent().get(&format!("{}{path}", self.base)))
            .call();
        result.ok().map(|r| Self::answer(Ok(r)))
    }

    /// A JSON POST whose transport may fail (a server being killed).
    pub fn try_post(&self, path: &str, body: &Value) -> Option<Answer> {
        let result = self
            .auth(Self::agent().post(&format!("{}{path}", self.base)))
            .send_json(body);
        result.ok().map(|r| Self::answer(Ok(r)))
    }

    pub fn get(&self, path: &str) -> Answer {
        self.get_with(path, &[])
    }

    pub fn delete(&self, path: &str) -> Answer {
        Self::answer(
            self.auth(Self::agent().delete(&format!("{}{path}", self.base)))
                .call(),
        )
    }

    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_with(path, body, &[])
    }

    /// A JSON PUT.
    pub fn put(&self, path: &str, body: &Value) -> Answer {
        let body = serde_json::to_vec(body).expect("json");
        Self::answer(
            self.auth(Self::agent().put(&format!("{}{path}", self.base)))
                .header("content-type", "application/json")
                .send(&body[..]),
        )
    }

    pub fn post_bytes(&self, path: &str, body: &[u8], content_type: &str) -> Answer {
        Self::answer(
            self.auth(Self::agent().post(&format!("{}{path}", self.base)))
                .header("content-type", content_type)
                .send(body),
        )
    }

    /// Create tenant `id` (as the operator) and return a client with its admin key.
    pub fn create_tenant(&self, id: &str, kind: &str) -> Api {
        let created = self.post(
            "/v1/tenants",
            &json!({ "id": id, "name": id, "kind": kind }),
        );
        assert_eq!(created.status, 201, "{}", created.text);
        self.issue_key(id, "admin")
    }

    /// Send order `order`'s `paid` event at `at_ms` (so that its payment deadline cancels
    /// nothing while a test moves time); panics unless it is accepted.
    pub fn pay(&self, order: &str, at_ms: i64) {
        let paid = self.post(
            &format!("/v1/orders/{order}/events"),
            &json!({"event_id": "paid", "type": "paid", "at_ms": at_ms}),
        );
        assert_eq!(paid.status, 200, "{}", paid.text);
    }

    /// Take the cart's attribution as sent (`source: checkout`): for tests about pricing
    /// and commission whose carts name their parties, not about resolving them.
    pub fn trust_checkout_attribution(&self) {
        let saved = self.put("/v1/settings/attribution", &json!({"source": "checkout"}));
        assert_eq!(saved.status, 200, "{}", saved.text);
    }

    /// A client with a new key of `role` for `tenant`.
    pub fn issue_key(&self, tenant: &str, role: &str) -> Api {
        let issued = self.post(
            &format!("/v1/tenants/{tenant}/keys"),
            &json!({ "role": role }),
        );
        assert_eq!(issued.status, 201, "{}", issued.text);
        Api::new(&self.base, issued.body["key"].as_str().expect("key"))
    }

    /// A key of beneficiary `id`'s own (this must be the operator's client).
    pub fn issue_beneficiary_key(&self, id: &str) -> Api {
        let issued = self.post(&format!("/v1/beneficiaries/{id}/keys"), &json!({}));
        assert_eq!(issued.status, 201, "{}", issued.text);
        Api::new(&self.base, issued.body["key"].as_str().expect("key"))
    }

    /// Upload example plugin `name` (the crate name under `plugins/`).
    pub fn upload(&self, name: &str) -> Answer {
        let bytes = crate::component(name);
        self.post_bytes("/v1/plugins", &bytes, "application/wasm")
    }

    /// Save `plan` and activate the new version; returns the version.
    pub fn apply(&self, plan: &Value) -> u64 {
        let saved = self.post("/v1/plans", plan);
        assert_eq!(saved.status, 201, "{}", saved.text);
        let version = saved.body["latest"].as_u64().expect("version");
        let id = plan["id"].as_str().expect("plan id");
        let active = self.post(
            &format!("/v1/plans/{id}/activate"),
            &json!({ "version": version }),
        );
        assert_eq!(active.status, 200, "{}", active.text);
        version
    }
}

/// The demo cart as JSON.
pub fn demo_cart() -> Value {
    serde_json::from_str(plaza::examples::DEMO_CART).expect("demo cart")
}

/// Merchant `teahouse` with the demo plan, resolving attribution from touches.
pub fn shop_resolving_touches(server: &Server) -> Api {
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let saved = shop.put("/v1/settings/attribution", &json!({"source": "touches"}));
    assert_eq!(saved.status, 200, "{}", saved.text);
    shop
}

/// `agency` invites promoter `id`, who accepts with the token: the promoter's own key.
pub fn enlist(server: &Server, agency: &Api, id: &str) -> Api {
    enlist_as(server, agency, id, "promoter")
}

/// `agency` invites party `id` of `kind` (promoter, creator, livestreamer), who accepts
/// with the token: the party's own key.
pub fn enlist_as(server: &Server, agency: &Api, id: &str, kind: &str) -> Api {
    let invited = agency.post(
        "/v1/promoters",
        &json!({"id": id, "kind": kind, "name": format!("{kind} {id}")}),
    );
    assert_eq!(invited.status, 201, "{}", invited.text);
    assert_eq!(invited.body["state"], "invited");
    let accepted = Api::anonymous(&server.base).post(
        &format!("/v1/promoters/{id}/accept"),
        &json!({"invite_token": invited.body["invite_token"]}),
    );
    assert_eq!(accepted.status, 201, "{}", accepted.text);
    assert_eq!(accepted.body["promoter"]["state"], "active");
    Api::new(&server.base, accepted.body["key"].as_str().expect("key"))
}

/// The demo plan as JSON.
pub fn demo_plan() -> Value {
    serde_json::from_str(plaza::examples::DEMO_PLAN).expect("demo plan")
}

/// The example plugins the demo plan uses.
pub const DEMO_PLUGINS: [&str; 5] = [
    "member-price",
    "threshold-discount",
    "store-coupon",
    "free-shipping",
    "promoter-commission",
];

/// Upload the demo plan's plugins as `tenant` and make the demo plan active.
pub fn with_demo_plan(tenant: &Api) {
    tenant.trust_checkout_attribution();
    for name in DEMO_PLUGINS {
        let uploaded = tenant.upload(name);
        assert_eq!(uploaded.status, 201, "{name}: {}", uploaded.text);
    }
    tenant.apply(&demo_plan());
}

/// A one-step 满减 plan (¥10 off from ¥100) whose step has `budget`.
pub fn budget_plan(id: &str, budget: Value) -> Value {
    json!({
        "id": id,
        "steps": [{
            "id": "flash-manjian",
            "plugin": {"name": "threshold-discount", "version": "1.0.0"},
            "config": {"mode": "tiers", "tiers": [{"threshold": 10000, "discount": 1000}]},
            "budget": budget
        }]
    })
}

/// Every page of the list at `path` (filtered by `query`, without `after`), following
/// `next` to the end: each page's body, in order.
pub fn pages(api: &Api, path: &str, query: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{path}?{query}");
        if let Some(cursor) = &after {
            if !query.is_empty() {
                url.push('&');
            }
            url.push_str(&format!("after={cursor}"));
        }
        let page = api.get(&url);
        assert_eq!(page.status, 200, "{url}: {}", page.text);
        after = page.body["next"].as_str().map(str::to_owned);
        pages.push(page.body);
        if after.is_none() {
            return pages;
        }
    }
}

/// The statements of settlement run `run` as `api` reads them (every page), in the run's
/// order: beneficiary → [received, paid_on, brought_forward, net, payout, carried_forward].
pub fn statement_figures(api: &Api, run: &str) -> Vec<(String, [i64; 6])> {
    pages(api, &format!("/v1/settlements/{run}/statements"), "")
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .map(|s| {
            let n = |f: &str| s[f].as_i64().unwrap();
            let figures = [
                n("received"),
                n("paid_on"),
                n("brought_forward"),
                n("net"),
                n("payout"),
                n("carried_forward"),
            ];
            (s["beneficiary"].as_str().unwrap().to_owned(), figures)
        })
        .collect()
}

/// A commit request for the demo cart.
pub fn commit_request(order_id: &str, plan: &str, cart: &Value) -> Value {
    json!({ "order_id": order_id, "plan": plan, "cart": cart })
}

/// Run `task(0..threads * each)` on `threads` threads at once, `each` per thread (thread
/// `t` runs `t * each ..`): the answers in task order.
pub fn race<T: Send>(threads: usize, each: usize, task: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let running: Vec<_> = (0..threads)
            .map(|t| {
                let task = &task;
                s.spawn(move || (0..each).map(|i| task(t * each + i)).collect::<Vec<T>>())
            })
            .collect();
        running
            .into_iter()
            .flat_map(|r| r.join().expect("a racing thread panicked"))
            .collect()
    })
}

/// Keys that must find nothing of merchant `teahouse`'s: another merchant's admin
/// (`rival`) and checkout, an agency (`pa`), one of its promoters (`p-1`) and a
/// beneficiary (`p-2`), each with its name.
pub fn strangers(server: &Server) -> Vec<(&'static str, Api)> {
    let operator = server.operator();
    let rival = operator.create_tenant("rival", "merchant");
    let rival_checkout = operator.issue_key("rival", "checkout");
    let agency = operator.create_tenant("pa", "agency");
    let promoter = enlist(server, &agency, "p-1");
    let beneficiary = operator.issue_beneficiary_key("p-2");
    vec![
        ("rival", rival),
        ("rival checkout", rival_checkout),
        ("agency", agency),
        ("promoter", promoter),
        ("beneficiary", beneficiary),
    ]
}
