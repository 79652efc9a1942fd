//! `--touch-plans N` (our server only): N small plans (genesis only) are seeded through the store,
//! then each is touched in turn through the real server's REST API, as its adviser: read the plan
//! (`GET /api/v1/young-people/{id}/plan`, which loads it into the plan cache) and, unless
//! `--touch-read-only`, create an action on it (`POST …/actions`, one commit). The server's RSS
//! (`VmRSS`) is sampled every `--sample-every` plans and printed against its configured cache.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt};
use sync_core::PlanDocument;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::procfs::{ServerProcess, free_addr};
use crate::{Args, mib, ours_command};

/// Plans per adviser (one token each), and HTTP connections touching plans at once.
const PORTFOLIO: usize = 1000;
const CONNECTIONS: usize = 4;

/// One keep-alive HTTP/1.1 connection, just enough for JSON answers with a Content-Length.
struct Http {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Http {
    async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        Ok(Http { stream: TcpStream::connect(addr).await?, host: addr.to_string(), buf: Vec::new() })
    }

    async fn request(&mut self, method: &str, path: &str, token: &str, body: Option<&str>) -> anyhow::Result<u16> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\naccept: application/json\r\n",
            self.host
        );
        if let Some(b) = body {
            req.push_str(&format!("content-type: application/json\r\ncontent-length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        req.push_str(body.unwrap_or(""));
        self.stream.write_all(req.as_bytes()).await?;
        // Headers.
        let end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
        let status: u16 = head.split_whitespace().nth(1).context("no status")?.parse()?;
        let lower = head.to_ascii_lowercase();
        if lower.contains("transfer-encoding: chunked") {
            bail!("chunked answer to {method} {path}");
        }
        let len: usize = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse())
            .transpose()?
            .unwrap_or(0);
        while self.buf.len() < end + len {
            self.fill().await?;
        }
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {}", String::from_utf8_lossy(&self.buf[end..end + len]));
        }
        self.buf.drain(..end + len);
        Ok(status)
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

struct Sample {
    touched: usize,
    rss: u64,
    secs: f64,
}

pub async fn run(args: &Args, n: usize, dir: &Path) -> anyhow::Result<String> {
    let data = dir.join("ours-touch-data");
    std::fs::create_dir_all(&data)?;
    eprintln!("== touch mode: {n} plans on our server");
    let t = Instant::now();
    let young: Vec<(Uuid, Vec<u8>)> = (0..n)
        .map(|_| {
            let id = Uuid::new_v4();
            PlanDocument::genesis(id).map(|mut d| (id, d.save()))
        })
        .collect::<Result<_, _>>()?;
    let (plans, advisers) = crate::seed::seed(args.database_url.as_deref(), &data, young, PORTFOLIO, false).await?;
    let seeded_in = t.elapsed().as_secs_f64();
    eprintln!("  seeded {n} plans in {seeded_in:.1} s");
    let addr = free_addr()?;
    let cmd = ours_command(args, &data, addr, CONNECTIONS, dir);
    let server = ServerProcess::spawn(cmd, addr, &dir.join("ours-touch.log"))?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let rss_start = server.stats()?.rss;
    let token_of: Vec<&str> = (0..n).map(|i| advisers[i / PORTFOLIO].token.as_str()).collect();
    let mut samples = vec![Sample { touched: 0, rss: rss_start, secs: 0.0 }];
    let every = args.sample_every.max(1);
    let go = Instant::now();
    let mut conns = Vec::new();
    for _ in 0..CONNECTIONS {
        conns.push(Http::connect(addr).await?);
    }
    for start in (0..n).step_by(every) {
        let end = (start + every).min(n);
        // The batch in turn, CONNECTIONS plans at a time.
        let per = (end - start).div_ceil(CONNECTIONS);
        let plans = &plans;
        let token_of = &token_of;
        let read_only = args.touch_read_only;
        conns = futures_util::stream::iter(conns.into_iter().enumerate())
            .map(|(c, mut http)| async move {
                for i in (start + c * per)..(start + (c + 1) * per).min(end) {
                    let id = plans[i].young_person_id;
                    http.request("GET", &format!("/api/v1/young-people/{id}/plan"), token_of[i], None).await?;
                    if !read_only {
                        let body = format!(
                            "{{\"id\":\"{}\",\"title\":\"Appeler la Mission Locale\",\"category\":\"EMPLOI\"}}",
                            Uuid::new_v4()
                        );
                        http.request("POST", &format!("/api/v1/young-people/{id}/actions"), token_of[i], Some(&body))
                            .await?;
                    }
                }
                anyhow::Ok(http)
            })
            .buffered(CONNECTIONS)
            .try_collect()
            .await?;
        let s = Sample { touched: end, rss: server.stats()?.rss, secs: go.elapsed().as_secs_f64() };
        eprintln!("  {} plans touched, RSS {:.1} MiB, {:.1} s", s.touched, mib(s.rss), s.secs);
        samples.push(s);
    }
    let peak = server.stats()?.peak_rss;
    let cache = args.doc_cache_mib.unwrap_or(server::config::DEFAULT_DOC_CACHE_MIB);
    let mut out = format!(
        "Our server, {n} plans seeded (genesis only, {seeded_in:.0} s) then touched in turn through REST as their adviser \
         ({}), {CONNECTIONS} connections; plan cache `--doc-cache-mib {cache}`{}, {}\n\n",
        if args.touch_read_only { "read the plan" } else { "read the plan, create an action" },
        if args.doc_cache_mib.is_none() { " (default)" } else { "" },
        crate::pinning(args)
    );
    out.push_str(
        "| plans touched | seconds | server RSS (MiB) | RSS − RSS at start (MiB) | RSS − cache budget (MiB) |\n",
    );
    out.push_str("|---|---|---|---|---|\n");
    for s in &samples {
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            s.touched,
            s.secs,
            mib(s.rss),
            mib(s.rss.saturating_sub(rss_start)),
            mib(s.rss) - cache as f64
        ));
    }
    out.push_str(&format!(
        "\nPeak RSS (VmHWM): {:.1} MiB; RSS before any request: {:.1} MiB.\n",
        mib(peak),
        mib(rss_start)
    ));
    Ok(out)
}
