//! `GET /qr/{attempt_id}.svg`: the QR code of an Alipay or WeChat Pay attempt, as an SVG image, for a
//! merchant's page to show without drawing one itself.
//!
//! Boundary: no API key, like an image link must be; the attempt id (80 random bits) is
//! what makes the URL unguessable, and the image shows only what the payer's phone reads
//! anyway. It is served while the attempt waits for its payer; afterwards 404.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use payrail_domain::{AttemptId, Problem};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::{ApiError, AppState};

/// The side of the image, in pixels, before the quiet zone.
const IMAGE_PIXELS_MIN: u32 = 240;

/// The QR code of an attempt waiting for its payer, as SVG.
#[utoipa::path(get, path = "/qr/{attempt_id}.svg", tag = "payments",
    params(("attempt_id" = String, Path, description = "att_…, from next_action.alipay_display_qr_code.image_url_svg or next_action.wechat_display_qr_code.image_url_svg")),
    responses(
        (status = 200, description = "the QR code", content_type = "image/svg+xml"),
        (status = 404, description = "no attempt waiting for its payer under this id"),
    ))]
pub(crate) async fn svg_image(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let missing = || Problem::resource_missing("qr_code", "attempt_id");
    let attempt_id = file.strip_suffix(".svg").and_then(|id| AttemptId::parse(id).ok()).ok_or_else(missing)?;
    let content = state.payrail.waiting_qr_code(&attempt_id).await?.ok_or_else(missing)?;
    let code = QrCode::new(content.as_bytes()).map_err(|error| {
        // The channels' QR content is a short URL; one too long for a QR code is its bug or ours.
        tracing::error!(attempt_id = %attempt_id, %error, "the QR content cannot be drawn");
        Problem::internal()
    })?;
    let image = code.render::<svg::Color<'_>>().min_dimensions(IMAGE_PIXELS_MIN, IMAGE_PIXELS_MIN).build();
    let headers = [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, max-age=300")];
    Ok((StatusCode::OK, headers, image).into_response())
}
