//! A minimal HTTP/1.1 client over `std::net::TcpStream`: one request per connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Longest one HTTP exchange may take.
const HTTP_TIMEOUT_MS: u64 = 10_000;

/// An HTTP response: its status, its headers (names in lowercase) and its body as text.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first value of the header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(known, _)| known == name).map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("the body is not JSON ({error}): {}", self.body))
    }
}

/// One `GET` over a fresh connection, closed by the server after the response.
pub fn http_get(port: u16, path: &str, bearer: Option<&str>) -> std::io::Result<Response> {
    let authorization = bearer.map(|secret| format!("Bearer {secret}"));
    let headers: Vec<(&str, &str)> = authorization.iter().map(|value| ("Authorization", value.as_str())).collect();
    http_get_with(port, path, &headers)
}

/// One `GET` with the given request headers, over a fresh connection.
pub fn http_get_with(port: u16, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let headers: String = headers.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Connection: close\r\n\r\n");
    exchange(port, &request)
}

/// One JSON `POST` with an `Idempotency-Key`, over a fresh connection.
pub fn http_post(port: u16, path: &str, bearer: &str, idempotency_key: &str, body: &str) -> std::io::Result<Response> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {bearer}\r\n\
         Idempotency-Key: {idempotency_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(port, &request)
}

/// One `DELETE`, over a fresh connection.
pub fn http_delete(port: u16, path: &str, bearer: &str) -> std::io::Result<Response> {
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {bearer}\r\n\
         Connection: close\r\n\r\n"
    );
    exchange(port, &request)
}

fn exchange(port: u16, request: &str) -> std::io::Result<Response> {
    let timeout = Some(Duration::from_millis(HTTP_TIMEOUT_MS));
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let split = raw.windows(4).position(|window| window == b"\r\n\r\n").ok_or_else(|| invalid("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked"));
    let body = if chunked { decode_chunked(body).ok_or_else(|| invalid("bad chunked body"))? } else { body.to_vec() };
    Ok(Response { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn decode_chunked(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::new();
    loop {
        let line_end = body.windows(2).position(|window| window == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(decoded);
        }
        decoded.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// Checks an error response: its status and the envelope's `type` and `code`.
pub fn assert_error(response: &Response, status: u16, error_type: &str, code: &str) {
    assert_eq!(response.status, status, "unexpected status; body: {}", response.body);
    let body = response.json();
    assert_eq!(body["error"]["type"], error_type, "body: {body}");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "body: {body}");
}
