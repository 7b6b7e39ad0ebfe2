//! Workers: tasks that claim and run jobs until told to stop.
//!
//! A worker that found a job looks again at once, since more may be due; one that found
//! none waits the poll interval. Stopping lets each worker finish the job in hand; a job
//! abandoned when the grace period ends keeps its lease until it runs out, and is then
//! claimed again by any instance.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::jobs::JobRunner;

/// Running workers; see [`JobRunner::start`].
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl JobRunner {
    /// Starts `count` workers on this runtime.
    pub fn start(&self, count: usize) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let tasks = (0..count).map(|_| tokio::spawn(work(self.clone(), stopped.clone()))).collect();
        Workers { stop, tasks }
    }
}

impl Workers {
    /// Asks every worker to stop after its current job, waits up to `grace` for them,
    /// then abandons the rest.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let aborts: Vec<_> = self.tasks.iter().map(JoinHandle::abort_handle).collect();
        let all = async {
            for task in self.tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("jobs still running after the grace period were abandoned; their leases will run out");
            aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
    }
}

async fn work(runner: JobRunner, mut stop: watch::Receiver<bool>) {
    let poll = Duration::from_millis(runner.options.poll_interval_ms);
    while !*stop.borrow() {
        let found = match runner.run_once().await {
            Ok(ran) => ran.is_some(),
            Err(error) => {
                tracing::warn!(error = %error, "could not claim or record a job");
                false
            }
        };
        if found {
            continue;
        }
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(poll) => {}
        }
    }
}
