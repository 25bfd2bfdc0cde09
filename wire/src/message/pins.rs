//! The encoded bytes of every protocol message, pinned, so that a protocol change is always deliberate.
//!
//! Each row of [`PINS`] is one message (every variant of every message enum, and every type carried inside them)
//! with the exact bytes [`crate::frame::encode`] makes of it, in hex. A change to a message's shape, a field's type
//! or the order of variants changes those bytes, and the test below fails listing every row that moved.
//!
//! **When these bytes change, bump [`PROTOCOL_VERSION`]** in `message.rs` (and [`PINNED_AT`] below to match), so
//! that nodes of the old and the new shape refuse each other at the handshake with a message naming both versions
//! instead of misreading each other. Then paste the literals the failing test printed into the rows it named. Adding a
//! variant at the end of an enum leaves the old rows alone but still changes the protocol: add its row and bump.

use super::*;
use crate::audit::{AuditAction, AuditEntry, AuditOutcome, Route};
use crate::frame;
use crate::identity::Role;
use crate::job::{
    Attempt, AttemptOutcome, Encoding, FfmpegJob, JobId, JobKind, JobRecord, JobSpec, JobState, Like, MeltJob, MeltLog,
    Progress, RenderFacts, SplitRequest, SplitState, StreamDetails, Task, TaskInput, TaskKind, TaskView,
};
use crate::thumbnail::Thumbnail;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

/// The protocol version these pins describe: bumping [`PROTOCOL_VERSION`] without looking at the pins fails here.
const PINNED_AT: u32 = 8;

/// One pinned message: a name for the failure report, the value, and its encoding in lowercase hex.
type Pin = (&'static str, fn(&mut Checker), &'static str);

/// Collects every mismatch so that one run reports all rows that moved, each with its new hex.
#[derive(Default)]
struct Checker {
    /// The hex of the row being checked.
    expected: &'static str,
    /// The row's name, for the report.
    name: &'static str,
    /// One report line per row whose bytes moved or that does not decode back to its value.
    failures: Vec<String>,
}

