//! Payment-code pay over v2 XML, one test per documented test code.

use payrail_channels::ChannelError;
use payrail_channels::wechatpay::{MicropayOutcome, MicropayRequest, TradeState};
use payrail_domain::Secret;
use payrail_sandbox::wechatpay::{
    CODE_AUTH_CODE_EXPIRED, CODE_IMMEDIATE_SUCCESS, CODE_NOT_ENOUGH, CODE_USER_PAYING_FOREVER,
    CODE_USER_PAYING_THEN_SUCCESS,
};

use super::helpers::{WechatPaySandbox, client_with, fen};

fn request(out_trade_no: &str, auth_code: &str) -> MicropayRequest {
    MicropayRequest {
        out_trade_no: out_trade_no.to_owned(),
        description: "Till 3 <coffee & cake>".to_owned(),
        amount: fen(1234),
        auth_code: auth_code.to_owned(),
        device_ip: "192.0.2.10".to_owned(),
    }
}

#[tokio::test]
async fn the_immediate_success_code_pays_at_once_and_a_repeat_answers_orderpaid() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let MicropayOutcome::Paid(paid) = client.micropay(&request("MP_success_01", CODE_IMMEDIATE_SUCCESS)).await.unwrap()
    else {
        panic!("not paid")
    };
    assert_eq!((paid.trade_state, paid.amount_total_minor), (TradeState::Success, Some(1234)));
    assert!(paid.transaction_id.is_some() && paid.success_time.is_some());
    let repeat = client.micropay(&request("MP_success_01", CODE_IMMEDIATE_SUCCESS)).await.unwrap();
    assert!(matches!(repeat, MicropayOutcome::Failed(failure) if failure.code == "ORDERPAID"));
    let queried = client.order_query("MP_success_01").await.unwrap().unwrap();
    assert_eq!(queried.trade_state, TradeState::Success);
}

#[tokio::test]
async fn user_paying_then_success_needs_two_queries() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let outcome = client.micropay(&request("MP_paying_001", CODE_USER_PAYING_THEN_SUCCESS)).await.unwrap();
    assert_eq!(outcome, MicropayOutcome::Waiting { code: "USERPAYING".to_owned() });
    assert_eq!(client.order_query("MP_paying_001").await.unwrap().unwrap().trade_state, TradeState::UserPaying);
    let paid = client.order_query("MP_paying_001").await.unwrap().unwrap();
    assert_eq!(paid.trade_state, TradeState::Success);
    assert!(paid.transaction_id.is_some());
}

#[tokio::test]
async fn user_paying_forever_is_reversed_by_the_merchant() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let outcome = client.micropay(&request("MP_forever_01", CODE_USER_PAYING_FOREVER)).await.unwrap();
    assert!(matches!(outcome, MicropayOutcome::Waiting { .. }));
    for _ in 0..3 {
        assert_eq!(client.order_query("MP_forever_01").await.unwrap().unwrap().trade_state, TradeState::UserPaying);
    }
    assert!(!client.reverse("MP_forever_01").await.unwrap(), "no recall needed");
    assert_eq!(client.order_query("MP_forever_01").await.unwrap().unwrap().trade_state, TradeState::Revoked);
    assert_eq!(client.reverse("MP_unknown_01").await.unwrap_err().code(), Some("ORDERNOTEXIST"));
}

#[tokio::test]
async fn failing_codes_keep_wechats_error_codes() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    for (number, code, expected) in [
        ("MP_notenough1", CODE_NOT_ENOUGH, "NOTENOUGH"),
        ("MP_expired_01", CODE_AUTH_CODE_EXPIRED, "AUTHCODEEXPIRE"),
        ("MP_invalid_01", "99123", "AUTH_CODE_INVALID"),
    ] {
        let outcome = client.micropay(&request(number, code)).await.unwrap();
        assert!(matches!(&outcome, MicropayOutcome::Failed(failure) if failure.code == expected), "{outcome:?}");
    }
    assert_eq!(client.order_query("MP_notenough1").await.unwrap().unwrap().trade_state, TradeState::PayError);
    assert_eq!(client.order_query("MP_expired_01").await.unwrap(), None);
}

#[tokio::test]
async fn a_wrong_v2_key_is_refused_by_the_simulator() {
    let sandbox = WechatPaySandbox::start().await;
    let wrong = client_with(
        &sandbox.credentials,
        |config| payrail_channels::wechatpay::WechatPayConfig {
            v2_key: Some(Secret::new("0123456789abcdef0123456789abcdef".to_owned())),
            ..config
        },
        0,
    );
    let refused = wrong.micropay(&request("MP_wrongkey1", CODE_IMMEDIATE_SUCCESS)).await.unwrap_err();
    assert!(
        matches!(&refused, ChannelError::Rejected { code, message, .. } if code == "FAIL" && message == "签名错误")
    );
}
