//! The servers under test as child processes, and what /proc says about them.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A server process, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
}

impl ServerProcess {
    pub fn spawn(mut cmd: Command, addr: SocketAddr, log: &Path) -> anyhow::Result<Self> {
        let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        let mut server = ServerProcess { child };
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited with {status} before listening (log: {})", log.display());
            }
            if start.elapsed() > Duration::from_secs(60) {
                bail!("the server did not listen on {addr} within 60 s (log: {})", log.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stats(&self) -> anyhow::Result<ProcStats> {
        ProcStats::read(self.pid())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free local port (bound, then released for the child to take).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ProcStats {
    /// utime + stime, seconds.
    pub cpu_seconds: f64,
    /// VmRSS, bytes.
    pub rss: u64,
    /// VmHWM (peak RSS), bytes.
    pub peak_rss: u64,
}

impl ProcStats {
    pub fn read(pid: u32) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The command name may hold spaces: fields count from after its closing parenthesis.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc/pid/stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Fields 14 and 15 of stat(5) are utime and stime; `rest` starts at field 3.
        let ticks = |i: usize| -> anyhow::Result<f64> {
            Ok(fields.get(i - 3).context("short /proc/pid/stat")?.parse::<u64>()? as f64)
        };
        let cpu_seconds = (ticks(14)? + ticks(15)?) / clock_ticks() as f64;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        Ok(ProcStats { cpu_seconds, rss: kib("VmRSS:"), peak_rss: kib("VmHWM:") })
    }
}

/// USER_HZ: 100 on every Linux we run on; `getconf CLK_TCK` says otherwise if it must.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}
