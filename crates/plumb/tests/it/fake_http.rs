//! A local stand-in for the HTTP APIs plumb calls (GitHub's REST API, alert sinks): a small
//! HTTP/1.1 server on 127.0.0.1 that answers from a route function and records every request
//! (method, path, headers, body), so tests assert both on plumb's verdict and on what it sent.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// A request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body, as text.
    pub body: String,
}

/// An answer.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(body: serde_json::Value) -> Response {
        Response { status: 200, headers: Vec::new(), body: body.to_string() }
    }

    pub fn status(status: u16, message: &str) -> Response {
        Response { status, headers: Vec::new(), body: serde_json::json!({ "message": message }).to_string() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Routes see the request, the server's base URL, and how many times this path was asked
/// for before (so a route can fail first and succeed on the retry).
pub type Route = dyn Fn(&Request, &str, usize) -> Response + Send + Sync;

pub struct FakeHttp {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl FakeHttp {
    pub fn start(route: impl Fn(&Request, &str, usize) -> Response + Send + Sync + 'static) -> FakeHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let route: Arc<Route> = Arc::new(route);
        let (seen, stopping, base) = (requests.clone(), stop.clone(), url.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (seen, route, base) = (seen.clone(), route.clone(), base.clone());
                thread::spawn(move || serve(stream, &seen, &*route, &base));
            }
        });
        FakeHttp { url, requests, stop, port }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The paths requested, in order.
    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag and ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Answers requests on one connection until the client closes it (keep-alive).
fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>, route: &Route, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) =
            (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned());
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
            }
        }
        let length = headers.get("content-length").and_then(|l| l.parse::<usize>().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() };
        let count = {
            let mut seen = seen.lock().unwrap();
            let count = seen.iter().filter(|r| r.path == request.path).count();
            seen.push(request.clone());
            count
        };
        let response = route(&request, base, count);
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            response.status,
            response.body.len()
        );
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(response.body.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}
