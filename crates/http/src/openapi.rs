//! The OpenAPI 3.1 document, generated from the handlers and DTOs, and the docs UI, whose
//! assets are compiled into the binary so it works with no network.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;
use crate::routes::{AccountBody, ApiKeyBody, ApiKeyList, HealthBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Payrail API",
        description = "Accept payments through one API. Authenticate with `Authorization: Bearer sk_test_…`. \
Errors share one envelope: `{\"error\":{\"type\",\"code\",\"message\",\"param\",\"request_id\"}}`.",
        license(name = "Apache-2.0"),
    ),
    paths(
        crate::routes::healthz,
        crate::routes::readyz,
        crate::routes::account_retrieve,
        crate::routes::balance_retrieve,
        crate::routes::balance_transactions_list,
        crate::routes::api_keys_list,
        crate::routes::api_keys_retrieve,
        crate::routes::api_keys_revoke,
        crate::routes::payments_create,
        crate::routes::payments_list,
        crate::routes::payments_retrieve,
        crate::routes::payments_confirm,
        crate::routes::payments_capture,
        crate::routes::payments_cancel,
        crate::routes::qr_svg_image,
        crate::routes::events_list,
        crate::routes::refunds_create,
        crate::routes::refunds_retrieve,
        crate::routes::refunds_list,
        crate::routes::notify_receive,
        crate::routes::events_deliveries,
        crate::routes::events_resend,
        crate::routes::webhooks_create,
        crate::routes::webhooks_list,
        crate::routes::webhooks_retrieve,
        crate::routes::webhooks_update,
        crate::routes::webhooks_delete,
        crate::routes::webhooks_disable,
        crate::routes::webhooks_enable,
        crate::routes::webhooks_rotate_secret,
        crate::routes::webhooks_notification_secret,
        crate::routes::webhooks_rotate_notification_secret,
        crate::routes::channel_accounts_create,
        crate::routes::channel_accounts_list,
        crate::routes::channel_accounts_retrieve,
        crate::routes::channel_accounts_update,
        crate::routes::channel_accounts_delete,
        crate::routes::channel_routes_set,
        crate::routes::channel_routes_list,
        crate::routes::channel_routes_delete,
    ),
    components(schemas(
        AccountBody, ApiKeyBody, ApiKeyList, HealthBody, ErrorEnvelope, ErrorBody, CreatePayment, PaymentBody,
        PaymentMethodInput, CardInputBody, CreateRefund, RefundBody,
    )),
    modifiers(&ApiKeyAuth),
)]
struct ApiDoc;

/// The error envelope every non-2xx response carries.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "describes the envelope for the document; error.rs writes it")]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "describes the envelope for the document; error.rs writes it")]
struct ErrorBody {
    /// One of `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `idempotency_error`, `rate_limit_error`, `card_error`, `api_error`.
    r#type: String,
    /// A stable snake_case code, such as `api_key_invalid`.
    code: String,
    message: String,
    /// The parameter at fault, when one is.
    param: Option<String>,
    request_id: String,
}

