//! A kofu server on a real socket, for the browser: the server suite's
//! [`TestServer`] (a temporary data directory; a fresh database on this
//! run's backend, SQLite unless `KOFU_TEST_BACKEND` says otherwise; the
//! vendor token [`ADMIN`](crate::common::ADMIN)), served by `axum::serve`
//! on 127.0.0.1 at a port of its own. Tests set data up with the server
//! suite's helpers, through the same router in-process, and point the
//! browser at [`Site::url`].

use std::net::SocketAddr;
use std::ops::Deref;

use kofu_server::Config;
use tokio::task::JoinHandle;

use crate::common::{Muni, TestServer};

pub struct Site {
    pub server: TestServer,
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    serving: JoinHandle<()>,
}

impl Site {
    /// A server with no data but the vendor token `common::ADMIN`.
    pub async fn start() -> Site {
        Site::serve(TestServer::with(listen_anywhere).await).await
    }

    /// A server with a municipality (999997 見本市), the bundled plugins
    /// active and one kiosk, as the server suite's `world`.
    pub async fn world() -> (Site, Muni, String) {
        let site = Site::start().await;
        let muni = site.municipality("999997", "見本市").await;
        site.activate_bundled(&muni).await;
        let kiosk = site.kiosk("store 1").await;
        (site, muni, kiosk)
    }

    async fn serve(server: TestServer) -> Site {
        let listener = kofu_server::bind(server.state.config()).await.expect("a local port for the server");
        let addr: SocketAddr = listener.local_addr().expect("the server's address");
        let app = server.app.clone();
        let serving = tokio::spawn(async move {
            // The sweeper and the graceful shutdown of `kofu_server::serve`
            // are left out: a test's server stops with the test.
            if let Err(err) = axum::serve(listener, app).await {
                panic!("the test server stopped: {err}");
            }
        });
        Site { server, base_url: format!("http://{addr}"), serving }
    }

    /// The address of `path` (which starts with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// Port 0 on the loopback: the system picks a free port.
fn listen_anywhere(config: &mut Config) {
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
}

/// The server suite's helpers (`municipality`, `kiosk`, `post`, `issue`, …)
/// on the site itself.
impl Deref for Site {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.serving.abort();
    }
}
