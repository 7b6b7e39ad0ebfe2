//! `/secapi/pay/reverse` over mutual TLS against the simulator's secapi listener: which
//! certificate is accepted, and what each refusal is reported as.

use std::sync::Arc;
use std::time::Duration;

use payrail_channels::ChannelError;
use payrail_channels::wechatpay::{
    ClientCertificate, MicropayOutcome, MicropayRequest, SecapiConfigError, TradeState, WechatPayClient,
    WechatPayConfig, WechatPayConfigError,
};
use payrail_sandbox::WechatPay;
use payrail_sandbox::wechatpay::CODE_USER_PAYING_FOREVER;
use payrail_sandbox::wechatpay::secapi::CERTIFICATE_MISMATCH;

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
