//! A payer who pays part with a wallet-funded coupon, on the simulators' buyer pages: the
//! payment succeeds for its whole amount (the ledger books what the merchant receives), and
//! what the payer paid of their own is kept for reconciliation (`amount_paid_by_payer`).

use payrail_sandbox::alipay::COUPON_MINOR;
use payrail_sandbox::wechatpay::COUPON_FEN;
use payrail_testkit::on_each_backend;
use serde_json::Value;

use crate::alipay::{browser, notifications_once_acknowledged, payment_reaches, qr_payment};
use crate::helpers::TestApp;
use crate::wechatpay::{buyer_page, ledger_entries, native_payment};

/// The buyer's page offers the coupon; pressing it pays.
async fn buyer_pays_with_coupon(page_url: &str, offer: &str) {
    let page = browser().get(page_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(offer), "the page offers no coupon:\n{page}");
    let paid = browser().post(format!("{page_url}/pay_with_coupon")).send().await.unwrap();
    assert_eq!(paid.status(), 200);
}

/// Succeeded for its whole 12.30, the payer having paid `payer_paid` of it.
async fn paid_in_part_by_a_coupon(app: &TestApp, payment: &Value, payer_paid: i64) {
    let paid = payment_reaches(app, payment["id"].as_str().unwrap(), "succeeded").await;
    let amounts = (paid["amount_captured"].as_i64(), paid["amount_paid_by_payer"].as_i64());
    assert_eq!(amounts, (Some(1230), Some(payer_paid)), "{paid}");
    assert_eq!(ledger_entries(app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alipay_voucher_pays_part_and_the_payers_share_is_recorded() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_alipay(db).await;
        let payment = qr_payment(&app, "voucher-1").await;
        let page_url = payment["next_action"]["alipay_display_qr_code"]["data"].as_str().unwrap();
        buyer_pays_with_coupon(page_url, "Pay with a ¥1.00 voucher").await;
        paid_in_part_by_a_coupon(&app, &payment, 1230 - COUPON_MINOR).await;
        let sent = notifications_once_acknowledged(&app).await;
        let param = |name: &str| sent[0].params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        assert_eq!((param("buyer_pay_amount"), param("receipt_amount")), (Some("11.30".into()), Some("12.30".into())));
        let vouchers: Value = serde_json::from_str(&param("voucher_detail_list").unwrap()).unwrap();
        assert_eq!((&vouchers[0]["amount"], &vouchers[0]["otherContribute"]), (&"1.00".into(), &"1.00".into()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_pay_coupon_pays_part_and_the_payers_share_is_recorded() {
    on_each_backend(|db| async {
        let app = TestApp::spawn_wechatpay(db).await;
        let payment = native_payment(&app, "coupon-1").await;
        buyer_pays_with_coupon(&buyer_page(&app, &payment), "Pay with a ¥1.00 coupon").await;
        paid_in_part_by_a_coupon(&app, &payment, 1230 - COUPON_FEN).await;
    })
    .await;
}
