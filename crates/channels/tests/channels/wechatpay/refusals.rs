//! What the client makes of answers it must not believe (signed by another key, by a key
//! with another id), of signatures the simulator refuses, of bad amounts and of silence.

use std::sync::Arc;

use payrail_channels::ChannelError;
use payrail_channels::wechatpay::{AmountRefused, Fen, WechatPayClient, WechatPayConfig};
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::{Currency, Money, Secret};
use tokio::net::TcpListener;

use super::helpers::{ShiftedClock, WechatPaySandbox, client_with, config_for, fen};

#[tokio::test]
async fn answers_signed_by_another_key_or_key_id_are_not_believed() {
    let sandbox = WechatPaySandbox::start().await;
    let impostor = RsaPrivateKey::generate().unwrap().public_key().unwrap().to_pem();
    let wrong_key =
        client_with(&sandbox.credentials, |config| WechatPayConfig { platform_public_key_pem: impostor, ..config }, 0);
    let error = wrong_key.native(&sandbox.order("PAY_forged_r01")).await.unwrap_err();
    assert!(matches!(&error, ChannelError::Protocol(text) if text.contains("does not match")), "{error:?}");
    assert!(error.outcome_is_unknown());
    let wrong_id = client_with(
        &sandbox.credentials,
        |config| WechatPayConfig { platform_public_key_id: "PUB_KEY_ID_0000".to_owned(), ..config },
        0,
    );
    let error = wrong_id.close("PAY_forged_r01").await.unwrap_err();
    assert!(matches!(&error, ChannelError::Protocol(text) if text.contains("PUB_KEY_ID")), "{error:?}");
    let late = client_with(&sandbox.credentials, |config| config, 301_000);
    let error = late.query("PAY_forged_r01").await.unwrap_err();
    assert!(matches!(&error, ChannelError::Rejected { status: 401, code, .. } if code == "SIGN_ERROR"), "{error:?}");
}

#[tokio::test]
async fn requests_signed_with_another_key_serial_or_mchid_get_sign_error() {
    let sandbox = WechatPaySandbox::start().await;
    let other_key = Secret::new(RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap());
    let changes: [Box<dyn FnOnce(WechatPayConfig) -> WechatPayConfig>; 3] = [
        Box::new(move |config| WechatPayConfig { merchant_private_key_pem: other_key, ..config }),
        Box::new(|config| WechatPayConfig { merchant_serial_no: "0123456789ABCDEF".to_owned(), ..config }),
        Box::new(|config| WechatPayConfig { mchid: "1900000000".to_owned(), ..config }),
    ];
    for change in changes {
        let client = client_with(&sandbox.credentials, change, 0);
        let error = client.native(&sandbox.order("PAY_sign_0001")).await.unwrap_err();
        assert!(
            matches!(&error, ChannelError::Rejected { status: 401, code, .. } if code == "SIGN_ERROR"),
            "{error:?}"
        );
    }
    let other = sandbox.simulator.add_merchant().unwrap();
    let wrong_app = client_with(&sandbox.credentials, |config| WechatPayConfig { appid: other.appid, ..config }, 0);
    let error = wrong_app.native(&sandbox.order("PAY_sign_0002")).await.unwrap_err();
    assert_eq!(error.code(), Some("APPID_MCHID_NOT_MATCH"));
}

#[test]
fn only_positive_cny_amounts_are_accepted() {
    let usd = Money::new(100, Currency::parse("USD").unwrap());
    assert_eq!(Fen::parse(usd), Err(AmountRefused::Currency("USD")));
    assert_eq!(Fen::parse(Money::new(0, Currency::parse("CNY").unwrap())), Err(AmountRefused::NotPositive));
    assert_eq!(fen(1).amount_minor(), 1);
}

#[tokio::test]
async fn silence_past_the_timeout_is_an_unknown_outcome() {
    let sandbox = WechatPaySandbox::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Accepts connections and never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config =
        WechatPayConfig { base_url: format!("http://{address}"), timeout_ms: 300, ..config_for(&sandbox.credentials) };
    let client = WechatPayClient::new(config, Arc::new(ShiftedClock(0))).unwrap();
    let error = client.native(&sandbox.order("PAY_silence_01")).await.unwrap_err();
    assert_eq!(error, ChannelError::Timeout);
    assert!(error.outcome_is_unknown());
}

#[test]
fn debug_output_shows_no_secret() {
    let key = RsaPrivateKey::generate().unwrap();
    let config = WechatPayConfig {
        base_url: "https://api.mch.weixin.qq.com".to_owned(),
        mchid: "1900000001".to_owned(),
        appid: "wx0000000000000001".to_owned(),
        merchant_serial_no: "ABC".to_owned(),
        merchant_private_key_pem: Secret::new(key.to_pkcs8_pem().unwrap()),
        apiv3_key: Secret::new("apiv3-secret-apiv3-secret-apiv3-".to_owned()),
        platform_public_key_id: "PUB_KEY_ID_1".to_owned(),
        platform_public_key_pem: key.public_key().unwrap().to_pem(),
        v2_key: Some(Secret::new("v2-secret".to_owned())),
        client_certificate: None,
        secapi_base_url: None,
        secapi_ca_certificate_pem: None,
        timeout_ms: 1_000,
    };
    let printed = format!("{config:?}");
    assert!(!printed.contains("PRIVATE KEY") && !printed.contains("apiv3-secret") && !printed.contains("v2-secret"));
    let client = WechatPayClient::new(config, Arc::new(ShiftedClock(0))).unwrap();
    assert!(!format!("{client:?}").contains("secret"));
}
