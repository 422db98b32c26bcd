//! `/__sim/*`: control endpoints for tests and demos (no token needed).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::json_response;
use crate::state::{Faults, SimState};
use crate::util::{ApiError, ApiResult};

pub(super) fn routes() -> Router<SimState> {
    Router::new()
        .route("/__sim/export", get(export))
        .route("/__sim/stats", get(stats))
        .route("/__sim/stats/reset", post(reset_stats))
        .route("/__sim/faults", get(get_faults).post(set_faults).delete(clear_faults))
        .route("/__sim/ratelimits/reset", post(reset_rate_limits))
}

async fn export(State(st): State<SimState>) -> Response {
    let st2 = st.clone();
    let body =
        tokio::task::spawn_blocking(move || st2.export().to_string()).await.unwrap_or_default();
    json_response(StatusCode::OK, body)
}

async fn stats(State(st): State<SimState>) -> Response {
    Json(st.stats()).into_response()
}

async fn reset_stats(State(st): State<SimState>) -> StatusCode {
    st.reset_stats();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(st): State<SimState>) -> Response {
    Json(st.faults()).into_response()
}

async fn set_faults(State(st): State<SimState>, body: Bytes) -> ApiResult<Response> {
    let f: Faults = serde_json::from_slice(&body).map_err(|e| ApiError::bad_body(e.to_string()))?;
    for r in &f.rules {
        if let Some(a) = r.action.as_deref()
            && !matches!(
                a,
                "status"
                    | "reset"
                    | "slow"
                    | "emptyWithNext"
                    | "empty"
                    | "noLink"
                    | "cycle"
                    | "hide"
                    | "vanish"
                    | "redirect"
                    | "hold"
            )
        {
            return Err(ApiError::validation("action", format!("unknown action '{a}'")));
        }
    }
    st.set_faults(f);
    Ok(Json(st.faults()).into_response())
}

async fn clear_faults(State(st): State<SimState>) -> StatusCode {
    st.set_faults(Faults::default());
    StatusCode::NO_CONTENT
}

async fn reset_rate_limits(State(st): State<SimState>) -> StatusCode {
    st.reset_rate_limits();
    StatusCode::NO_CONTENT
}
