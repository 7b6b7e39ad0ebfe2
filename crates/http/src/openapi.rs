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
        crate::routes::api_keys_list,
        crate::routes::api_keys_retrieve,
        crate::routes::api_keys_revoke,
    ),
    components(schemas(AccountBody, ApiKeyBody, ApiKeyList, HealthBody, ErrorEnvelope, ErrorBody)),
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
