//! A webhook receiver for the process tests: a plain HTTP/1.1 server on 127.0.0.1 that
//! answers every request 200 (keep-alive) and counts deliveries per event id.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How many times each event id arrived.
pub type Counts = Arc<Mutex<BTreeMap<String, u32>>>;

pub struct Receiver {
    pub url: String,
    pub counts: Counts,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("local address"));
        let counts = Counts::default();
        let shared = Arc::clone(&counts);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counts = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &counts));
            }
        });
        Receiver { url, counts }
    }

    /// (distinct events, deliveries in all).
    pub fn totals(&self) -> (usize, u32) {
        let counts = self.counts.lock().expect("lock");
        (counts.len(), counts.values().sum())
    }
}

/// Answers requests on one connection until the sender closes it.
fn serve(stream: TcpStream, counts: &Counts) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    loop {
        let (mut event_id, mut length) = (None, 0_usize);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "payrail-event-id" => event_id = Some(value.trim().to_owned()),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Some(id) = event_id {
            *counts.lock().expect("lock").entry(id).or_insert(0) += 1;
        }
        if writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").is_err() {
            return;
        }
    }
}
