//! `distencode worker ...`: the pool as the coordinator sees it, and taking workers out of it and back.

use crate::cli::{Connect, WorkerCommand};
use crate::client::{Client, Endpoint};
use crate::output;
use anyhow::{anyhow, bail, Result};
use distencode_wire::job::now_ms;
use distencode_wire::message::{ClientReply, ClientRequest, WorkerView};

pub async fn run(command: WorkerCommand) -> Result<()> {
    match command {
        WorkerCommand::List { json, connect } => {
            let workers = call(&connect, ClientRequest::WorkerList).await?;
            if json {
                println!("{}", serde_json::to_string(&workers)?);
            } else {
                println!("{}", output::worker_header());
                let usual = output::usual_stack(&workers);
                workers.iter().for_each(|w| println!("{}", output::worker_row(w, usual)));
            }
        }
        WorkerCommand::Reserve { worker, person, until, now, connect } => {
            let until = until.as_deref().map(parse_until).transpose()?;
            // No person: the coordinator reserves it for the user of this certificate.
            let person = person.unwrap_or_default();
            let workers = call(&connect, ClientRequest::Reserve { worker: worker.clone(), person, until, now }).await?;
            match workers.iter().find(|w| w.name == worker) {
                Some(view) if now => println!("{}", output::describe_taken_now(view, view.current_job)),
                _ => print_one(&workers, &worker),
            }
        }
        WorkerCommand::Release { worker, connect } => {
            let workers = call(&connect, ClientRequest::Release { worker: worker.clone() }).await?;
            print_one(&workers, &worker);
        }
        WorkerCommand::Drain { worker, connect } => {
            let workers = call(&connect, ClientRequest::Drain { worker: worker.clone() }).await?;
            print_one(&workers, &worker);
        }
        WorkerCommand::Forget { worker, connect } => {
            call(&connect, ClientRequest::Forget { worker: worker.clone() }).await?;
            println!("worker {worker} forgotten: it is no longer listed, nor reserved or drained");
        }
    }
    Ok(())
}

async fn call(connect: &Connect, request: ClientRequest) -> Result<Vec<WorkerView>> {
    let mut client = Client::connect(&Endpoint::from_flags(connect)?).await?;
    let reply = client.call(request).await;
    client.close().await;
    match reply? {
        ClientReply::Workers(workers) => Ok(workers),
        _ => bail!("unexpected answer from the coordinator"),
    }
}

fn print_one(workers: &[WorkerView], name: &str) {
    if let Some(worker) = workers.iter().find(|w| w.name == name) {
        println!("{}", output::describe_worker(worker));
    }
}

/// An RFC 3339 time, or a span from now such as `45s`, `90m`, `2h`, `1d`; in unix milliseconds.
pub fn parse_until(text: &str) -> Result<u64> {
    if let Ok(time) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        let ms = time.unix_timestamp_nanos() / 1_000_000;
        return u64::try_from(ms).map_err(|_| anyhow!("--until {text}: before 1970"));
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| anyhow!("--until {text:?}: not a time (2026-11-25T18:00:00Z) or a span (90m)"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("--until {text:?}: the unit must be s, m, h or d"),
    };
    Ok(now_ms().saturating_add(number.saturating_mul(seconds).saturating_mul(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_accepts_times_and_spans() {
        assert_eq!(parse_until("2026-11-25T18:00:00Z").unwrap(), 1_795_629_600_000);
        let in_two_hours = parse_until("2h").unwrap();
        assert!(in_two_hours.abs_diff(now_ms() + 7_200_000) < 5_000);
        assert!(parse_until("soon").unwrap_err().to_string().contains("not a time"));
        assert!(parse_until("5y").unwrap_err().to_string().contains("unit"));
    }
}