impl Checker {
    /// Encodes `value`, compares with the row's hex, and decodes the hex back to `value`.
    fn value<T: Serialize + DeserializeOwned + PartialEq + Debug>(&mut self, value: T) {
        let actual = match frame::encode(&value) {
            Ok(bytes) => hex(&bytes),
            Err(e) => return self.failures.push(format!("{}: does not encode: {e}", self.name)),
        };
        if actual != self.expected {
            self.failures.push(format!("{} is now\n        {}", self.name, literal(&actual)));
            return;
        }
        match unhex(self.expected).map(|bytes| frame::decode::<T>(&bytes)) {
            Some(Ok(back)) if back == value => {}
            Some(Ok(back)) => self.failures.push(format!("{}: decodes to {back:?}, not {value:?}", self.name)),
            Some(Err(e)) => self.failures.push(format!("{}: pinned bytes do not decode: {e}", self.name)),
            None => self.failures.push(format!("{}: pinned text is not hex", self.name)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hex` as the Rust string literal of a row: wrapped every 96 digits with `\` continuations, ready to paste.
fn literal(hex: &str) -> String {
    let pieces: Vec<&str> = hex.as_bytes().chunks(96).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("\"{}\",", pieces.join("\\\n         "))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn facts() -> RenderFacts {
    RenderFacts {
        frames: 250,
        duration_seconds: 10.0,
        video_codec: "h264".into(),
        audio_codec: Some("aac".into()),
        size_bytes: 70_000,
        dropped_filters: vec!["frei0r.alpha0ps_alphaspot".into()],
        streams: StreamDetails {
            width: Some(1920),
            height: Some(1080),
            pix_fmt: Some("yuv420p".into()),
            frame_rate: Some("25/1".into()),
            sample_rate: Some(48000),
            channels: Some(2),
        },
    }
}

fn path_rules() -> Vec<crate::path_map::PathRule> {
    vec![crate::path_map::PathRule { from: "D:\\P".into(), to: "/p".into() }]
}

fn spec() -> JobSpec {
    JobSpec {
        project: "/p.mlt".into(),
        output: "/o.mp4".into(),
        encoding: Encoding { vcodec: "libx264".into(), acodec: "aac".into(), extra: vec![("crf".into(), "20".into())] },
        priority: -1,
        melt_log: MeltLog::Verbose,
        services: vec!["color".into()],
        optional_filters: vec!["frei0r.alpha0ps_alphaspot".into()],
        split: Some(Box::new(split_request())),
        task: Some(Box::new(Task {
            parent: JobId(4),
            kind: TaskKind::Join,
            first: 0,
            last: 499,
            fps_num: 30000,
            fps_den: 1001,
            inputs: vec![TaskInput { path: "/.o.mp4.job4.chunk0.mp4".into(), frames: 250 }],
        })),
        overwrite: true,
        like: Some(Box::new(like())),
        kind: JobKind::Render,
        preset: Some("h264-mp4".into()),
    }
}

fn ffmpeg_spec() -> JobSpec {
    let job = FfmpegJob { inputs: vec!["/m/a.mov".into()], args: vec!["-c:v".into(), "libx264".into()] };
    JobSpec {
        kind: JobKind::Ffmpeg(Box::new(job)),
        preset: Some("proxy-540p".into()),
        ..JobSpec::new("/m/a.mov", "/o.mp4")
    }
}

fn fingerprint() -> Fingerprint {
    Fingerprint { melt: "7.12.0".into(), ffmpeg: "5.1".into(), frei0r: "1.8".into(), fonts: "00ff".into() }
}

fn like() -> Like {
    Like { worker: "w2".into(), fingerprint: fingerprint() }
}

fn split_request() -> SplitRequest {
    SplitRequest { chunks: Some(4), force: true, frames: 500, fps_num: 30000, fps_den: 1001 }
}

fn attempt() -> Attempt {
    Attempt {
        number: 1,
        worker: "w1".into(),
        offered_at: 1_700_000_000_000,
        started_at: Some(1_700_000_000_001),
        ended_at: None,
        committed_at: Some(1_700_000_000_002),
        outcome: Some(AttemptOutcome::Succeeded),
        blames_worker: false,
    }
}

fn progress() -> Progress {
    Progress { frame: 125, percent: 50.0, fps: 25.0, eta_seconds: Some(5.0) }
}

fn record() -> JobRecord {
    JobRecord {
        id: JobId(7),
        state: JobState::Succeeded,
        project: "/p.mlt".into(),
        output: "/o.mp4".into(),
        encoding: Encoding::default(),
        priority: 0,
        melt_log: MeltLog::Normal,
        services: vec!["color".into()],
        optional_filters: Vec::new(),
        overwrite: false,
        submitted_by: "alice".into(),
        submitted_at: 1_700_000_000_000,
        finished_at: Some(1_700_000_010_000),
        worker: Some("w1".into()),
        attempts: vec![attempt()],
        error: None,
        facts: Some(facts()),
        revision: 4,
        retried_at: 0,
        split: Some(SplitState { request: split_request(), refused: None }),
        task: None,
        tasks: vec![TaskView {
            job: JobId(8),
            kind: TaskKind::Chunk,
            first: 0,
            last: 249,
            state: JobState::Succeeded,
            worker: Some("w2".into()),
            attempts: 1,
            frames_done: 250,
        }],
        progress: Some(progress()),
        waiting: Some("every worker is busy (1 of 1)".into()),
        like: Some(like()),
        kind: JobKind::Render,
        preset: None,
    }
}

fn house_preset() -> crate::preset::PresetView {
    crate::preset::PresetView {
        name: "house".into(),
        family: "ProRes".into(),
        description: "d".into(),
        extension: "mov".into(),
        vcodec: "prores_ks".into(),
        acodec: "pcm_s16le".into(),
        properties: vec![("vprofile".into(), "3".into())],
    }
}

fn audit_entry() -> AuditEntry {
    AuditEntry {
        time: 1_700_000_000_000,
        user: "bob".into(),
        route: Route::Cli,
        action: AuditAction::Cancel,
        target: "job 7".into(),
        outcome: AuditOutcome::Done,
    }
}

fn audit_refused() -> AuditEntry {
    AuditEntry {
        route: Route::Token,
        action: AuditAction::Drain,
        outcome: AuditOutcome::Refused("no".into()),
        ..audit_entry()
    }
}

fn view() -> WorkerView {
    WorkerView {
        name: "w1".into(),
        state: "reserved".into(),
        current_job: Some(JobId(7)),
        melt_version: "7.22.0".into(),
        services: 1,
        service_names: vec!["color".into()],
        video_encoders: vec!["libx264".into()],
        audio_encoders: vec!["aac".into()],
        cpus: 4,
        last_seen: 1_700_000_000_000,
        recent_failures: 2,
        suspect: false,
        reserved_by: Some("bob".into()),
        reserved_until: Some(1_700_000_600_000),
        draining: true,
        fingerprint: fingerprint(),
    }
}

fn registration() -> Registration {
    Registration {
        melt_version: "7.22.0".into(),
        services: vec!["color".into()],
        video_encoders: vec!["libx264".into()],
        audio_encoders: vec!["aac".into()],
        cpus: 4,
        current: Some((JobId(7), 2)),
        instance: 0x0123_4567_89ab_cdef,
        fingerprint: fingerprint(),
    }
}

/// Every message and every type inside one, with its bytes. Rows name the value they encode.
const PINS: &[Pin] = &[
    // The handshake.
    (
        "Hello",
        |c| c.value(Hello { protocol: PINNED_AT, role: Role::Worker, software: "0.1.0".into() }),
        "080105302e312e30",
    ),
    (
        "HelloReply::Welcome",
        |c| c.value(HelloReply::Welcome { protocol: PINNED_AT, software: "0.1.0".into(), time_ms: 1_796_000_000_000 }),
        "000805302e312e30fd000001a229f12800",
    ),
    ("HelloReply::Refused", |c| c.value(HelloReply::Refused("no".into())), "01026e6f"),
    ("Role::Coordinator", |c| c.value(Role::Coordinator), "00"),
    ("Role::Worker", |c| c.value(Role::Worker), "01"),
    ("Role::Client", |c| c.value(Role::Client), "02"),
    // Client → coordinator.
    (
        "ClientRequest::Submit",
        |c| c.value(ClientRequest::Submit(spec())),
        "00062f702e6d6c74062f6f2e6d7034076c69627832363403616163010363726602323001010105636f6c6f7201196672\
         656930722e616c7068613070735f616c70686173706f7401010401fb01f4fb7530fb03e901040200fb01f3fb7530fb03\
         e901172f2e6f2e6d70342e6a6f62342e6368756e6b302e6d7034fa010102773206372e31322e3003352e3103312e3804\
         30306666000108683236342d6d7034",
    ),
    ("ClientRequest::Status", |c| c.value(ClientRequest::Status(JobId(7))), "0107"),
    ("ClientRequest::List", |c| c.value(ClientRequest::List), "02"),
    ("ClientRequest::Logs", |c| c.value(ClientRequest::Logs { id: JobId(7), follow: true }), "030701"),
    ("ClientRequest::Watch", |c| c.value(ClientRequest::Watch(JobId(7))), "0407"),
    ("ClientRequest::Cancel", |c| c.value(ClientRequest::Cancel(JobId(7))), "0507"),
    ("ClientRequest::Retry", |c| c.value(ClientRequest::Retry(JobId(7))), "0607"),
    ("ClientRequest::WorkerList", |c| c.value(ClientRequest::WorkerList), "07"),
    (
        "ClientRequest::Reserve",
        |c| {
            c.value(ClientRequest::Reserve {
                worker: "w1".into(),
                person: "bob".into(),
                until: Some(1_700_000_600_000),
                now: true,
            })
        },
        "0802773103626f6201fd0000018bcfee8fc001",
    ),
    ("ClientRequest::Release", |c| c.value(ClientRequest::Release { worker: "w1".into() }), "09027731"),
    ("ClientRequest::Drain", |c| c.value(ClientRequest::Drain { worker: "w1".into() }), "0a027731"),
    ("ClientRequest::Priority", |c| c.value(ClientRequest::Priority { id: JobId(7), priority: -2 }), "0b0703"),
    ("ClientRequest::Delete", |c| c.value(ClientRequest::Delete(vec![JobId(7), JobId(8)])), "0c020708"),
    ("ClientRequest::Prune", |c| c.value(ClientRequest::Prune { before: 1_700_000_600_000 }), "0dfd0000018bcfee8fc0"),
    (
        "ClientRequest::Audit",
        |c| c.value(ClientRequest::Audit { user: Some("bob".into()), limit: 100 }),
        "0e0103626f6264",
    ),
    ("ClientRequest::Forget", |c| c.value(ClientRequest::Forget { worker: "w1".into() }), "0f027731"),
    ("ClientRequest::Presets", |c| c.value(ClientRequest::Presets), "10"),
    ("ClientRequest::Backup", |c| c.value(ClientRequest::Backup { to: "/b".into() }), "11022f62"),
    // Coordinator → client.
    (
        "ClientReply::Job",
        |c| c.value(ClientReply::Job(record())),
        "000703062f702e6d6c74062f6f2e6d7034076c696278323634036161630000000105636f6c6f72000005616c696365fd\
         0000018bcfe5680001fd0000018bcfe58f10010277310101027731fd0000018bcfe5680001fd0000018bcfe568010001\
         fd0000018bcfe568020100000001fa402400000000000004683236340103616163fc0001117001196672656930722e61\
         6c7068613070735f616c70686173706f7401fb078001fb0438010779757634323070010432352f3101fbbb8001020400\
         017d40490000000000004039000000000000014014000000000000011d657665727920776f726b657220697320627573\
         79202831206f662031290102773206372e31322e3003352e3103312e38043030666601010401fb01f4fb7530fb03e900\
         0001080000f9030102773201fa0000",
    ),
    (
        "ClientReply::Jobs",
        |c| c.value(ClientReply::Jobs(vec![record()])),
        "01010703062f702e6d6c74062f6f2e6d7034076c696278323634036161630000000105636f6c6f72000005616c696365\
         fd0000018bcfe5680001fd0000018bcfe58f10010277310101027731fd0000018bcfe5680001fd0000018bcfe5680100\
         01fd0000018bcfe568020100000001fa402400000000000004683236340103616163fc0001117001196672656930722e\
         616c7068613070735f616c70686173706f7401fb078001fb0438010779757634323070010432352f3101fbbb80010204\
         00017d40490000000000004039000000000000014014000000000000011d657665727920776f726b6572206973206275\
         7379202831206f662031290102773206372e31322e3003352e3103312e38043030666601010401fb01f4fb7530fb03e9\
         000001080000f9030102773201fa0000",
    ),
    ("ClientReply::JobsEnd", |c| c.value(ClientReply::JobsEnd), "02"),
    (
        "ClientReply::JobUpdate",
        |c| c.value(ClientReply::JobUpdate(record())),
        "030703062f702e6d6c74062f6f2e6d7034076c696278323634036161630000000105636f6c6f72000005616c696365fd\
         0000018bcfe5680001fd0000018bcfe58f10010277310101027731fd0000018bcfe5680001fd0000018bcfe568010001\
         fd0000018bcfe568020100000001fa402400000000000004683236340103616163fc0001117001196672656930722e61\
         6c7068613070735f616c70686173706f7401fb078001fb0438010779757634323070010432352f3101fbbb8001020400\
         017d40490000000000004039000000000000014014000000000000011d657665727920776f726b657220697320627573\
         79202831206f662031290102773206372e31322e3003352e3103312e38043030666601010401fb01f4fb7530fb03e900\
         0001080000f9030102773201fa0000",
    ),
    ("ClientReply::Log", |c| c.value(ClientReply::Log("line\n".into())), "04056c696e650a"),
    ("ClientReply::LogEnd", |c| c.value(ClientReply::LogEnd), "05"),
    (
        "ClientReply::Workers",
        |c| c.value(ClientReply::Workers(vec![view()])),
        "0601027731087265736572766564010706372e32322e30010105636f6c6f7201076c696278323634010361616304fd00\
         00018bcfe5680002000103626f6201fd0000018bcfee8fc00106372e31322e3003352e3103312e380430306666",
    ),
    ("ClientReply::Error", |c| c.value(ClientReply::Error("no such job 7".into())), "070d6e6f2073756368206a6f622037"),
    ("ClientReply::Deleted", |c| c.value(ClientReply::Deleted(vec![JobId(7)])), "080107"),
    (
        "ClientReply::Audit",
        |c| c.value(ClientReply::Audit(vec![audit_entry(), audit_refused()])),
        "0902fd0000018bcfe5680003626f620001056a6f62203700fd0000018bcfe5680003626f620208056a6f62203701026e\
         6f",
    ),
    (
        "ClientReply::Presets",
        |c| c.value(ClientReply::Presets(vec![house_preset()])),
        "0a0105686f7573650650726f5265730164036d6f760970726f7265735f6b730970636d5f7331366c6501087670726f66\
         696c650133",
    ),
    ("ClientReply::BackedUp", |c| c.value(ClientReply::BackedUp("1 jobs".into())), "0b0631206a6f6273"),
    // Worker → coordinator.
    (
        "WorkerToCoordinator::Register",
        |c| c.value(WorkerToCoordinator::Register(registration())),
        "0006372e32322e300105636f6c6f7201076c696278323634010361616304010702fd0123456789abcdef06372e31322e\
         3003352e3103312e380430306666",
    ),
    (
        "WorkerToCoordinator::Accepted",
        |c| c.value(WorkerToCoordinator::Accepted { job: JobId(7), attempt: 2 }),
        "010702",
    ),
    (
        "WorkerToCoordinator::Rejected",
        |c| {
            c.value(WorkerToCoordinator::Rejected {
                job: JobId(7),
                attempt: 2,
                cause: RejectionCause::Worker,
                reason: "no melt".into(),
            })
        },
        "02070201076e6f206d656c74",
    ),
    (
        "WorkerToCoordinator::Progress",
        |c| c.value(WorkerToCoordinator::Progress { job: JobId(7), attempt: 2, progress: progress() }),
        "0307027d40490000000000004039000000000000014014000000000000",
    ),
    (
        "WorkerToCoordinator::Log",
        |c| c.value(WorkerToCoordinator::Log { job: JobId(7), attempt: 2, seq: 300, text: "line\n".into() }),
        "040702fb012c056c696e650a",
    ),
    (
        "WorkerToCoordinator::Verified",
        |c| c.value(WorkerToCoordinator::Verified { job: JobId(7), attempt: 2, facts: facts() }),
        "050702fa402400000000000004683236340103616163fc0001117001196672656930722e616c7068613070735f616c70\
         686173706f7401fb078001fb0438010779757634323070010432352f3101fbbb800102",
    ),
    (
        "WorkerToCoordinator::Finished",
        |c| {
            let outcome = Outcome::Succeeded(facts());
            c.value(WorkerToCoordinator::Finished { job: JobId(7), attempt: 2, outcome })
        },
        "06070200fa402400000000000004683236340103616163fc0001117001196672656930722e616c7068613070735f616c\
         70686173706f7401fb078001fb0438010779757634323070010432352f3101fbbb800102",
    ),
    (
        "WorkerToCoordinator::Poster",
        |c| {
            let thumbnail = Thumbnail::new(vec![0xff, 0xd8, 0xff, 0xd9]).unwrap();
            c.value(WorkerToCoordinator::Poster { job: JobId(7), attempt: 2, thumbnail })
        },
        "09070204ffd8ffd9",
    ),
    ("WorkerToCoordinator::Heartbeat", |c| c.value(WorkerToCoordinator::Heartbeat), "07"),
    ("WorkerToCoordinator::Leaving", |c| c.value(WorkerToCoordinator::Leaving), "08"),
    ("RejectionCause::Project", |c| c.value(RejectionCause::Project), "00"),
    ("RejectionCause::Worker", |c| c.value(RejectionCause::Worker), "01"),
    (
        "Outcome::Succeeded",
        |c| c.value(Outcome::Succeeded(facts())),
        "00fa402400000000000004683236340103616163fc0001117001196672656930722e616c7068613070735f616c706861\
         73706f7401fb078001fb0438010779757634323070010432352f3101fbbb800102",
    ),
    (
        "Outcome::Failed",
        |c| c.value(Outcome::Failed { reason: "melt exited 1".into(), log_tail: "error\n".into() }),
        "010d6d656c74206578697465642031066572726f720a",
    ),
    ("Outcome::Cancelled", |c| c.value(Outcome::Cancelled), "02"),
    // Coordinator → worker.
    ("CoordinatorToWorker::Registered", |c| c.value(CoordinatorToWorker::Registered), "00"),
    ("CoordinatorToWorker::Refused", |c| c.value(CoordinatorToWorker::Refused("no".into())), "01026e6f"),
    (
        "CoordinatorToWorker::Offer",
        |c| {
            c.value(CoordinatorToWorker::Offer(Box::new(MeltJob {
                id: JobId(7),
                attempt: 2,
                spec: spec(),
                path_map: path_rules(),
            })))
        },
        "020702062f702e6d6c74062f6f2e6d7034076c69627832363403616163010363726602323001010105636f6c6f720119\
         6672656930722e616c7068613070735f616c70686173706f7401010401fb01f4fb7530fb03e901040200fb01f3fb7530\
         fb03e901172f2e6f2e6d70342e6a6f62342e6368756e6b302e6d7034fa010102773206372e31322e3003352e3103312e\
         380430306666000108683236342d6d70340104443a5c50022f70",
    ),
    ("CoordinatorToWorker::Cancel", |c| c.value(CoordinatorToWorker::Cancel { job: JobId(7), attempt: 2 }), "030702"),
    (
        "CoordinatorToWorker::LogAck",
        |c| c.value(CoordinatorToWorker::LogAck { job: JobId(7), attempt: 2, seq: 300 }),
        "040702fb012c",
    ),
    (
        "CoordinatorToWorker::Commit",
        |c| c.value(CoordinatorToWorker::Commit { job: JobId(7), attempt: 2, go: true }),
        "05070201",
    ),
    (
        "CoordinatorToWorker::FinishedAck",
        |c| c.value(CoordinatorToWorker::FinishedAck { job: JobId(7), attempt: 2, accepted: false }),
        "06070200",
    ),
    ("CoordinatorToWorker::Heartbeat", |c| c.value(CoordinatorToWorker::Heartbeat), "07"),
    ("CoordinatorToWorker::NameTaken", |c| c.value(CoordinatorToWorker::NameTaken("w1".into())), "08027731"),
    // The job types inside messages.
    ("JobId", |c| c.value(JobId(300)), "fb012c"),
    ("JobState::Queued", |c| c.value(JobState::Queued), "00"),
    ("JobState::Offered", |c| c.value(JobState::Offered), "01"),
    ("JobState::Running", |c| c.value(JobState::Running), "02"),
    ("JobState::Succeeded", |c| c.value(JobState::Succeeded), "03"),
    ("JobState::Failed", |c| c.value(JobState::Failed), "04"),
    ("JobState::Cancelled", |c| c.value(JobState::Cancelled), "05"),
    ("MeltLog::Normal", |c| c.value(MeltLog::Normal), "00"),
    ("MeltLog::Verbose", |c| c.value(MeltLog::Verbose), "01"),
    ("MeltLog::Debug", |c| c.value(MeltLog::Debug), "02"),
    ("Encoding", |c| c.value(Encoding::default()), "076c6962783236340361616300"),
    (
        "JobSpec",
        |c| c.value(spec()),
        "062f702e6d6c74062f6f2e6d7034076c69627832363403616163010363726602323001010105636f6c6f720119667265\
         6930722e616c7068613070735f616c70686173706f7401010401fb01f4fb7530fb03e901040200fb01f3fb7530fb03e9\
         01172f2e6f2e6d70342e6a6f62342e6368756e6b302e6d7034fa010102773206372e31322e3003352e3103312e380430\
         306666000108683236342d6d7034",
    ),
    (
        "JobSpec (ffmpeg)",
        |c| c.value(ffmpeg_spec()),
        "082f6d2f612e6d6f76062f6f2e6d7034076c696278323634036161630000000000000000000101082f6d2f612e6d6f76\
         02042d633a76076c696278323634010a70726f78792d35343070",
    ),
    (
        "MeltJob",
        |c| c.value(MeltJob { id: JobId(7), attempt: 2, spec: spec(), path_map: path_rules() }),
        "0702062f702e6d6c74062f6f2e6d7034076c69627832363403616163010363726602323001010105636f6c6f72011966\
         72656930722e616c7068613070735f616c70686173706f7401010401fb01f4fb7530fb03e901040200fb01f3fb7530fb\
         03e901172f2e6f2e6d70342e6a6f62342e6368756e6b302e6d7034fa010102773206372e31322e3003352e3103312e38\
         0430306666000108683236342d6d70340104443a5c50022f70",
    ),
    ("Attempt", |c| c.value(attempt()), "01027731fd0000018bcfe5680001fd0000018bcfe568010001fd0000018bcfe56802010000"),
    (
        "RenderFacts",
        |c| c.value(facts()),
        "fa402400000000000004683236340103616163fc0001117001196672656930722e616c7068613070735f616c70686173\
         706f7401fb078001fb0438010779757634323070010432352f3101fbbb800102",
    ),
    ("Progress", |c| c.value(progress()), "7d40490000000000004039000000000000014014000000000000"),
    (
        "JobRecord",
        |c| c.value(record()),
        "0703062f702e6d6c74062f6f2e6d7034076c696278323634036161630000000105636f6c6f72000005616c696365fd00\
         00018bcfe5680001fd0000018bcfe58f10010277310101027731fd0000018bcfe5680001fd0000018bcfe568010001fd\
         0000018bcfe568020100000001fa402400000000000004683236340103616163fc0001117001196672656930722e616c\
         7068613070735f616c70686173706f7401fb078001fb0438010779757634323070010432352f3101fbbb800102040001\
         7d40490000000000004039000000000000014014000000000000011d657665727920776f726b65722069732062757379\
         202831206f662031290102773206372e31322e3003352e3103312e38043030666601010401fb01f4fb7530fb03e90000\
         01080000f9030102773201fa0000",
    ),
    (
        "WorkerView",
        |c| c.value(view()),
        "027731087265736572766564010706372e32322e30010105636f6c6f7201076c696278323634010361616304fd000001\
         8bcfe5680002000103626f6201fd0000018bcfee8fc00106372e31322e3003352e3103312e380430306666",
    ),
    (
        "Registration",
        |c| c.value(registration()),
        "06372e32322e300105636f6c6f7201076c696278323634010361616304010702fd0123456789abcdef06372e31322e30\
         03352e3103312e380430306666",
    ),
];

#[test]
fn every_message_encodes_to_its_pinned_bytes() {
    let mut checker = Checker::default();
    for (name, check, expected) in PINS {
        checker.name = name;
        checker.expected = expected;
        check(&mut checker);
    }
    assert!(
        checker.failures.is_empty(),
        "{} pinned message(s) changed. A changed encoding is a protocol change: bump PROTOCOL_VERSION (and PINNED_AT \
         in wire/src/message/pins.rs), then paste each new literal into its row.\n{}",
        checker.failures.len(),
        checker.failures.join("\n")
    );
}

#[test]
fn the_pins_describe_the_current_protocol_version() {
    assert_eq!(
        PROTOCOL_VERSION, PINNED_AT,
        "PROTOCOL_VERSION moved: check that the pinned bytes describe the new version, then set PINNED_AT to it"
    );
}
