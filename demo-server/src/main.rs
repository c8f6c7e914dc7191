//! `sse-demo-server [--port N] [--tls] [--ca-out FILE] [--client-auth-out DIR] [--exit-on-stdin-eof] [--log]`
//!
//! Prints exactly one first line, the base URL (`http://127.0.0.1:PORT` or
//! `https://...`), flushes stdout, then serves until killed (or, with
//! `--exit-on-stdin-eof`, until standard input reaches end of file).

use std::io::{Read, Write};
use std::process::ExitCode;

use sse_demo_server::{Server, ServerOptions};

const USAGE: &str =
    "usage: sse-demo-server [--port N] [--tls] [--ca-out FILE] [--client-auth-out DIR] [--exit-on-stdin-eof] [--log]

Serves Server-Sent Events test endpoints on 127.0.0.1 (see demo-server/README.md).
  --port N             listen on port N (default 0: any free port)
  --tls                serve HTTPS with a freshly generated CA and leaf certificate
  --ca-out FILE        with --tls: write the CA certificate (PEM) to FILE before printing the URL
  --client-auth-out DIR  with --tls: require client certificates; write one the server
                       accepts (client.pem, client.key) and one it refuses
                       (stranger.pem, stranger.key) to DIR before printing the URL
  --exit-on-stdin-eof  stop when standard input is closed (for test harnesses)
  --log                log every request on stderr
The first line on stdout is the base URL.";

fn main() -> ExitCode {
    let mut opts = ServerOptions::default();
    let mut ca_out: Option<String> = None;
    let mut client_auth_out: Option<String> = None;
    let mut stdin_eof = false;
    let mut log = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => match args.next().and_then(|v| v.parse().ok()) {
                Some(p) => opts.port = p,
                None => return usage_error("--port needs a number 0..65535"),
            },
            "--tls" => opts.tls = true,
            "--ca-out" => match args.next() {
                Some(f) => ca_out = Some(f),
                None => return usage_error("--ca-out needs a file name"),
            },
            "--client-auth-out" => match args.next() {
                Some(dir) => {
                    opts.client_auth = true;
                    client_auth_out = Some(dir);
                }
                None => return usage_error("--client-auth-out needs a folder"),
            },
            "--exit-on-stdin-eof" => stdin_eof = true,
            "--log" => log = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    if ca_out.is_some() && !opts.tls {
        return usage_error("--ca-out needs --tls");
    }
    if client_auth_out.is_some() && !opts.tls {
        return usage_error("--client-auth-out needs --tls");
    }
    let server = match Server::start_with(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sse-demo-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    server.set_logging(log);
    if let (Some(file), Some(pem)) = (&ca_out, server.ca_pem()) {
        if let Err(e) = std::fs::write(file, pem) {
            eprintln!("sse-demo-server: cannot write {file}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let (Some(dir), Some(ids)) = (&client_auth_out, server.client_identities()) {
        let files = [
            ("client.pem", &ids.accepted.0),
            ("client.key", &ids.accepted.1),
            ("stranger.pem", &ids.stranger.0),
            ("stranger.key", &ids.stranger.1),
        ];
        for (name, pem) in files {
            let path = std::path::Path::new(dir).join(name);
            if let Err(e) = std::fs::write(&path, pem) {
                eprintln!("sse-demo-server: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", server.url())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    if stdin_eof {
        let mut sink = [0u8; 1024];
        let mut stdin = std::io::stdin().lock();
        loop {
            match stdin.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        drop(server);
        ExitCode::SUCCESS
    } else {
        loop {
            std::thread::park();
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("sse-demo-server: {msg}\n{USAGE}");
    ExitCode::from(2)
}
