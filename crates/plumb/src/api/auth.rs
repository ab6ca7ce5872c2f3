//! Who a request acts as: its bearer token (a plumb API token, checked by the tokens use case,
//! or, with `[serve.oidc]`, the issuer's JWT, checked by `app::sso`), as a `Context` the use
//! cases take. No token, or a bad one, is 401 with a `WWW-Authenticate` challenge.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::Api;
use crate::api::problem::Problem;
use crate::app::Context;
use crate::app::tokens;
use plumb_core::token::PREFIX as TOKEN_PREFIX;

/// The request's `Context`: the principal its token acts as.
pub struct Caller(pub Context);

impl FromRequestParts<Arc<Api>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api>) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let principal = match (&api.sso, bearer) {
            (Some(sso), Some(jwt)) if !jwt.starts_with(TOKEN_PREFIX) => {
                sso.principal(jwt, &api.config.role_holders()).await.map_err(|r| unauthorized(&r))?
            }
            _ => tokens::authenticate(&api.store, &api.sealer, bearer)
                .await
                .map_err(|err| Problem::from(err).into_response())?
                .map_err(|r| unauthorized(&r))?,
        };
        Ok(Caller(Context { config: api.config.clone(), store: api.store.clone(), principal }))
    }
}

fn unauthorized(refused: &dyn std::fmt::Display) -> Response {
    let mut response = Problem::new(StatusCode::UNAUTHORIZED, refused.to_string()).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}
