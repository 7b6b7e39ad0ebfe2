//! The official `stripe` Python package, run as a verifier nobody here wrote: tests hand
//! it our webhook signatures and it must accept them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Checks each secret in turn with `stripe.Webhook.construct_event` on stdin's payload and
/// the header in `argv[1]`; prints `accepted` and the event id when every one passes.
const VERIFIER: &str = r#"
import sys
import stripe
payload = sys.stdin.buffer.read()
header = sys.argv[1]
for secret in sys.argv[2:]:
    event = stripe.Webhook.construct_event(payload, header, secret)
print("accepted", event.id)
"#;

/// The interpreter to run, from `PAYRAIL_TEST_PYTHON` (default `python3`), if it has
/// `stripe`. Without it the calling test fails, unless `PAYRAIL_TEST_SKIP_STRIPE_PY=1`
/// says to skip it (then `None`): a missing verifier must never pass silently.
pub fn stripe_python() -> Option<String> {
    let python = std::env::var("PAYRAIL_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python).args(["-c", "import stripe"]).output();
    if probe.as_ref().is_ok_and(|output| output.status.success()) {
        return Some(python);
    }
    if std::env::var("PAYRAIL_TEST_SKIP_STRIPE_PY").as_deref() == Ok("1") {
        eprintln!("skipping the stripe-python check: PAYRAIL_TEST_SKIP_STRIPE_PY=1");
        return None;
    }
    let detail = match probe {
        Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
        Err(error) => error.to_string(),
    };
    panic!(
        "`{python} -c 'import stripe'` failed ({}). Install the package (`.ci/run` creates \
         target/py-stripe with it; or `python3 -m venv target/py-stripe && \
         target/py-stripe/bin/pip install stripe`) and set PAYRAIL_TEST_PYTHON to that \
         interpreter, or set PAYRAIL_TEST_SKIP_STRIPE_PY=1 to skip this check deliberately",
        detail.trim()
    );
}

/// Runs `stripe.Webhook.construct_event(payload, header, secret)` for each secret.
pub fn construct_event(python: &str, payload: &[u8], header: &str, secrets: &[&str]) -> Output {
    let mut child = Command::new(python)
        .args(["-c", VERIFIER, header])
        .args(secrets)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the python interpreter starts");
    child.stdin.take().expect("piped stdin").write_all(payload).expect("the payload is written");
    child.wait_with_output().expect("the verifier finishes")
}
