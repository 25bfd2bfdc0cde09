//! `distencode presets`: the built-in export presets, and whether this farm's workers can render each (asked of the
//! coordinator when it is reachable; without one, each preset's workers are unknown).

use crate::cli::Connect;
use crate::client::{Client, Endpoint};
use anyhow::Result;
use distencode_actors::presets::{Preset, PRESETS};
use distencode_wire::message::{ClientReply, ClientRequest, WorkerView};
use serde_json::{json, Value};
use std::time::Duration;

/// How long the listing waits for the coordinator before it says the workers are unknown.
const ASK_FOR: Duration = Duration::from_secs(5);

pub async fn run(json: bool, connect: Connect) -> Result<()> {
    let workers = ask_workers(&connect).await;
    if json {
        let list: Vec<Value> = PRESETS.iter().map(|p| preset_json(p, workers.as_deref())).collect();
        println!("{}", Value::Array(list));
        return Ok(());
    }
    println!(
        "{:<14} {:<8} {:<5} {:<11} {:<10} {:<24} WORKERS",
        "NAME", "FAMILY", "EXT", "VIDEO", "AUDIO", "PROPERTIES"
    );
    for preset in PRESETS {
        let properties: Vec<String> = preset.properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let able = match workers.as_deref() {
            Some(workers) => format!("{} of {}", able(preset, workers).len(), workers.len()),
            None => "unknown".into(),
        };
        println!(
            "{:<14} {:<8} {:<5} {:<11} {:<10} {:<24} {able}",
            preset.name,
            preset.family,
            preset.extension,
            preset.vcodec,
            preset.acodec,
            properties.join(" ")
        );
    }
    Ok(())
}

/// The workers the coordinator knows, or `None` when it cannot be asked (no connection settings, not reachable).
async fn ask_workers(connect: &Connect) -> Option<Vec<WorkerView>> {
    let endpoint = Endpoint::from_flags(connect).ok()?;
    let ask = async {
        let mut client = Client::connect(&endpoint).await.ok()?;
        let reply = client.call(ClientRequest::WorkerList).await;
        client.close().await;
        match reply.ok()? {
            ClientReply::Workers(workers) => Some(workers),
            _ => None,
        }
    };
    tokio::time::timeout(ASK_FOR, ask).await.ok().flatten()
}

/// What `worker` lacks of the encoders `preset` needs.
fn lacks(preset: &Preset, worker: &WorkerView) -> Vec<&'static str> {
    let has = |e: &str| worker.video_encoders.iter().chain(&worker.audio_encoders).any(|w| w == e);
    preset.encoders().into_iter().filter(|e| !has(e)).collect()
}

/// The names of the workers that have every encoder `preset` needs.
fn able<'a>(preset: &Preset, workers: &'a [WorkerView]) -> Vec<&'a str> {
    workers.iter().filter(|w| lacks(preset, w).is_empty()).map(|w| w.name.as_str()).collect()
}

fn preset_json(preset: &Preset, workers: Option<&[WorkerView]>) -> Value {
    let properties: serde_json::Map<String, Value> =
        preset.properties.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect();
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
    })
}
