//! The Alipay client against the simulator: a QR payment paid on the buyer page, each
//! test payment code, refunds (partial, repeated, too large, full), close and cancel.

use payrail_channels::ChannelError;
use payrail_channels::alipay::{
    BarcodePayRequest, CancelOutcome, CloseOutcome, PayOutcome, PrecreateRequest, RefundRequest, TradeStatus,
};
use payrail_sandbox::alipay::{
    CODE_BALANCE_NOT_ENOUGH, CODE_INVALID, CODE_PAID, CODE_PAYING_FOREVER, CODE_PAYING_THEN_PAID, QUERIES_UNTIL_PAID,
};

use crate::alipay_helpers::{AlipaySim, cny, reference};

fn precreate_request(sim: &AlipaySim, minor: i64) -> PrecreateRequest {
    PrecreateRequest {
        out_trade_no: reference("qr"),
        amount: cny(minor),
        subject: "Tea {\"large\"} / 大杯".to_owned(),
        notify_url: Some(sim.receiver.url.clone()),
        time_expire: None,
    }
}

fn pay_request(sim: &AlipaySim, auth_code: &str) -> BarcodePayRequest {
    BarcodePayRequest {
        out_trade_no: reference("bar"),
        amount: cny(1_230),
        subject: "Coffee".to_owned(),
        auth_code: auth_code.to_owned(),
        notify_url: Some(sim.receiver.url.clone()),
        time_expire: None,
    }
}

/// A paid barcode trade of 12.30 CNY.
async fn paid_trade(sim: &AlipaySim) -> String {
    let request = pay_request(sim, CODE_PAID);
    assert!(matches!(sim.client().pay(&request).await.unwrap(), PayOutcome::Paid(_)));
    request.out_trade_no
}

#[tokio::test]
async fn a_qr_trade_exists_once_scanned_and_succeeds_when_the_buyer_pays() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let request = precreate_request(&sim, 1_230);
    let precreated = client.precreate(&request).await.unwrap();
    assert_eq!(precreated.out_trade_no, request.out_trade_no);
    assert!(precreated.qr_code.starts_with(&format!("{}/buyer/", sim.base_url)), "{}", precreated.qr_code);
    assert_eq!(client.query(&request.out_trade_no).await.unwrap(), None);

    sim.buyer(&precreated.qr_code, None).await;
    let waiting = client.query(&request.out_trade_no).await.unwrap().unwrap();
    assert_eq!((waiting.status, waiting.total_amount), (TradeStatus::WaitBuyerPay, cny(1_230)));

    assert_eq!(sim.buyer(&precreated.qr_code, Some("pay")).await, 200);
    let paid = client.query(&request.out_trade_no).await.unwrap().unwrap();
    assert_eq!((paid.status, paid.buyer_pay_amount), (TradeStatus::Success, Some(cny(1_230))));
    assert!(paid.paid_at.is_some());

    sim.acknowledged_notifications(1).await;
    let notification = client.verify_notification(&sim.receiver.bodies()[0]).unwrap();
    assert_eq!(notification.out_trade_no, request.out_trade_no);
    assert_eq!(notification.trade_no, paid.trade_no);
    assert_eq!(notification.app_id, sim.credentials.app_id);
    assert_eq!((notification.trade_status, notification.total_amount), (TradeStatus::Success, cny(1_230)));
}

#[tokio::test]
async fn a_declined_qr_trade_closes_and_an_unscanned_one_cannot_be_closed_but_can_be_cancelled() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let declined = precreate_request(&sim, 500);
    let precreated = client.precreate(&declined).await.unwrap();
    assert_eq!(sim.buyer(&precreated.qr_code, Some("decline")).await, 200);
    assert_eq!(client.query(&declined.out_trade_no).await.unwrap().unwrap().status, TradeStatus::Closed);

    let unscanned = precreate_request(&sim, 500);
    client.precreate(&unscanned).await.unwrap();
    assert_eq!(client.close(&unscanned.out_trade_no).await.unwrap(), CloseOutcome::NotFound);
    assert_eq!(client.cancel(&unscanned.out_trade_no).await.unwrap(), CancelOutcome::Closed);
}

