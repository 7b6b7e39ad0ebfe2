//! What the Alipay client refuses or reports as unknown: forged, unsigned and slow answers,
//! a wrong app id or key, a currency Alipay does not take, forged and unsigned
//! notifications; and what it accepts twice (a replayed notification reads the same, the
//! service drops the repeat). Also the page-pay redirect and notification retries.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use payrail_channels::ChannelError;
use payrail_channels::alipay::{AlipayClient, AlipayConfig, NotificationRefused, RedirectPayRequest, TradeStatus};
use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::{Currency, Money};
use tokio::net::TcpListener;

use crate::alipay_helpers::{AlipaySim, clock, cny, reference, secret};
use crate::helpers::browser;

/// A gateway at a random port that answers every call with `status` and `body` after
/// `delay_ms`.
async fn fake_gateway(status: StatusCode, body: String, delay_ms: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gateway.do", listener.local_addr().unwrap());
    let body = Arc::new(body);
    let app = Router::new().route(
        "/gateway.do",
        post(move || async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            (status, body.as_str().to_owned())
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn client_at(sim: &AlipaySim, gateway_url: String, timeout_ms: u64) -> AlipayClient {
    AlipayClient::new(&AlipayConfig { gateway_url, timeout_ms, ..sim.config() }, clock()).unwrap()
}

#[tokio::test]
async fn answers_signed_by_another_key_unsigned_or_not_200_are_unknown_outcomes() {
    let sim = AlipaySim::start().await;
    let text = r#"{"code":"10000","msg":"Success","out_trade_no":"o1","trade_no":"t1","trade_status":"TRADE_SUCCESS","total_amount":"12.30"}"#;
    let forger = RsaPrivateKey::generate().unwrap();
    let forged = format!(
        r#"{{"alipay_trade_query_response":{text},"sign":"{}"}}"#,
        forger.sign_base64(text.as_bytes()).unwrap()
    );
    let unsigned = format!(r#"{{"alipay_trade_query_response":{text}}}"#);
    for (status, body) in
        [(StatusCode::OK, forged), (StatusCode::OK, unsigned), (StatusCode::BAD_GATEWAY, String::new())]
    {
        let client = client_at(&sim, fake_gateway(status, body, 0).await, 5_000);
        let error = client.query("o1").await.unwrap_err();
        assert!(matches!(error, ChannelError::Protocol(_)), "{error:?}");
        assert!(error.outcome_is_unknown());
    }
}

#[tokio::test]
async fn an_answer_later_than_the_timeout_is_an_unknown_outcome() {
    let sim = AlipaySim::start().await;
    let client = client_at(&sim, fake_gateway(StatusCode::OK, String::new(), 2_000).await, 300);
    assert_eq!(client.refund_query("o1", "r1").await.unwrap_err(), ChannelError::Timeout);
}

#[tokio::test]
async fn a_wrong_app_id_is_refused_unsigned_and_a_wrong_app_key_in_a_signed_answer() {
    let sim = AlipaySim::start().await;
    // Alipay cannot sign for an app it does not know, so the refusal is unsigned: not
    // believed, but named for whoever debugs the configuration.
    let wrong_app = AlipayClient::new(&AlipayConfig { app_id: "9021000000000000".to_owned(), ..sim.config() }, clock());
    let error = wrong_app.unwrap().query("o1").await.unwrap_err();
    assert!(matches!(&error, ChannelError::Protocol(message) if message.contains("isv.invalid-app-id")), "{error:?}");
    let other_key = secret(&RsaPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap());
    let wrong_key = AlipayClient::new(&AlipayConfig { app_private_key: other_key, ..sim.config() }, clock());
    let error = wrong_key.unwrap().query("o1").await.unwrap_err();
    assert!(matches!(&error, ChannelError::Rejected { code, .. } if code == "isv.invalid-signature"), "{error:?}");
}

#[tokio::test]
async fn only_cny_is_sent_to_alipay() {
    let sim = AlipaySim::start().await;
    let request = RedirectPayRequest {
        out_trade_no: reference("page"),
        amount: Money::new(100, Currency::parse("USD").unwrap()),
        subject: "x".to_owned(),
        return_url: None,
        notify_url: None,
        time_expire: None,
    };
    assert_eq!(sim.client().page_pay_url(&request).unwrap_err().code(), Some("currency_not_supported"));
}

#[tokio::test]
async fn a_page_pay_url_leads_to_the_cashier_and_back_to_the_return_url_with_signed_parameters() {
    let sim = AlipaySim::start().await;
    let request = RedirectPayRequest {
        out_trade_no: reference("page"),
        amount: cny(9_900),
        subject: "Shoes".to_owned(),
        return_url: Some("https://shop.test/return".to_owned()),
        notify_url: Some(sim.receiver.url.clone()),
        time_expire: None,
    };
    let wap = RedirectPayRequest { out_trade_no: reference("wap"), ..request.clone() };
    for url in [sim.client().page_pay_url(&request).unwrap(), sim.client().wap_pay_url(&wap).unwrap()] {
        assert!(url.starts_with(&sim.credentials.gateway_url), "{url}");
        let response = browser().get(url).send().await.unwrap();
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        let cashier = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(cashier.starts_with(&format!("{}/buyer/", sim.base_url)), "{cashier}");

        let paid = browser().post(format!("{cashier}/pay")).send().await.unwrap();
        assert_eq!(paid.status(), 303);
        let back = paid.headers()["location"].to_str().unwrap();
        let query = back.strip_prefix("https://shop.test/return?").unwrap();
        let returned = sim.client().verify_return(query.as_bytes()).unwrap();
        assert_eq!(returned.total_amount, cny(9_900));
        let forged = query.replace("total_amount=99.00", "total_amount=0.01");
        assert_eq!(sim.client().verify_return(forged.as_bytes()), Err(NotificationRefused::BadSignature));
    }
    assert_eq!(sim.client().query(&wap.out_trade_no).await.unwrap().unwrap().status, TradeStatus::Success);
}

/// A paid QR trade's notification, once acknowledged: its form body.
async fn one_notification(sim: &AlipaySim) -> String {
    let client = sim.client();
    let request = payrail_channels::alipay::PrecreateRequest {
        out_trade_no: reference("qr"),
        amount: cny(100),
        subject: "Tea".to_owned(),
        notify_url: Some(sim.receiver.url.clone()),
        time_expire: None,
    };
    let precreated = client.precreate(&request).await.unwrap();
    sim.buyer(&precreated.qr_code, Some("pay")).await;
    sim.acknowledged_notifications(1).await[0].body.clone()
}

#[tokio::test]
async fn forged_unsigned_and_malformed_notifications_are_refused_and_a_replay_reads_the_same() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let body = one_notification(&sim).await;
    let first = client.verify_notification(body.as_bytes()).unwrap();
    assert_eq!(client.verify_notification(body.as_bytes()).unwrap(), first);

    let forged = body.replace("total_amount=1.00", "total_amount=0.01");
    assert_ne!(forged, body);
    assert_eq!(client.verify_notification(forged.as_bytes()), Err(NotificationRefused::BadSignature));
    let unsigned: String = body.split('&').filter(|pair| !pair.starts_with("sign=")).collect::<Vec<_>>().join("&");
    assert_eq!(client.verify_notification(unsigned.as_bytes()), Err(NotificationRefused::Unsigned));
    let doubled = format!("{body}&trade_status=TRADE_SUCCESS");
    assert_eq!(client.verify_notification(doubled.as_bytes()), Err(NotificationRefused::Malformed));
    assert_eq!(client.verify_notification(&[0xff, 0xfe]), Err(NotificationRefused::Malformed));

    let other_sim = AlipaySim::start().await;
    assert_eq!(other_sim.client().verify_notification(body.as_bytes()), Err(NotificationRefused::BadSignature));
}

#[tokio::test]
async fn a_notification_is_sent_again_with_the_same_id_until_the_answer_is_exactly_success() {
    let sim = AlipaySim::start_with_receiver(|attempt| if attempt < 3 { "SUCCESS " } else { "success" }).await;
    one_notification(&sim).await;
    let sent = sim.sandbox.sent_notifications();
    assert_eq!((sent.len(), sent[0].attempts), (1, 3));
    let bodies = sim.receiver.bodies();
    assert!(bodies.iter().all(|body| body == &bodies[0]), "every attempt carries the same notify_id and body");
}