/// `POST /v1/payments`. Amounts are integers in the currency's minor unit.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the request; routes/payments.rs reads it field by field")]
pub(crate) struct CreatePayment {
    /// 1 to 10^12 minor units.
    amount: i64,
    /// ISO 4217, any case.
    currency: String,
    /// Unique per merchant and mode; 1 to 64 of `A-Z a-z 0-9 _ - . :`.
    merchant_order_no: String,
    description: Option<String>,
    /// At most 50 keys of up to 40 characters; values up to 500 characters.
    metadata: Option<std::collections::BTreeMap<String, String>>,
    /// `automatic` (default) or `manual`.
    capture_method: Option<String>,
    /// Unix seconds; default two hours from now, at most 30 days.
    expires_at: Option<i64>,
    return_url: Option<String>,
    notify_url: Option<String>,
    payment_method: Option<PaymentMethodInput>,
    /// Create and charge in one call (needed when a card is given).
    confirm: Option<bool>,
    /// One of the merchant's channel accounts (`ca_…`) to charge through, instead of its routes.
    channel_account: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the request")]
pub(crate) struct PaymentMethodInput {
    /// `card`, `alipay_qr` (CNY only; the payer scans a QR code with Alipay),
    /// `alipay_barcode` (CNY only; the cashier scanned the payer's payment code),
    /// `alipay_page` / `alipay_wap` (CNY only, needs `return_url`; Alipay's desktop or mobile
    /// cashier), `wechat_native` (CNY only; the payer scans a QR code with WeChat),
    /// `wechat_jsapi` (inside WeChat), `wechat_h5` (a mobile browser),
    /// `wechat_barcode` (CNY only; the cashier scanned the payer's WeChat payment code) or
    /// `auto_barcode` (a payment code of either wallet, routed by its digits).
    r#type: String,
    /// With `type: card` only.
    card: Option<CardInputBody>,
    /// With `type: alipay_barcode` only.
    alipay_barcode: Option<AlipayBarcodeBody>,
    /// With `type: wechat_barcode` only.
    wechat_barcode: Option<WechatBarcodeBody>,
    /// With `type: auto_barcode` only: `auth_code`, 18 digits starting 10–15 (WeChat Pay)
    /// or 16–24 digits starting 25–30 (Alipay); any other is 402 `payment_code_invalid`.
    auto_barcode: Option<WechatBarcodeBody>,
    /// With `type: wechat_jsapi` only: `{"openid"}`, the payer under the merchant's appid.
    wechat_jsapi: Option<std::collections::BTreeMap<String, String>>,
    /// With `type: wechat_h5` only: `{"payer_client_ip"}`, the payer's IPv4 or IPv6 address.
    wechat_h5: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the request")]
pub(crate) struct WechatBarcodeBody {
    /// The payer's WeChat payment code as scanned: 18 digits starting 10 to 15. Never
    /// stored or shown.
    auth_code: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the request")]
pub(crate) struct AlipayBarcodeBody {
    /// The payer's payment code as scanned: 16 to 24 digits. Never stored or shown.
    auth_code: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the request")]
pub(crate) struct CardInputBody {
    number: String,
    exp_month: i64,
    exp_year: i64,
    cvc: String,
}

/// A payment, as every payment endpoint answers and every payment event carries.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the response; payrail_service::payment_object writes it")]
pub(crate) struct PaymentBody {
    id: String,
    object: String,
    /// `requires_payment_method`, `requires_confirmation`, `requires_action`, `processing`,
    /// `requires_capture`, `succeeded` or `canceled`.
    status: String,
    amount: i64,
    amount_capturable: i64,
    amount_captured: i64,
    amount_refunded: i64,
    currency: String,
    merchant_order_no: String,
    livemode: bool,
    created: i64,
    capture_method: String,
    /// `code`, `decline_code` and `message` of the last failed attempt.
    last_payment_error: Option<std::collections::BTreeMap<String, String>>,
    /// For cards: `{"type":"card","card":{"brand","last4","exp_month","exp_year"}}`; never the
    /// number. For the wallets: `{"type":"alipay_qr"}`, `{"type":"wechat_native"}`, ….
    payment_method: Option<std::collections::BTreeMap<String, String>>,
    /// While `requires_action`: `{"type":"redirect_to_url","redirect_to_url":{"url"}}` (3-D
    /// Secure, Alipay's cashier, WeChat's `h5_url`), `{"type":"alipay_display_qr_code",
    /// "alipay_display_qr_code":{"data","image_url_svg"}}` or the same with
    /// `wechat_display_qr_code` (show `data` as a QR code, or the image at `image_url_svg`),
    /// or `{"type":"wechat_jsapi","wechat_jsapi":{"appId","timeStamp","nonceStr","package",
    /// "signType","paySign"}}` for `WeixinJSBridge`.
    next_action: Option<std::collections::BTreeMap<String, String>>,
    /// The channel account chosen on creation (`ca_…`), if any.
    channel_account: Option<String>,
    /// Unix seconds at which a wallet reported the payer paid after Payrail had given the
    /// payment up (it then succeeded late; see `payment.late_success`).
    late_succeeded_at: Option<i64>,
    /// What the payer paid from their own funds, when a wallet reported it; coupons or
    /// points paid the rest of `amount`.
    amount_paid_by_payer: Option<i64>,
}

/// `POST /v1/refunds`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the request; routes/refunds.rs reads it field by field")]
pub(crate) struct CreateRefund {
    /// The payment to refund, `pay_…`.
    payment: String,
    /// Minor units; default: everything not yet refunded or pending.
    amount: Option<i64>,
    /// `duplicate`, `fraudulent` or `requested_by_customer` (`late_success` is Payrail's own).
    reason: Option<String>,
}

/// A refund.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the response; payrail_service::refund_object writes it")]
pub(crate) struct RefundBody {
    id: String,
    object: String,
    payment: String,
    amount: i64,
    currency: String,
    /// `pending`, `succeeded` or `failed`.
    status: String,
    reason: Option<String>,
    failure_reason: Option<String>,
    livemode: bool,
    created: i64,
}

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "The secret API key, sk_test_… or sk_live_…; HTTP Basic with the key as user name also works.",
            ))
            .build();
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
        }
    }
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}

/// `/openapi.json` and the docs UI at `/docs`.
pub(crate) fn docs_router() -> Router<AppState> {
    SwaggerUi::new("/docs").url("/openapi.json", openapi_document()).into()
}