#[tokio::test]
async fn each_test_payment_code_has_its_documented_outcome() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let PayOutcome::Paid(trade) = client.pay(&pay_request(&sim, CODE_PAID)).await.unwrap() else { panic!() };
    assert_eq!((trade.status, trade.total_amount), (TradeStatus::Success, cny(1_230)));
    for (code, sub_code) in
        [(CODE_BALANCE_NOT_ENOUGH, "ACQ.BUYER_BALANCE_NOT_ENOUGH"), (CODE_INVALID, "ACQ.PAYMENT_AUTH_CODE_INVALID")]
    {
        match client.pay(&pay_request(&sim, code)).await.unwrap() {
            PayOutcome::Failed { sub_code: got, .. } => assert_eq!(got, sub_code),
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_paying_code_succeeds_after_queries_and_a_never_paying_one_is_cancelled() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let later = pay_request(&sim, CODE_PAYING_THEN_PAID);
    assert!(matches!(client.pay(&later).await.unwrap(), PayOutcome::UserPaying { .. }));
    for _ in 1..QUERIES_UNTIL_PAID {
        assert_eq!(client.query(&later.out_trade_no).await.unwrap().unwrap().status, TradeStatus::WaitBuyerPay);
    }
    assert_eq!(client.query(&later.out_trade_no).await.unwrap().unwrap().status, TradeStatus::Success);
    sim.acknowledged_notifications(1).await;

    let never = pay_request(&sim, CODE_PAYING_FOREVER);
    assert!(matches!(client.pay(&never).await.unwrap(), PayOutcome::UserPaying { .. }));
    assert_eq!(client.query(&never.out_trade_no).await.unwrap().unwrap().status, TradeStatus::WaitBuyerPay);
    assert_eq!(client.cancel(&never.out_trade_no).await.unwrap(), CancelOutcome::Closed);
    assert_eq!(client.query(&never.out_trade_no).await.unwrap().unwrap().status, TradeStatus::Closed);
    assert_eq!(client.cancel(&reference("none")).await.unwrap(), CancelOutcome::NotFound);
}

#[tokio::test]
async fn paying_a_paid_trade_again_is_refused_with_trade_has_success() {
    let sim = AlipaySim::start().await;
    let out_trade_no = paid_trade(&sim).await;
    let again = BarcodePayRequest { out_trade_no, ..pay_request(&sim, CODE_PAID) };
    match sim.client().pay(&again).await.unwrap() {
        PayOutcome::Failed { sub_code, .. } => assert_eq!(sub_code, "ACQ.TRADE_HAS_SUCCESS"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refunds_are_idempotent_by_out_request_no_bounded_by_the_total_and_a_full_one_closes_the_trade() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let out_trade_no = paid_trade(&sim).await;
    let refund = |out_request_no: &str, minor| RefundRequest {
        out_trade_no: out_trade_no.clone(),
        out_request_no: out_request_no.to_owned(),
        amount: cny(minor),
        reason: Some("returned".to_owned()),
    };
    let first = client.refund(&refund("r1", 230)).await.unwrap();
    assert_eq!((first.refund_fee_total, first.fund_change), (cny(230), true));
    let repeated = client.refund(&refund("r1", 230)).await.unwrap();
    assert_eq!((repeated.refund_fee_total, repeated.fund_change), (cny(230), false));
    let too_much = client.refund(&refund("r2", 1_001)).await.unwrap_err();
    assert_eq!(too_much.code(), Some("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"));
    assert!(!too_much.is_transient());

    let record = client.refund_query(&out_trade_no, "r1").await.unwrap().unwrap();
    assert_eq!(record.refund_amount, cny(230));
    assert_eq!(client.refund_query(&out_trade_no, "r2").await.unwrap(), None);

    let rest = client.refund(&refund("r3", 1_000)).await.unwrap();
    assert_eq!(rest.refund_fee_total, cny(1_230));
    assert_eq!(client.query(&out_trade_no).await.unwrap().unwrap().status, TradeStatus::Closed);
    let sent = sim.acknowledged_notifications(2).await;
    let closed = sim.client().verify_notification(sent[1].body.as_bytes()).unwrap();
    assert_eq!((closed.trade_status, closed.refund_fee_total), (TradeStatus::Closed, Some(cny(1_230))));
    assert_eq!(closed.out_biz_no.as_deref(), Some("r3"));
}

#[tokio::test]
async fn closing_a_paid_trade_is_refused_and_cancelling_it_refunds_it() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let out_trade_no = paid_trade(&sim).await;
    let refused = client.close(&out_trade_no).await.unwrap_err();
    assert!(matches!(&refused, ChannelError::Rejected { code, .. } if code == "ACQ.TRADE_STATUS_ERROR"), "{refused:?}");
    assert_eq!(client.close(&reference("none")).await.unwrap(), CloseOutcome::NotFound);
    assert_eq!(client.cancel(&out_trade_no).await.unwrap(), CancelOutcome::Refunded);
    assert_eq!(client.query(&out_trade_no).await.unwrap().unwrap().status, TradeStatus::Closed);
}

#[tokio::test]
async fn a_finished_trade_is_notified_and_can_no_longer_be_refunded() {
    let sim = AlipaySim::start().await;
    let client = sim.client();
    let request = pay_request(&sim, CODE_PAID);
    let PayOutcome::Paid(trade) = client.pay(&request).await.unwrap() else { panic!() };
    sim.control(&trade.trade_no, "finish").await;
    assert_eq!(client.query(&request.out_trade_no).await.unwrap().unwrap().status, TradeStatus::Finished);
    let refund = RefundRequest {
        out_trade_no: request.out_trade_no.clone(),
        out_request_no: "r1".to_owned(),
        amount: cny(100),
        reason: None,
    };
    assert_eq!(client.refund(&refund).await.unwrap_err().code(), Some("ACQ.TRADE_HAS_FINISHED"));
    let sent = sim.acknowledged_notifications(2).await;
    let finished = client.verify_notification(sent[1].body.as_bytes()).unwrap();
    assert_eq!((finished.trade_status, finished.trade_no), (TradeStatus::Finished, trade.trade_no));
}
