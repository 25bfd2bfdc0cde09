//! Starting melt so that it can never outlive its worker, and stopping it whole.
//!
//! melt runs in its own process group (so a kill reaches anything it spawned) and asks the kernel to kill it when
//! the worker process dies (`PR_SET_PDEATHSIG`), so a worker killed with `kill -9` leaves no melt rendering unowned.
//! This file holds the crate's only unsafe code: the two libc calls that do that.
#![allow(unsafe_code)]

use std::io;
use tokio::process::Command;

/// Makes `command`'s child the leader of a new process group that dies with the calling process.
pub fn tie_to_parent(command: &mut Command) {
    command.process_group(0);
    // SAFETY: runs in the child between fork and exec; prctl and getppid are async-signal-safe, and nothing is
    // allocated. If the parent died before prctl took effect, the child is re-parented and exits at once.
    unsafe {
        let parent = libc::getpid();
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Kills the whole process group led by `pid`.
pub fn kill_group(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 1 {
        return;
    }
    // SAFETY: a plain syscall on a process group we created; an already-gone group gives ESRCH, which is fine.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}
