//! The 3-D Secure challenge: a small self-contained page (no scripts, no external assets)
//! where the tester plays the cardholder, and the two answers it can give.
//!
//! Both answers redirect (303 See Other) to the authorization's `return_url`, unchanged,
//! as a bank's authentication page sends the cardholder back to the merchant. The merchant
//! learns the outcome by querying the authorization, never from the redirect itself.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::page::escape;

use super::CardNetwork;
use super::error::NetworkError;
use super::fields;

pub(crate) async fn show_challenge(State(network): State<CardNetwork>, Path(reference): Path<String>) -> Response {
    let view = match known(&reference).and_then(|()| network.book().challenge_view(&reference)) {
        Ok(view) => view,
        Err(error) => return error_page(&error),
    };
    let base = escape(network.book().public_base_url());
    let body = if view.open {
        format!(
            "<p class=\"amount\">{amount}</p>\
             <p>Card ending {last4} · reference <code>{reference}</code></p>\
             <p class=\"note\">Sandbox: no bank is involved. Choose how the cardholder's authentication ends.</p>\
             <form method=\"post\" action=\"{base}/3ds/{reference}/complete\">\
             <button type=\"submit\">Complete authentication</button></form>\
             <form method=\"post\" action=\"{base}/3ds/{reference}/fail\">\
             <button type=\"submit\" class=\"fail\">Fail authentication</button></form>",
            amount = view.amount,
            last4 = view.card_last4,
        )
    } else {
        format!("<p>The authentication of <code>{reference}</code> is already finished.</p>")
    };
    page(StatusCode::OK, "Confirm this payment", &body)
}

pub(crate) async fn complete_challenge(State(network): State<CardNetwork>, Path(reference): Path<String>) -> Response {
    let result = known(&reference).and_then(|()| network.book().complete_challenge(&reference));
    answer(&reference, "complete", result)
}

pub(crate) async fn fail_challenge(State(network): State<CardNetwork>, Path(reference): Path<String>) -> Response {
    let result = known(&reference).and_then(|()| network.book().fail_challenge(&reference));
    answer(&reference, "fail", result)
}

fn answer(reference: &str, choice: &'static str, result: Result<String, NetworkError>) -> Response {
    match result {
        Ok(return_url) => {
            tracing::info!(reference, choice, "card network challenge answered");
            // `return_url` was checked to be printable ASCII when the authorization was made.
            Redirect::to(&return_url).into_response()
        }
        Err(error) => {
            tracing::info!(reference, choice, code = error.code(), "card network challenge refused");
            error_page(&error)
        }
    }
}

fn known(reference: &str) -> Result<(), NetworkError> {
    if fields::is_reference(reference) { Ok(()) } else { Err(NetworkError::NotFound { what: "authorization" }) }
}

fn error_page(error: &NetworkError) -> Response {
    let body = format!("<p>{}.</p><p class=\"note\">Code: <code>{}</code></p>", escape(&error.message()), error.code());
    page(error.status(), "This authentication cannot continue", &body)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    crate::page::page(status, title, "card network sandbox", body)
}
