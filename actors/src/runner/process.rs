//! Starting melt so that it can never outlive its worker, and stopping it whole.
//!
//! melt runs in its own process group (so a kill reaches anything it spawned) and asks the kernel to kill it when
//! the worker process dies (`PR_SET_PDEATHSIG`), so a worker killed with `kill -9` leaves no melt rendering unowned.
//! A job's melt or ffmpeg also restricts itself with a Landlock ruleset before it runs ([`restrict_with`], made
//! by `sandbox`). This file holds the crate's only unsafe code: the libc calls that do these.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
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

/// Has `command`'s child restrict itself with the Landlock ruleset `ruleset` (and `no_new_privs`, which Landlock
/// needs) before it runs; the child fails to start if the kernel refuses.
pub fn restrict_with(command: &mut Command, ruleset: OwnedFd) {
    // SAFETY: runs in the child between fork and exec; prctl and syscall are async-signal-safe, nothing is
    // allocated, and the descriptor, owned by the closure, is open until exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32) != 0 {
                return Err(io::Error::last_os_error());
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

/// Whether every process of the group `pgid` is down to its main thread (Linux's `/proc/PID/stat`); `false` when
/// the group has no process or `/proc` cannot be read.
///
/// MLT's avformat consumer starts its render thread before it marks itself running. When that thread renders a
/// short project and ends in the gap, melt's main thread waits for a consumer that never stops: the render is
/// done, every other thread is gone, and melt sleeps for ever. A melt still rendering has its render thread, and a
/// wrapper script waiting for melt is not alone in the group.
pub fn group_down_to_main_threads(pgid: u32) -> bool {
    let threads: Vec<u32> = group_stats(pgid).iter().filter_map(|stat| Some(group_and_threads(stat)?.1)).collect();
    !threads.is_empty() && threads.iter().all(|&n| n == 1)
}

/// The `/proc/PID/stat` lines of the processes in group `pgid` (none when `/proc` cannot be read).
fn group_stats(pgid: u32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| group_and_threads(stat).is_some_and(|(group, _)| group == pgid))
        .collect()
}

/// The CPU time (user and system, in clock ticks) that the processes of group `pgid` have used so far. A melt that
/// prints nothing but still uses CPU is working (an encoder flushing its look-ahead on a busy machine); a stopped
/// or deadlocked one uses none.
pub fn group_cpu_ticks(pgid: u32) -> u64 {
    group_stats(pgid).iter().filter_map(|stat| Some(group_and_cpu(stat)?.1)).sum()
}

/// The process group and CPU ticks (utime + stime, fields 14 and 15) of a `/proc/PID/stat` line.
fn group_and_cpu(stat: &str) -> Option<(u32, u64)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((fields.get(2)?.parse().ok()?, utime + stime))
}

/// The process group and thread count of a `/proc/PID/stat` line (fields 5 and 20; the name, field 2, is in
/// parentheses and may hold spaces or parentheses itself).
fn group_and_threads(stat: &str) -> Option<(u32, u32)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state (3), ppid (4), pgrp (5), ... num_threads (20).
    Some((fields.get(2)?.parse().ok()?, fields.get(17)?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_ticks_are_user_plus_system_time() {
        let stat = "4242 (melt (x) y) S 1 4242 4242 0 -1 4194304 3 0 0 0 17 5 0 0 20 0 7 0 99 1 2 3";
        assert_eq!(group_and_cpu(stat), Some((4242, 22)));
        assert_eq!(group_cpu_ticks(u32::MAX), 0, "no process is in that group");
    }

    #[test]
    fn the_group_and_thread_count_are_read_past_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (melt (x) y) S 1 4242 4242 0 -1 4194304 3 0 0 0 1 0 0 0 20 0 7 0 99 1 2 3";
        assert_eq!(group_and_threads(stat), Some((4242, 7)));
        assert_eq!(group_and_threads("4242 (melt) S 1"), None);
    }

    #[test]
    fn a_lone_sleeping_process_is_down_to_its_main_thread_and_an_absent_group_is_not() {
        let mut command = std::process::Command::new("sleep");
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.arg("30").spawn().unwrap();
        let pid = child.id();
        assert!(group_down_to_main_threads(pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!group_down_to_main_threads(pid));
    }
}
