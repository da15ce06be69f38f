//! A kiosk's own keep-alive HTTP/1.1 connection to the server, as a kiosk
//! terminal holds one. The kiosks run on the server's two cores, so their
//! side of each call is kept lean: one connection per kiosk and no pool to
//! look it up in, no timer per call (a flow has one), and the answer's body
//! kept as the bytes hyper read. Provisioning and `/metrics` use kofu-load's
//! general client.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// An answer: its status and body.
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    /// The problem type's last segment (`urn:kofu:problem:<slug>`), for a
    /// report of what went wrong.
    pub fn problem(&self) -> String {
        kofu_load::client::problem_slug(&self.body)
    }
}

/// One kiosk's connection, with its credential.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    authorization: String,
}

impl Connection {
    /// Connect to `address` (`127.0.0.1:PORT`) as the kiosk holding `token`.
    pub async fn open(address: &str, token: &str) -> Result<Connection, String> {
        let stream = TcpStream::connect(address).await.map_err(|e| format!("connect ({})", e.kind()))?;
        // A kiosk's request is written whole; nothing is gained by waiting
        // to coalesce it with more.
        stream.set_nodelay(true).map_err(|e| format!("connect ({})", e.kind()))?;
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("connect ({e})"))?;
        // The connection's I/O runs as its own task; it ends when the
        // sender is dropped or the server closes the connection.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection { sender, host: address.to_owned(), authorization: format!("Bearer {token}") })
    }

    /// One call. `json` is sent as the body; `key` as the Idempotency-Key.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        json: Option<Vec<u8>>,
        key: Option<&str>,
    ) -> Result<Reply, String> {
        self.sender.ready().await.map_err(|e| format!("connection lost ({e})"))?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host)
            .header(AUTHORIZATION, &self.authorization);
        if json.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let body = Full::new(json.map(Bytes::from).unwrap_or_default());
        let request = request.body(body).map_err(|e| format!("request ({e})"))?;
        let response = self.sender.send_request(request).await.map_err(|e| format!("connection lost ({e})"))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|e| format!("body cut off ({e})"))?.to_bytes();
        Ok(Reply { status, body })
    }
}
