//! The Prometheus endpoint: `GET /metrics` answers the control core's metrics
//! ([`crate::metrics`]) in Prometheus' text format, on a thread of its own (tiny_http);
//! anything else is 404 (405 for another method). Off unless `settings.metrics_listen`
//! or `--metrics ADDR` gives an address.

use crate::ctl::{ask_metrics, Request};
use crate::metrics::prometheus_text;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tiny_http::{Header, Method, Response, Server};

/// The longest a scrape waits for the control core.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Binds `addr` (before forwarding starts: an address in use is a start-up error).
pub fn bind(addr: SocketAddr) -> Result<Server, String> {
    Server::http(addr).map_err(|e| format!("metrics endpoint {addr}: {e}"))
}

/// Serves scrapes on `server` until the control core exits.
pub fn serve_on(server: Server, tx: Sender<Request>) -> Result<(), String> {
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || serve(server, tx))
        .map_err(|e| format!("metrics endpoint: {e}"))?;
    Ok(())
}

fn serve(server: Server, tx: Sender<Request>) {
    let text = |s: String| {
        let h = Header::from_bytes("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            .expect("a valid header");
        Response::from_string(s).with_header(h)
    };
    for req in server.incoming_requests() {
        let path = req.url().split('?').next().unwrap_or_default();
        let r = match (req.method(), path) {
            (Method::Get, "/metrics") => match ask_metrics(&tx, TIMEOUT) {
                Some(f) => text(prometheus_text(&f)),
                None => text("control core not answering\n".into()).with_status_code(503),
            },
            (Method::Get, _) => text("not found: try /metrics\n".into()).with_status_code(404),
            _ => text("only GET\n".into()).with_status_code(405),
        };
        let _ = req.respond(r);
    }
}
