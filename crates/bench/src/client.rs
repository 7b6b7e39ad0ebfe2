//! A minimal HTTP/1.1 client over one keep-alive TCP connection: write a prepared `GET` or
//! `POST`, read the head up to `\r\n\r\n`, read `content-length` bytes of body, repeat.
//! Written by hand so that the load generator costs little, adds no dependency, and hides
//! nothing.
//!
//! It understands exactly what Payrail sends back: responses framed by `content-length`.
//! Anything else (chunked bodies, a head or body over its limits) is an error, not a guess.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response head accepted.
const HEAD_BYTES_MAX: usize = 16 * 1024;
/// The largest response body accepted.
const BODY_BYTES_MAX: usize = 1024 * 1024;
/// How much room each read asks for.
const READ_CHUNK_BYTES: usize = 8 * 1024;

/// The bytes of a `GET` to `path` on `address`, with a bearer key when given.
pub fn get_request(address: SocketAddr, path: &str, bearer_key: Option<&str>) -> Vec<u8> {
    let authorization = bearer_key.map(|key| format!("authorization: Bearer {key}\r\n")).unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nhost: {address}\r\naccept: application/json\r\n{authorization}\r\n").into_bytes()
}

/// The bytes of a `POST` of the JSON `body` to `path` on `address`, with a bearer key when given.
pub fn post_request(address: SocketAddr, path: &str, bearer_key: Option<&str>, body: &str) -> Vec<u8> {
    let authorization = bearer_key.map(|key| format!("authorization: Bearer {key}\r\n")).unwrap_or_default();
    let length = body.len();
    format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\naccept: application/json\r\n{authorization}\
         content-type: application/json\r\ncontent-length: {length}\r\n\r\n{body}"
    )
    .into_bytes()
}

/// What the load generator needs to know about a response.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    pub status: u16,
    /// Whether the server lets the connection be used again.
    pub keep_alive: bool,
    /// The body, borrowed from the connection's buffer until the next exchange.
    pub body: &'a [u8],
}

/// One connection. After any error its state is unknown, so callers drop it and connect anew.
pub struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet consumed.
    buffer: Vec<u8>,
    /// The length of the last response at the front of `buffer`, kept there so that its
    /// body can be lent out without a copy, and dropped when the next exchange begins.
    last_response_bytes: usize,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> io::Result<Connection> {
        let stream = TcpStream::connect(address).await?;
        // Requests are small and sent one at a time; Nagle's algorithm would only delay them.
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buffer: Vec::with_capacity(READ_CHUNK_BYTES), last_response_bytes: 0 })
    }

    /// Sends `request` and reads its whole response.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<Response<'_>> {
        self.buffer.drain(..self.last_response_bytes);
        self.last_response_bytes = 0;
        self.stream.write_all(request).await?;
        let head_bytes = self.read_head().await?;
        let head = parse_head(&self.buffer[..head_bytes])?;
        if head.content_length > BODY_BYTES_MAX {
            return Err(invalid(format!("a body of {} bytes is over the limit", head.content_length)));
        }
        let response_bytes = head_bytes + head.content_length;
        while self.buffer.len() < response_bytes {
            self.fill().await?;
        }
        self.last_response_bytes = response_bytes;
        let body = &self.buffer[head_bytes..response_bytes];
        Ok(Response { status: head.status, keep_alive: head.keep_alive, body })
    }

    /// Reads until the buffer holds a complete head; returns its length with the blank line.
    async fn read_head(&mut self) -> io::Result<usize> {
        let mut searched = 0;
        loop {
            if let Some(at) = self.buffer[searched..].windows(4).position(|window| window == b"\r\n\r\n") {
                return Ok(searched + at + 4);
            }
            if self.buffer.len() > HEAD_BYTES_MAX {
                return Err(invalid(format!("a response head over {HEAD_BYTES_MAX} bytes")));
            }
            // The terminator may straddle two reads, so the last three bytes are searched again.
            searched = self.buffer.len().saturating_sub(3);
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        self.buffer.reserve(READ_CHUNK_BYTES);
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        Ok(())
    }
}

struct Head {
    status: u16,
    keep_alive: bool,
    content_length: usize,
}

fn parse_head(bytes: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("a response head that is not UTF-8".to_owned()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("a malformed status line: {status_line:?}")))?;
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length = None;
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| invalid(format!("a malformed header: {line:?}")))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let length = value.parse::<usize>().map_err(|_| invalid(format!("a bad content-length: {value:?}")))?;
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid(format!("transfer-encoding {value} is not supported")));
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        }
    }
    // Only these statuses may come without a body; any other needs its length stated.
    let bodiless = matches!(status, 100..=199 | 204 | 304);
    let content_length = match content_length {
        Some(length) => length,
        None if bodiless => 0,
        None => return Err(invalid(format!("a {status} response without content-length"))),
    };
    Ok(Head { status, keep_alive, content_length })
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the server sent {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(head: &str, expected: Result<(u16, bool, usize), &str>) {
        let parsed = parse_head(head.as_bytes())
            .map(|head| (head.status, head.keep_alive, head.content_length))
            .map_err(|error| error.to_string());
        match expected {
            Ok(expected) => assert_eq!(parsed.as_ref().ok(), Some(&expected), "{head:?}: {parsed:?}"),
            Err(fragment) => {
                let message = parsed.expect_err("should be refused");
                assert!(message.contains(fragment), "{head:?}: {message}");
            }
        }
    }

    #[test]
    fn heads_framed_by_content_length_are_read_and_others_are_refused() {
        check("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n", Ok((200, true, 15)));
        check("HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", Ok((401, false, 3)));
        check("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", Ok((200, false, 0)));
        check("HTTP/1.1 204 No Content\r\n\r\n", Ok((204, true, 0)));
        check("HTTP/1.1 200 OK\r\n\r\n", Err("without content-length"));
        check("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", Err("transfer-encoding"));
        check("HTTP/1.1 OK\r\n\r\n", Err("malformed status line"));
        check("HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n", Err("bad content-length"));
    }

    /// A server that answers each request on one connection with its own body, framed by
    /// the `content-length` the request declared.
    async fn echoing() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut buffer = Vec::new();
            while stream.read_buf(&mut buffer).await.is_ok_and(|read| read > 0) {
                while let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                    let head = String::from_utf8(buffer[..at].to_vec()).expect("a UTF-8 head");
                    let length: usize = head
                        .lines()
                        .find_map(|line| line.strip_prefix("content-length: "))
                        .map_or(0, |length| length.parse().expect("a number"));
                    if buffer.len() < at + 4 + length {
                        break;
                    }
                    let body: Vec<u8> = buffer.drain(..at + 4 + length).skip(at + 4).collect();
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                    stream.write_all(&[head.as_bytes(), &body].concat()).await.expect("write");
                }
            }
        });
        address
    }

    #[tokio::test]
    async fn posts_declare_their_length_and_each_response_lends_out_its_own_body() {
        let address = echoing().await;
        let mut connection = Connection::open(address).await.expect("connect");
        for body in [r#"{"amount":1000}"#, "", r#"{"merchant_order_no":"bench-1-2"}"#] {
            let request = post_request(address, "/v1/payments", Some("sk_test_x"), body);
            let response = connection.exchange(&request).await.expect("a response");
            assert_eq!((response.status, response.body), (200, body.as_bytes()));
        }
        let request = get_request(address, "/healthz", None);
        let response = connection.exchange(&request).await.expect("a response");
        assert_eq!((response.status, response.body), (200, &b""[..]));
    }
}
