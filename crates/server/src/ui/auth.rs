//! The login page and logging out. Signing in is the JSON API's `sign_in` (throttled per
//! account and address, the same refusals); the page sets the session cookie and the cookie
//! of the CSRF secret its forms carry. The login form itself is protected by a double-submit
//! secret: a cookie set with the form and a hidden field that must match it.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{CSRF_COOKIE, Page, PageResult, Viewer};
use crate::auth::new_secret;
use crate::extract::SESSION_COOKIE;
use crate::routes::session::{LoginRequest, sign_in};
use crate::state::AppState;

const LOGIN_COOKIE: &str = "registrar_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    secret: String,
    tenant: String,
    username: String,
    problem: Option<String>,
}

fn login_page(
    state: &AppState,
    tenant: String,
    username: String,
    problem: Option<String>,
) -> Response {
    let secret = new_secret();
    let mut r = Page::render(&LoginPage {
        secret: secret.clone(),
        tenant,
        username,
        problem,
    });
    if let Ok(v) = crate::routes::session::cookie(state, LOGIN_COOKIE, &secret) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn form(State(state): State<AppState>) -> Response {
    login_page(&state, String::new(), String::new(), None)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    secret: String,
    tenant: String,
    username: String,
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let presented = crate::extract::cookie(&headers, LOGIN_COOKIE);
    if presented != Some(form.secret.as_str()) {
        let why = "this login form is stale or was not sent from Registrar: try again".to_owned();
        return login_page(&state, form.tenant, form.username, Some(why));
    }
    let request = LoginRequest {
        tenant: form.tenant.clone(),
        username: form.username.clone(),
        password: form.password,
        app: false,
    };
    match sign_in(&state, &request, peer).await {
        Ok(signed) => {
            let mut r = Redirect::to("/people").into_response();
            for (name, value) in [
                (SESSION_COOKIE, &signed.secret),
                (CSRF_COOKIE, &signed.csrf),
            ] {
                if let Ok(v) = crate::routes::session::cookie(&state, name, value) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Err(e) => login_page(&state, form.tenant, form.username, Some(e.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    crate::routes::session::sign_out(&state, &viewer.member)
        .await
        .map_err(super::fail)?;
    let mut r = Redirect::to("/login").into_response();
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        let clear = format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        if let Ok(v) = clear.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}
