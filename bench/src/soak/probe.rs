//! What the soak measures about its own process: open file descriptors
//! (`/proc/self/fd`), the fd limit (`RLIMIT_NOFILE`, lowered for the EMFILE
//! episodes), and whether every worker thread still runs tasks.

use std::collections::HashSet;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Open file descriptors of this process (the listing's own fd excluded).
pub fn open_fds() -> io::Result<usize> {
    let listed = std::fs::read_dir("/proc/self/fd")?.count();
    Ok(listed.saturating_sub(1))
}

/// The lowest fd number not in use: what the next `open`/`socket`/`accept`
/// would get. Every number below it is held by a long-lived fd when this is
/// read with no connection open.
pub fn lowest_free_fd() -> io::Result<u64> {
    let probe = std::fs::File::open("/dev/null")?;
    Ok(probe.as_raw_fd() as u64)
}

/// Sets the soft `RLIMIT_NOFILE` and returns the previous soft limit. With
/// the limit at [`lowest_free_fd`], every new fd fails with `EMFILE` (fd
/// numbers must be below the limit) while the fds already open stay usable.
pub fn set_nofile_soft(soft: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the valid, owned `limit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let old = limit.rlim_cur;
    limit.rlim_cur = soft.min(limit.rlim_max) as libc::rlim_t;
    // SAFETY: setrlimit reads one valid rlimit; lowering the soft limit
    // below the hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(old)
}

/// How many distinct worker threads ran one of `workers` tasks at the same
/// time. The tasks are spawned from this (non-worker) thread, so they go to
/// the shared queue, and each blocks its worker until all `workers` have
/// started (or `bound` passes): only `workers` live workers can run them
/// together. A lost worker shows as a count below `workers`.
///
/// Call from a thread that is not a worker (the soak calls it through
/// `ravel::to_thread`).
pub fn live_workers(handle: &ravel::Handle, workers: usize, bound: Duration) -> usize {
    // (started, a task gave up waiting): a task that starts after another
    // gave up did not run together with it.
    let state = Arc::new((Mutex::new((0usize, false)), Condvar::new()));
    let (tx, rx) = mpsc::channel();
    for _ in 0..workers {
        let state = state.clone();
        let tx = tx.clone();
        let deadline = Instant::now() + bound;
        drop(handle.spawn(async move {
            let (lock, all_in) = &*state;
            let mut st = lock.lock().unwrap();
            st.0 += 1;
            all_in.notify_all();
            while st.0 < workers && !st.1 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    st.1 = true;
                    break;
                }
                st = all_in.wait_timeout(st, left).unwrap().0;
            }
            let together = st.0 >= workers && !st.1;
            drop(st);
            let _ = tx.send((std::thread::current().id(), together));
            Ok(())
        }));
    }
    drop(tx);
    let mut threads = HashSet::new();
    let deadline = Instant::now() + bound * 2;
    for _ in 0..workers {
        if let Ok((thread, true)) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            threads.insert(thread);
        }
    }
    threads.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the fd numbers must not race with another test's fds.
    #[test]
    fn fds_and_workers() {
        let free = lowest_free_fd().unwrap();
        let f = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(f.as_raw_fd() as u64, free, "the next open takes the lowest free fd");
        let before = open_fds().unwrap();
        drop(f);
        assert_eq!(open_fds().unwrap(), before - 1);

        let rt = ravel::Runtime::builder().worker_threads(3).build().unwrap();
        assert_eq!(live_workers(rt.handle(), 3, Duration::from_secs(10)), 3);
        // More tasks than workers cannot all run together.
        assert_eq!(live_workers(rt.handle(), 4, Duration::from_millis(300)), 0);
    }
}
