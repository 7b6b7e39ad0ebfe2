//! Native, JSAPI and H5 orders through their whole life: placed, paid on the buyer page,
//! queried, closed, refunded.

use payrail_channels::ChannelError;
use payrail_channels::wechatpay::{RefundRequest, RefundStatus, TradeState};
use payrail_crypto::rsa::RsaPublicKey;

use super::helpers::{WechatPaySandbox, fen};

fn refund_request(out_trade_no: &str, out_refund_no: &str, refund_minor: i64) -> RefundRequest {
    RefundRequest {
        out_trade_no: out_trade_no.to_owned(),
        out_refund_no: out_refund_no.to_owned(),
        reason: Some("customer asked".to_owned()),
        refund: fen(refund_minor),
        total: fen(1234),
        notify_url: None,
    }
}

#[tokio::test]
async fn a_native_order_paid_on_the_buyer_page_succeeds_and_can_be_refunded_once_in_full() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let code_url = client.native(&sandbox.order("PAY_native_0001")).await.unwrap();
    assert!(code_url.starts_with("weixin://wxpay/bizpayurl?pr="), "{code_url}");
    let unpaid = client.query("PAY_native_0001").await.unwrap().unwrap();
    assert_eq!(unpaid.trade_state, TradeState::NotPay);
    assert_eq!(unpaid.transaction_id, None);

    sandbox.buyer(&code_url, "pay").await;
    let paid = client.query("PAY_native_0001").await.unwrap().unwrap();
    assert_eq!(paid.trade_state, TradeState::Success);
    assert_eq!((paid.amount_total_minor, paid.payer_total_minor), (Some(1234), Some(1234)));
    assert!(paid.transaction_id.is_some() && paid.success_time.is_some());

    let refund = client.refund(&refund_request("PAY_native_0001", "REF_native_0001", 1000)).await.unwrap();
    assert_eq!((refund.status, refund.refund_minor, refund.total_minor), (RefundStatus::Processing, 1000, 1234));
    let again = client.refund(&refund_request("PAY_native_0001", "REF_native_0001", 1000)).await.unwrap();
    assert_eq!(again.refund_id, refund.refund_id, "a repeated out_refund_no is the same refund");
    let settled = client.query_refund("REF_native_0001").await.unwrap().unwrap();
    assert_eq!(settled.status, RefundStatus::Success);
    let too_much = client.refund(&refund_request("PAY_native_0001", "REF_native_0002", 235)).await.unwrap_err();
    assert_eq!(too_much.code(), Some("INVALID_REQUEST"));
    assert_eq!(client.query("PAY_native_0001").await.unwrap().unwrap().trade_state, TradeState::Refund);
}

#[tokio::test]
async fn an_unpaid_order_closes_with_a_signed_204_and_a_paid_one_answers_orderpaid() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    client.native(&sandbox.order("PAY_close_0001")).await.unwrap();
    client.close("PAY_close_0001").await.unwrap();
    client.close("PAY_close_0001").await.unwrap();
    assert_eq!(client.query("PAY_close_0001").await.unwrap().unwrap().trade_state, TradeState::Closed);
    let reopened = client.native(&sandbox.order("PAY_close_0001")).await.unwrap_err();
    assert_eq!(reopened.code(), Some("ORDER_CLOSED"));

    let code_url = client.native(&sandbox.order("PAY_close_0002")).await.unwrap();
    sandbox.buyer(&code_url, "pay").await;
    let closing_paid = client.close("PAY_close_0002").await.unwrap_err();
    assert!(matches!(&closing_paid, ChannelError::Rejected { status: 400, code, .. } if code == "ORDERPAID"));
    let placing_paid = client.native(&sandbox.order("PAY_close_0002")).await.unwrap_err();
    assert_eq!(placing_paid.code(), Some("ORDERPAID"));
}

#[tokio::test]
async fn unknown_orders_and_refunds_are_none_and_a_repeated_order_gets_the_same_code_url() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    assert_eq!(client.query("PAY_unknown_01").await.unwrap(), None);
    assert_eq!(client.query_refund("REF_unknown_01").await.unwrap(), None);
    let first = client.native(&sandbox.order("PAY_repeat_01")).await.unwrap();
    assert_eq!(client.native(&sandbox.order("PAY_repeat_01")).await.unwrap(), first);
    let mut changed = sandbox.order("PAY_repeat_01");
    changed.amount = fen(1);
    assert_eq!(client.native(&changed).await.unwrap_err().code(), Some("OUT_TRADE_NO_USED"));
    let declined = client.native(&sandbox.order("PAY_decline_1")).await.unwrap();
    sandbox.buyer(&declined, "decline").await;
    assert_eq!(client.query("PAY_decline_1").await.unwrap().unwrap().trade_state, TradeState::PayError);
}

#[tokio::test]
async fn a_jsapi_order_gives_bridge_parameters_signed_with_the_merchant_key_and_h5_a_page() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let order = client.jsapi(&sandbox.order("PAY_jsapi_0001"), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").await.unwrap();
    let bridge = &order.bridge;
    assert_eq!((bridge.app_id.as_str(), bridge.sign_type.as_str()), (sandbox.credentials.appid.as_str(), "RSA"));
    assert_eq!(bridge.package, format!("prepay_id={}", order.prepay_id));
    let message = format!("{}\n{}\n{}\n{}\n", bridge.app_id, bridge.time_stamp, bridge.nonce_str, bridge.package);
    let private = payrail_crypto::rsa::RsaPrivateKey::from_pem(sandbox.credentials.merchant_private_key_pem.expose());
    let public: RsaPublicKey = private.unwrap().public_key().unwrap();
    assert!(public.verify_base64(message.as_bytes(), &bridge.pay_sign));
    let names: Vec<&str> = bridge.wechat_fields().iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"]);
    sandbox.buyer(&order.prepay_id, "pay").await;
    assert_eq!(client.query("PAY_jsapi_0001").await.unwrap().unwrap().trade_state, TradeState::Success);

    let h5_url = client.h5(&sandbox.order("PAY_h5_000001"), "203.0.113.7").await.unwrap();
    assert!(h5_url.starts_with(&format!("{}/buyer/", sandbox.credentials.base_url)), "{h5_url}");
}

#[tokio::test]
async fn an_order_past_its_time_expire_cannot_be_paid_and_stays_unpaid() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let mut order = sandbox.order("PAY_expired_01");
    order.time_expire = Some(payrail_domain::Timestamp::from_unix_ms(super::helpers::START_MS - 1_000).unwrap());
    let code_url = client.native(&order).await.unwrap();
    let token = code_url.rsplit("pr=").next().unwrap();
    let url = format!("{}/buyer/{token}/pay", sandbox.credentials.base_url);
    let refused = crate::helpers::browser().post(url).send().await.unwrap();
    assert_eq!(refused.status(), 409);
    assert_eq!(client.query("PAY_expired_01").await.unwrap().unwrap().trade_state, TradeState::NotPay);
    client.close("PAY_expired_01").await.unwrap();
}
