//! `/secapi/pay/reverse` over mutual TLS against the simulator's secapi listener: which
//! certificate is accepted, and what each refusal is reported as.

use std::sync::Arc;
use std::time::Duration;

use payrail_channels::ChannelError;
use payrail_channels::wechatpay::{
    ClientCertificate, MicropayOutcome, MicropayRequest, RefundRequest, RefundStatus, SecapiConfigError, TradeState,
    WechatPayClient, WechatPayConfig, WechatPayConfigError,
};
use payrail_sandbox::WechatPay;
use payrail_sandbox::wechatpay::secapi::CERTIFICATE_MISMATCH;
use payrail_sandbox::wechatpay::{CODE_IMMEDIATE_SUCCESS, CODE_USER_PAYING_FOREVER};

use super::helpers::{ShiftedClock, WechatPaySandbox, client_certificate, client_with, config_for, fen};

/// A trade left waiting for the payer, so that a reverse has something to do.
async fn waiting_trade(client: &WechatPayClient, out_trade_no: &str) {
    let request = MicropayRequest {
        out_trade_no: out_trade_no.to_owned(),
        description: "Till 3".to_owned(),
        amount: fen(1234),
        auth_code: CODE_USER_PAYING_FOREVER.to_owned(),
        device_ip: "192.0.2.10".to_owned(),
    };
    assert!(matches!(client.micropay(&request).await.unwrap(), MicropayOutcome::Waiting { .. }));
}

async fn trade_state(client: &WechatPayClient, out_trade_no: &str) -> TradeState {
    client.order_query(out_trade_no).await.unwrap().unwrap().trade_state
}

#[tokio::test]
async fn reverse_with_the_merchants_certificate_revokes_the_trade() {
    let sandbox = WechatPaySandbox::start().await;
    let secapi_base_url = sandbox.credentials.secapi_base_url.clone().unwrap();
    assert!(secapi_base_url.starts_with("https://127.0.0.1:"), "{secapi_base_url}");
    let printed = format!("{:?}", config_for(&sandbox.credentials));
    assert!(printed.contains("BEGIN CERTIFICATE") && !printed.contains("PRIVATE KEY"), "the key is masked");
    let client = sandbox.client();
    waiting_trade(&client, "MP_tls_ok_001").await;
    assert!(!client.reverse("MP_tls_ok_001").await.unwrap());
    assert_eq!(trade_state(&client, "MP_tls_ok_001").await, TradeState::Revoked);
}

#[tokio::test]
async fn a_v2_refund_goes_over_mutual_tls_and_is_found_by_the_v3_refund_query() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let request = MicropayRequest {
        out_trade_no: "MP_tls_refund".to_owned(),
        description: "Till 3".to_owned(),
        amount: fen(1234),
        auth_code: CODE_IMMEDIATE_SUCCESS.to_owned(),
        device_ip: "192.0.2.10".to_owned(),
    };
    assert!(matches!(client.micropay(&request).await.unwrap(), MicropayOutcome::Paid(_)));
    let refund = RefundRequest {
        out_trade_no: "MP_tls_refund".to_owned(),
        out_refund_no: "RF_tls_refund".to_owned(),
        reason: Some("returned <cake>".to_owned()),
        refund: fen(234),
        total: fen(1234),
        notify_url: None,
    };
    let accepted = client.refund_v2(&refund).await.unwrap();
    assert_eq!((accepted.status, accepted.refund_minor, accepted.total_minor), (RefundStatus::Processing, 234, 1234));
    let settled = client.query_refund("RF_tls_refund").await.unwrap().unwrap();
    assert_eq!((settled.status, settled.refund_id), (RefundStatus::Success, accepted.refund_id));
    let too_much = RefundRequest { out_refund_no: "RF_tls_refund2".to_owned(), refund: fen(1001), ..refund };
    assert_eq!(client.refund_v2(&too_much).await.unwrap_err().code(), Some("INVALID_REQUEST"));
    let uncertified =
        client_with(&sandbox.credentials, |config| WechatPayConfig { client_certificate: None, ..config }, 0);
    assert_eq!(uncertified.refund_v2(&too_much).await.unwrap_err().code(), Some("client_certificate_missing"));
}

/// Reverses a waiting trade with the client certificate `choose` picks (or none), and
/// checks the trade was left alone: returns what the reverse failed with.
async fn refused_reverse(choose: impl FnOnce(&WechatPaySandbox) -> Option<ClientCertificate>) -> ChannelError {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    waiting_trade(&client, "MP_tls_refuse").await;
    let certificate = choose(&sandbox);
    let other =
        client_with(&sandbox.credentials, |config| WechatPayConfig { client_certificate: certificate, ..config }, 0);
    let refused = other.reverse("MP_tls_refuse").await.unwrap_err();
    assert!(!refused.outcome_is_unknown(), "certainly not done: {refused:?}");
    assert_eq!(trade_state(&client, "MP_tls_refuse").await, TradeState::UserPaying);
    refused
}

#[tokio::test]
async fn without_a_configured_certificate_reverse_fails_before_sending() {
    let refused = refused_reverse(|_| None).await;
    assert_eq!(refused.code(), Some("client_certificate_missing"));
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_the_handshake_and_nothing_is_done() {
    // Another simulator has its own CA: its merchant's certificate does not chain to ours.
    let stranger = WechatPay::new("http://127.0.0.1:9/elsewhere", Arc::new(ShiftedClock(0))).unwrap();
    let foreign = client_certificate(&stranger.add_merchant().unwrap());
    let refused = refused_reverse(|_| Some(foreign)).await;
    assert_eq!(refused, ChannelError::Transient { code: "client_certificate_refused".to_owned() });
}

#[tokio::test]
async fn a_connection_without_any_certificate_fails_the_tls_handshake() {
    let sandbox = WechatPaySandbox::start().await;
    let ca = reqwest::Certificate::from_pem(sandbox.credentials.ca_certificate_pem.as_bytes()).unwrap();
    let bare = reqwest::Client::builder().tls_certs_only([ca]).timeout(Duration::from_secs(5)).build().unwrap();
    let url = format!("{}/secapi/pay/reverse", sandbox.credentials.secapi_base_url.clone().unwrap());
    let error = bare.post(url).body("<xml></xml>").send().await.unwrap_err();
    assert!(format!("{error:?}").contains("AlertReceived(CertificateRequired)"), "{error:?}");
}

#[tokio::test]
async fn another_merchants_certificate_is_refused_with_wechats_xml_error() {
    let refused = refused_reverse(|sandbox| Some(client_certificate(&sandbox.simulator.add_merchant().unwrap()))).await;
    assert!(
        matches!(&refused, ChannelError::Rejected { code, message, .. } if code == "FAIL" && message == CERTIFICATE_MISMATCH),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_plain_http_secapi_address_is_refused_when_the_client_is_built() {
    let sandbox = WechatPaySandbox::start().await;
    let mut config = config_for(&sandbox.credentials);
    config.secapi_base_url = Some(config.base_url.clone());
    let refused = WechatPayClient::new(config, Arc::new(ShiftedClock(0))).unwrap_err();
    assert_eq!(refused, WechatPayConfigError::Secapi(SecapiConfigError::NotHttps));
}
