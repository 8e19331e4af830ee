//! A server survives running out of file descriptors: `accept` failing
//! with EMFILE is reported once, accepting pauses for the backoff (no
//! spinning), and resumes by itself once descriptors are free again.
//!
//! The test lowers `RLIMIT_NOFILE`, so it runs in a child process: the
//! parent test re-executes this test binary with a filter and an env var.

mod common;

use ravel_io::streams::open_connection;
use ravel_io::{start_server_with, ServerConfig};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "RAVEL_IO_EMFILE_CHILD";
const BACKOFF: Duration = Duration::from_millis(100);

#[test]
fn accept_survives_emfile() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "emfile_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stderr.contains("emfile child ok"), "the child did not run:\n{stdout}\n{stderr}");
}

fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the rusage it is given.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

#[test]
fn emfile_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // only meaningful in the child process
    }
    type Reports = Arc<Mutex<Vec<(String, Option<i32>)>>>;
    let reports: Reports = Arc::default();
    let r = reports.clone();
    let rt = ravel::Builder::new_multi_thread()
        .worker_threads(2)
        .unhandled_error_hook(move |report| {
            let errno = report.error().io_error().and_then(|e| e.raw_os_error());
            r.lock().unwrap().push((report.task_name().to_string(), errno));
        })
        .build()
        .unwrap();
    let seen = reports.clone();
    common::block(&rt, async move {
        let config = ServerConfig { accept_backoff: BACKOFF, ..Default::default() };
        let server = start_server_with(
            |reader, writer| async move {
                let line = reader.readline().await?;
                writer.write(&line.to_ascii_uppercase())?;
                writer.close();
                writer.wait_closed().await
            },
            "127.0.0.1:0",
            config,
        )
        .await?;
        let addr = server.sockets()[0].as_inet().unwrap();

        // A small descriptor table, then fill it, leaving one free.
        let lim = libc::rlimit { rlim_cur: open_fds() + 32, rlim_max: libc::RLIM_INFINITY };
        let mut hard = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit read and write one rlimit we own.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard), 0);
            let lim = libc::rlimit { rlim_max: hard.rlim_max, ..lim };
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
        let mut hogs = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => hogs.push(f),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE));
                    break;
                }
            }
        }
        hogs.pop(); // one free descriptor: the client's socket takes it
        let (reader, writer) = open_connection(&addr).await?;
        writer.write(b"hello\n")?;

        // The accept fails with EMFILE: reported once.
        common::until(|| !seen.lock().unwrap().is_empty()).await?;
        {
            let reports = seen.lock().unwrap();
            assert!(reports[0].0.contains("socket.accept() out of system resource"), "{reports:?}");
            assert_eq!(reports[0].1, Some(libc::EMFILE), "{reports:?}");
        }
        // Still out of descriptors for several backoffs: no spinning, no
        // second report.
        let (cpu, wall) = (cpu_time(), Instant::now());
        ravel::sleep(BACKOFF * 5).await?;
        let (cpu, wall) = (cpu_time() - cpu, wall.elapsed());
        assert!(cpu < wall / 4, "accept spun: {cpu:?} of CPU in {wall:?}");
        assert_eq!(seen.lock().unwrap().len(), 1, "{:?}", seen.lock().unwrap());

        // Descriptors free again: the pending connection is accepted after
        // the backoff, and served.
        drop(hogs);
        let freed = Instant::now();
        let reply = ravel::timeout(Duration::from_secs(5), reader.readline()).await?;
        assert_eq!(reply, b"HELLO\n");
        assert!(freed.elapsed() < Duration::from_secs(2));
        // And new connections are accepted as usual.
        let (r2, w2) = open_connection(&addr).await?;
        w2.write(b"again\n")?;
        assert_eq!(ravel::timeout(Duration::from_secs(5), r2.readline()).await?, b"AGAIN\n");
        assert_eq!(seen.lock().unwrap().len(), 1);
        server.close();
        ravel::timeout(Duration::from_secs(5), server.wait_closed()).await?;
        eprintln!("emfile child ok");
        Ok(())
    });
}
