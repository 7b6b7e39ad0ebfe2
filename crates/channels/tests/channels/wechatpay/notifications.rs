//! The simulator's notifications checked by the client's verifier: genuine ones read,
//! tampered, stale and misaddressed ones refused, and refused deliveries retried.

use payrail_channels::wechatpay::{
    NotificationRefused, RefundRequest, RefundStatus, SignatureRefused, TradeState, WechatPayNotificationEvent,
};

use super::helpers::{Receiver, WechatPaySandbox, client_with, fen};

#[tokio::test]
async fn payment_and_refund_notifications_verify_decrypt_and_read() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let code_url = client.native(&sandbox.order("PAY_notify_001")).await.unwrap();
    sandbox.buyer(&code_url, "pay").await;
    let received = sandbox.receiver.wait_for(1).await;
    let (headers, body) = &received[0];
    let notification = client.verify_notification(headers, body).unwrap();
    assert_eq!(notification.event_type, "TRANSACTION.SUCCESS");
    let WechatPayNotificationEvent::Transaction(transaction) = &notification.event else { panic!("{notification:?}") };
    assert_eq!(transaction.out_trade_no, "PAY_notify_001");
    assert_eq!((transaction.trade_state, transaction.amount_total_minor), (TradeState::Success, Some(1234)));
    assert_eq!(transaction.mchid, sandbox.credentials.mchid);

    let refund = RefundRequest {
        out_trade_no: "PAY_notify_001".to_owned(),
        out_refund_no: "REF_notify_001".to_owned(),
        reason: None,
        refund: fen(1234),
        total: fen(1234),
        notify_url: Some(sandbox.receiver.url.clone()),
    };
    client.refund(&refund).await.unwrap();
    let received = sandbox.receiver.wait_for(2).await;
    let notification = client.verify_notification(&received[1].0, &received[1].1).unwrap();
    let WechatPayNotificationEvent::Refund(refund) = notification.event else { panic!("not a refund") };
    assert_eq!((refund.out_refund_no.as_str(), refund.refund_status), ("REF_notify_001", RefundStatus::Success));
    assert_eq!(refund.refund_minor, 1234);
}

#[tokio::test]
async fn tampered_stale_and_other_merchants_notifications_are_refused() {
    let sandbox = WechatPaySandbox::start().await;
    let client = sandbox.client();
    let code_url = client.native(&sandbox.order("PAY_forged_001")).await.unwrap();
    sandbox.buyer(&code_url, "pay").await;
    let (headers, body) = sandbox.receiver.wait_for(1).await.remove(0);

    let mut tampered = body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    assert_eq!(
        client.verify_notification(&headers, &tampered),
        Err(NotificationRefused::Signature(SignatureRefused::Forged))
    );
    let late = client_with(&sandbox.credentials, |config| config, 301_000);
    assert_eq!(late.verify_notification(&headers, &body), Err(NotificationRefused::Signature(SignatureRefused::Stale)));
    let mut unsigned = headers.clone();
    unsigned.remove("wechatpay-signature");
    assert!(matches!(client.verify_notification(&unsigned, &body), Err(NotificationRefused::Signature(_))));

    let other = sandbox.simulator.add_merchant().unwrap();
    let other_client = client_with(&other, |config| config, 0);
    assert_eq!(other_client.verify_notification(&headers, &body), Err(NotificationRefused::Decrypt));
    let same_key_other_mchid = client_with(
        &sandbox.credentials,
        |config| payrail_channels::wechatpay::WechatPayConfig { mchid: other.mchid.clone(), ..config },
        0,
    );
    assert_eq!(same_key_other_mchid.verify_notification(&headers, &body), Err(NotificationRefused::WrongMerchant));
}

#[tokio::test]
async fn a_refused_notification_is_sent_again_on_the_compressed_schedule_until_acknowledged() {
    let sandbox = WechatPaySandbox::start().await;
    let receiver = Receiver::start(2).await;
    let mut order = sandbox.order("PAY_retry_0001");
    order.notify_url = receiver.url.clone();
    let code_url = sandbox.client().native(&order).await.unwrap();
    sandbox.buyer(&code_url, "pay").await;
    let received = receiver.wait_for(3).await;
    assert_eq!(received[0].1, received[2].1, "every attempt carries the same body");
    for _ in 0..100 {
        if sandbox.simulator.sent_notifications().first().is_some_and(|sent| sent.delivered) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let sent = sandbox.simulator.sent_notifications();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].attempts, sent[0].last_status, sent[0].delivered), (3, Some(204), true));
    assert_eq!(sent[0].event_type, "TRANSACTION.SUCCESS");
}
