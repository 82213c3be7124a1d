//! A real browser for page tests: Debian's Chromium, headless, driven over WebDriver by
//! its chromedriver. Without them a test is skipped with a notice saying how to install
//! them, unless `EMPORIUM_REQUIRE_BROWSER=1` (set by CI) makes that a failure.

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::json;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

const INSTALL: &str = "install Debian's browser packages: apt-get install chromium chromium-driver \
     (or point EMPORIUM_CHROMIUM and EMPORIUM_CHROMEDRIVER at a Chromium and its driver)";

fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A headless Chromium session and the chromedriver that runs it, both ended when the
/// test's closure returns or panics.
pub struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Runs `test` in a fresh headless browser, or returns `None` (after a notice) when
    /// none is installed and CI did not ask for one.
    pub async fn run<F, Fut>(test: F) -> Option<()>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()>,
    {
        let browser = Self::start().await?;
        let outcome = AssertUnwindSafe(test(browser.client.clone()))
            .catch_unwind()
            .await;
        browser.stop().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
        Some(())
    }

    async fn start() -> Option<Self> {
        let required = std::env::var("EMPORIUM_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let chromium = find("EMPORIUM_CHROMIUM", &["chromium", "chromium-browser"]);
        let driver = find("EMPORIUM_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                !required,
                "EMPORIUM_REQUIRE_BROWSER=1 but no Chromium or chromedriver: {INSTALL}"
            );
            eprintln!("browser test skipped: no Chromium or chromedriver; {INSTALL}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            ready,
            "chromedriver did not answer on port {port} within 10 s"
        );
        let profile = tempfile::tempdir().expect("a browser profile directory");
        // The flags keep Chromium from reaching out (updates, sync, safe browsing):
        // this machine's network is closed, and tests must only talk to our node.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--window-size=1280,900",
        ]
        .into_iter()
        .map(String::from)
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": args}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&base)
            .await
            .expect("a Chromium session");
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    async fn stop(mut self) {
        // Closing the session ends Chromium; then the driver, which we started.
        let _ = self.client.close().await;
        let _ = self.driver.start_kill();
        let _ = self.driver.wait().await;
    }
}

/// The text of the first element matching a CSS selector.
pub async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .text()
        .await
        .unwrap_or_default()
}

/// Types `text` into the field matching a CSS selector, in place of what it held.
pub async fn fill(client: &Client, css: &str, text: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no field {css}: {e}"));
    field
        .clear()
        .await
        .unwrap_or_else(|e| panic!("clearing {css}: {e}"));
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Clicks the link or button matching a CSS selector and waits until the page it
/// loads has replaced this one (a click does not always wait for the navigation).
pub async fn click(client: &Client, css: &str) {
    let before = client
        .find(Locator::Css("html"))
        .await
        .expect("a loaded page");
    press(client, css).await;
    // The old document's root goes stale once the new page is in.
    for _ in 0..400 {
        if before.tag_name().await.is_err() {
            let ready = client
                .execute("return document.readyState", vec![])
                .await
                .ok();
            if ready.as_ref().and_then(|v| v.as_str()) == Some("complete") {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("clicking {css} loaded no new page within 10 s");
}

/// Clicks what changes this page in place (a checkbox, a `<details>` summary), with no
/// page to wait for.
pub async fn press(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}
