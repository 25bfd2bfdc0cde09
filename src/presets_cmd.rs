//! `distencode presets`: the built-in export presets and the coordinator's house presets, and whether this farm's
//! workers can render each (asked of the coordinator when it is reachable; without one, each preset's workers are
//! unknown and only the built-in presets are listed). The ffmpeg jobs' presets (proxies) follow them.

use crate::cli::Connect;
use crate::client::{Client, Endpoint};
use anyhow::{bail, Result};
use distencode_actors::ffmpeg_presets::{FfmpegPreset, FFMPEG_PRESETS};
use distencode_actors::presets::{Preset, PRESETS};
use distencode_wire::message::{ClientReply, ClientRequest, PresetView, WorkerView};
use serde_json::{json, Value};
use std::time::Duration;

/// How long the listing waits for the coordinator before it says the workers are unknown.
const ASK_FOR: Duration = Duration::from_secs(5);

pub async fn run(json: bool, connect: Connect) -> Result<()> {
    let asked = ask(&connect).await;
    let (workers, house) = match asked {
        Some((workers, house)) => (Some(workers), house),
        None => (None, Vec::new()),
    };
    let built_in = PRESETS.iter().map(Preset::view);
    let all: Vec<(PresetView, bool)> =
        built_in.map(|p| (p, false)).chain(house.into_iter().map(|p| (p, true))).collect();
    if json {
        let mut list: Vec<Value> = all.iter().map(|(p, house)| preset_json(p, *house, workers.as_deref())).collect();
        list.extend(FFMPEG_PRESETS.iter().map(|p| ffmpeg_preset_json(p, workers.as_deref())));
        println!("{}", Value::Array(list));
        return Ok(());
    }
    println!(
        "{:<14} {:<14} {:<5} {:<11} {:<10} {:<24} WORKERS",
        "NAME", "FAMILY", "EXT", "VIDEO", "AUDIO", "PROPERTIES"
    );
    for (preset, _) in &all {
        let properties: Vec<String> = preset.properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let able = match workers.as_deref() {
            Some(workers) => format!("{} of {}", able(preset, workers).len(), workers.len()),
            None => "unknown".into(),
        };
        println!(
            "{:<14} {:<14} {:<5} {:<11} {:<10} {:<24} {able}",
            preset.name,
            preset.family,
            preset.extension,
            preset.vcodec,
            preset.acodec,
            properties.join(" ")
        );
    }
    println!("\nffmpeg jobs (job ffmpeg --preset NAME):");
    for preset in FFMPEG_PRESETS {
        let able = match workers.as_deref() {
            Some(workers) => format!("{} of {}", able_for(&preset.encoders(), workers).len(), workers.len()),
            None => "unknown".into(),
        };
        println!(
            "{:<16} {:<6} {:<4} {:<8} {:<10} {able}\n  {}",
            preset.name,
            preset.family,
            preset.extension,
            preset.vcodec,
            preset.acodec,
            preset.args().join(" ")
        );
    }
    Ok(())
}

/// The names of the workers that have every one of `encoders`.
fn able_for<'a>(encoders: &[&str], workers: &'a [WorkerView]) -> Vec<&'a str> {
    let has = |w: &WorkerView, e: &str| w.video_encoders.iter().chain(&w.audio_encoders).any(|have| have == e);
    workers.iter().filter(|w| encoders.iter().all(|e| has(w, e))).map(|w| w.name.as_str()).collect()
}

/// An ffmpeg preset as `presets --json` lists it: `kind` is `ffmpeg`, `args` its output options.
fn ffmpeg_preset_json(preset: &FfmpegPreset, workers: Option<&[WorkerView]>) -> Value {
    json!({
        "name": preset.name,
        "kind": "ffmpeg",
        "family": preset.family,
        "description": preset.description,
        "extension": preset.extension,
        "vcodec": preset.vcodec,
        "acodec": preset.acodec,
        "args": preset.args(),
        "encoders": preset.encoders(),
        "workers": workers.map(|w| able_for(&preset.encoders(), w)),
        "house": false,
    })
}

/// The workers the coordinator knows and its house presets, or `None` when it cannot be asked (no connection
/// settings, not reachable).
async fn ask(connect: &Connect) -> Option<(Vec<WorkerView>, Vec<PresetView>)> {
    let endpoint = Endpoint::from_flags(connect).ok()?;
    let ask = async {
        let mut client = Client::connect(&endpoint).await.ok()?;
        let workers = client.call(ClientRequest::WorkerList).await;
        let presets = client.call(ClientRequest::Presets).await;
        client.close().await;
        match (workers.ok()?, presets.ok()?) {
            (ClientReply::Workers(workers), ClientReply::Presets(presets)) => Some((workers, presets)),
            _ => None,
        }
    };
    tokio::time::timeout(ASK_FOR, ask).await.ok().flatten()
}

/// The coordinator's house presets (`[[preset]]` in its config), for `job submit --preset NAME`.
pub async fn house_presets(connect: &Connect) -> Result<Vec<PresetView>> {
    let endpoint = Endpoint::from_flags(connect)?;
    let mut client = Client::connect(&endpoint).await?;
    let reply = client.call(ClientRequest::Presets).await;
    client.close().await;
    match reply? {
        ClientReply::Presets(presets) => Ok(presets),
        ClientReply::Error(e) => bail!("{e}"),
        other => bail!("unexpected reply to a presets request: {other:?}"),
    }
}

/// What `worker` lacks of the encoders `preset` needs.
fn lacks<'a>(preset: &'a PresetView, worker: &WorkerView) -> Vec<&'a str> {
    let has = |e: &str| worker.video_encoders.iter().chain(&worker.audio_encoders).any(|w| w == e);
    preset.encoders().into_iter().filter(|e| !has(e)).collect()
}

/// The names of the workers that have every encoder `preset` needs.
fn able<'a>(preset: &PresetView, workers: &'a [WorkerView]) -> Vec<&'a str> {
    workers.iter().filter(|w| lacks(preset, w).is_empty()).map(|w| w.name.as_str()).collect()
}

fn preset_json(preset: &PresetView, house: bool, workers: Option<&[WorkerView]>) -> Value {
    let properties: serde_json::Map<String, Value> =
        preset.properties.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
    let (able, lacking) = match workers {
        Some(workers) => {
            let lacking: serde_json::Map<String, Value> = workers
                .iter()
                .filter_map(|w| Some((w.name.clone(), json!(Some(lacks(preset, w)).filter(|l| !l.is_empty())?))))
                .collect();
            (json!(able(preset, workers)), Value::Object(lacking))
        }
        None => (Value::Null, Value::Null),
    };
    json!({
        "name": preset.name,
        "family": preset.family,
        "description": preset.description,
        "extension": preset.extension,
        "vcodec": preset.vcodec,
        "acodec": preset.acodec,
        "properties": properties,
        "encoders": preset.encoders(),
        "workers": able,
        "lacking": lacking,
        "house": house,
    })
}
