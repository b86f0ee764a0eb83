//! The OTLP exporter (feature `otlp`) against a fake collector on loopback: a span ended in
//! the telemetry's scope has been posted by the time `shutdown_tracing` returns (it flushes
//! the batch processor, whose own timer would take 5 s), as `POST /v1/traces` with
//! `content-type: application/x-protobuf` and the span's name in the body. And an endpoint
//! that is not a URI is a `BuildError::Exporter` from `build()`, not a panic.
//!
//! Not part of `cargo test --workspace`: run with
//! `cargo test -p nimsync-telemetry --features otlp --test otlp`.

use nimsync_telemetry::{BuildError, Exporter, Telemetry, Tracing, end_span, start_span};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long the fake collector waits on a stalled request before giving up.
const DEADLINE: Duration = Duration::from_secs(30);

/// One HTTP request as the fake collector read it.
#[derive(Debug)]
struct Request {
    /// E.g. `POST /v1/traces HTTP/1.1`.
    line: String,
    /// Names lower-cased (HTTP header names are case-insensitive).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A collector that accepts one connection on 127.0.0.1, reads one request (headers, then
/// `Content-Length` bytes), sends what it read (or why it could not) down the channel and
/// only then answers `200 OK`: once the exporter has its answer, the request is in the
/// channel.
fn fake_collector() -> (SocketAddr, mpsc::Receiver<io::Result<Request>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("the bound port's address");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || serve_one(&listener, &tx));
    (addr, rx)
}

fn serve_one(listener: &TcpListener, tx: &mpsc::Sender<io::Result<Request>>) {
    let (mut stream, request) = match read_one(listener) {
        Ok(read) => read,
        Err(e) => {
            // The receiver may be gone (the test already failed): nothing to report to then.
            let _ = tx.send(Err(e));
            return;
        }
    };
    let _ = tx.send(Ok(request));
    // If the answer cannot be written the exporter sees an error; the test has the request.
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

fn read_one(listener: &TcpListener) -> io::Result<(TcpStream, Request)> {
    let (stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(DEADLINE))?;
    let mut reader = BufReader::new(stream);

    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the headers",
            ));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break; // the blank line ending the headers
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    // The exporter posts a complete protobuf message, so it knows the length up front
    // (no chunked encoding to handle).
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no usable content-length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let request = Request {
        line,
        headers,
        body,
    };
    Ok((reader.into_inner(), request))
}

#[test]
fn an_ended_span_is_posted_to_the_collector_as_otlp_protobuf() {
    let (addr, requests) = fake_collector();
    let t = Telemetry::builder()
        .tracing(
            Tracing::ratio(1.0)
                .service_name("otlp-test-service")
                .exporter(Exporter::Otlp {
                    endpoint: format!("http://{addr}/v1/traces"),
                }),
        )
        .build()
        .expect("an http:// loopback endpoint builds");

    t.in_scope(|| {
        assert!(start_span("otlp-probe").is_sampled(), "ratio 1.0 samples");
        assert!(end_span());
    });
    // The batch processor exports from its own thread every 5 s or when its batch fills;
    // shutdown_tracing flushes it and waits for the export (up to the SDK's 5 s flush and
    // 5 s shutdown timeouts), so the collector has answered, and the request is in the
    // channel, when it returns. No waiting here: a shutdown that did not flush fails now
    // rather than passing on the timer's export.
    t.shutdown_tracing()
        .expect("flushed to the fake collector and shut down");

    let request = requests
        .try_recv()
        .expect("shutdown_tracing returned with the span posted to the fake collector")
        .expect("the fake collector read a whole HTTP request");
    assert!(
        request.line.starts_with("POST /v1/traces "),
        "request line: {:?}",
        request.line
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf"),
        "headers: {:?}",
        request.headers
    );
    // Protobuf stores strings as raw bytes (an uncompressed body: no
    // OTEL_EXPORTER_OTLP_*COMPRESSION set), so the span's name and the resource's
    // service.name appear verbatim.
    for expected in [&b"otlp-probe"[..], b"otlp-test-service"] {
        assert!(
            request.body.windows(expected.len()).any(|w| w == expected),
            "{:?} not in the {}-byte body",
            String::from_utf8_lossy(expected),
            request.body.len()
        );
    }
}

#[test]
fn an_endpoint_that_is_not_a_uri_is_a_build_error() {
    let built = Telemetry::builder()
        .tracing(Tracing::ratio(1.0).exporter(Exporter::Otlp {
            endpoint: "not a url".to_owned(),
        }))
        .build();
    match built {
        Err(BuildError::Exporter(message)) => {
            assert!(message.contains("not a url"), "message: {message}");
        }
        other => panic!("expected BuildError::Exporter, got {other:?}"),
    }
}
