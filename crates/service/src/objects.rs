//! The API's JSON shape of the objects events carry. Defined here, not in the HTTP layer,
//! because an event snapshots its object in the same transaction as the change; the HTTP
//! layer answers with the same function, so a response and its event never disagree.

use payrail_domain::Problem;
use payrail_domain::payment_record::{NextAction, Payment};
use payrail_domain::refund::Refund;
use serde_json::{Value, json};

pub fn payment_object(payment: &Payment) -> Value {
    let amounts = payment.amounts;
    json!({
        "id": payment.id.as_str(),
        "object": "payment",
        "status": payment.status.as_str(),
        "amount": amounts.amount_minor(),
        "amount_capturable": amounts.capturable_minor(),
        "amount_captured": amounts.captured_minor(),
        "amount_refunded": amounts.refunded_minor(),
        "currency": payment.currency.code(),
        "merchant_order_no": payment.merchant_order_no.as_str(),
        "description": payment.description.as_ref().map(|d| d.as_str()),
        "metadata": payment.metadata.as_map(),
        "capture_method": payment.capture_method.as_str(),
        "livemode": payment.livemode,
        "created": payment.created.unix_seconds(),
        "expires_at": payment.expires_at.unix_seconds(),
        "return_url": payment.return_url.as_ref().map(|u| u.as_str()),
        "notify_url": payment.notify_url.as_ref().map(|u| u.as_str()),
        "cancellation_reason": payment.cancellation_reason.map(|r| r.as_str()),
        "channel_account": payment.channel_account_id.as_ref().map(|id| id.as_str()),
        "late_succeeded_at": payment.late_succeeded_at.map(|at| at.unix_seconds()),
        "amount_paid_by_payer": payment.amount_paid_by_payer,
        "last_payment_error": payment.last_error.as_ref().map(|e| json!({
            "code": e.code, "decline_code": e.decline_code, "message": e.message,
        })),
        "payment_method": payment_method_object(payment),
        "next_action": payment.next_action.as_ref().map(next_action_object),
    })
}

fn payment_method_object(payment: &Payment) -> Option<Value> {
    if let Some(card) = &payment.card {
        return Some(json!({
            "type": "card",
            "card": {
                "brand": card.summary.brand.as_str(),
                "last4": card.summary.last4,
                "exp_month": card.summary.exp_month,
                "exp_year": card.summary.exp_year,
            },
        }));
    }
    payment.payment_method_type.map(|kind| json!({ "type": kind.as_str() }))
}

fn next_action_object(action: &NextAction) -> Value {
    match action {
        NextAction::RedirectToUrl { url } => json!({ "type": action.type_name(), "redirect_to_url": { "url": url } }),
        NextAction::WechatJsapi(parameters) => {
            let fields = parameters.wechat_fields().into_iter().map(|(name, value)| (name.to_owned(), json!(value)));
            json!({ "type": action.type_name(), "wechat_jsapi": Value::Object(fields.collect()) })
        }
        NextAction::AlipayDisplayQrCode { data, image_url_svg } => json!({
            "type": action.type_name(),
            "alipay_display_qr_code": { "data": data, "image_url_svg": image_url_svg },
        }),
        NextAction::WechatDisplayQrCode { data, image_url_svg } => json!({
            "type": action.type_name(),
            "wechat_display_qr_code": { "data": data, "image_url_svg": image_url_svg },
        }),
    }
}

pub fn refund_object(refund: &Refund) -> Value {
    json!({
        "id": refund.id.as_str(),
        "object": "refund",
        "payment": refund.payment_id.as_str(),
        "amount": refund.amount_minor,
        "currency": refund.currency.code(),
        "status": refund.status.as_str(),
        "reason": refund.reason.map(|r| r.as_str()),
        "failure_reason": refund.failure_code,
        "livemode": refund.livemode,
        "created": refund.created.unix_seconds(),
    })
}

/// An event as the API lists it and as a webhook delivery carries it.
pub fn event_object(id: &str, event_type: &str, created_ms: i64, livemode: bool, data: &str) -> Value {
    let object: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    json!({
        "id": id, "object": "event", "type": event_type, "created": created_ms.div_euclid(1000),
        "livemode": livemode, "data": { "object": object },
    })
}

/// The error envelope every error response carries: `{"error": {type, code, message,
/// param, request_id}}`. Here, beside the objects, because a request's recorded answer
/// (idempotency) may be an error committed with its effects, such as a decline.
pub fn error_object(problem: &Problem, request_id: &str) -> Value {
    json!({
        "error": {
            "type": problem.error_type.as_str(),
            "code": problem.code,
            "message": problem.message,
            "param": problem.param,
            "request_id": request_id,
        }
    })
}
