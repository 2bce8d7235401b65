//! A real Chromium, headless, driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`): started per test, with screenshots kept as artifacts in
//! `target/console-screenshots/`.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(20);

/// Why the browser tests cannot run here, or `None` when they can.
pub fn unavailable() -> Option<String> {
    for tool in ["chromium", "chromedriver"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !found.is_ok_and(|s| s.success()) {
            return Some(format!(
                "`{tool}` is not installed (Debian: apt-get install chromium chromium-driver)"
            ));
        }
    }
    None
}

/// True, after saying why, when the console's browser tests cannot run here.
pub fn skipped() -> bool {
    let why = unavailable();
    if let Some(why) = &why {
        eprintln!("skipped: the console's browser tests need Chromium: {why}");
    }
    why.is_some()
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
}

impl Browser {
    /// A fresh headless Chromium with a window of `width` × `height`.
    pub async fn start(name: &str, width: u32, height: u32) -> Browser {
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            socket.local_addr().expect("its address").port()
        };
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(&format!("{url}/status")).call().is_err() {
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={width},{height}"), "--lang=en-US",
            ]}),
        );
        let client = ClientBuilder::rustls()
            .expect("TLS roots")
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("connecting to chromedriver");
        let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/console-screenshots")
            .join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("the screenshot folder");
        Browser {
            client,
            driver,
            shots,
        }
    }

    /// Open the console at `console` and sign in with `key`.
    pub async fn sign_in(&self, console: &str, key: &str) {
        self.goto(console).await;
        self.fill("#key", key).await;
        self.click("form.signin button[type=submit]").await;
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigating");
    }

    /// The first element `css` selects, once there is one.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(found) = self.client.find(Locator::Css(css)).await {
                return found;
            }
            if started.elapsed() > PATIENCE {
                self.shot("timeout").await;
                panic!("nothing matched {css:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of `css` once it contains `wanted`.
    pub async fn text_with(&self, css: &str, wanted: &str) -> String {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            if let Ok(found) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = found.text().await
            {
                if text.contains(wanted) {
                    return text;
                }
                last = text;
            }
            if started.elapsed() > PATIENCE {
                self.shot("timeout").await;
                panic!("{css:?} never showed {wanted:?}; last: {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("clicking");
    }

    /// Replace the value of the input `css` selects.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clearing");
        input.send_keys(text).await.expect("typing");
    }

    pub async fn select(&self, css: &str, value: &str) {
        let select = self.find(css).await;
        select.select_by_value(value).await.expect("selecting");
    }

    /// The page's text.
    pub async fn page_text(&self) -> String {
        self.find("body")
            .await
            .text()
            .await
            .expect("the page's text")
    }

    /// Save a screenshot of the whole page (the window grown to its height) as
    /// `<n>-<label>.png`.
    pub async fn shot(&self, label: &str) {
        let size = self.client.get_window_size().await.ok();
        let height = (self.client)
            .execute("return document.documentElement.scrollHeight", vec![])
            .await
            .ok()
            .and_then(|h| h.as_u64())
            .unwrap_or(0);
        if let Some((width, _)) = size {
            let _ = (self.client)
                .set_window_size(
                    u32::try_from(width).unwrap_or(1280),
                    height.clamp(600, 6000) as u32,
                )
                .await;
        }
        let png = self.client.screenshot().await;
        if let Some((width, tall)) = size {
            let _ = (self.client)
                .set_window_size(
                    u32::try_from(width).unwrap_or(1280),
                    u32::try_from(tall).unwrap_or(900),
                )
                .await;
        }
        if let Ok(png) = png {
            let n = std::fs::read_dir(&self.shots).map_or(0, Iterator::count);
            let _ = std::fs::write(self.shots.join(format!("{n:02}-{label}.png")), png);
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
