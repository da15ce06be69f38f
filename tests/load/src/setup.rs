//! Provisioning a run through the public API, as a vendor and the
//! municipalities would: municipalities with tokens, the bundled plugins,
//! the register, a card per resident, and the kiosks.

use std::sync::Arc;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::client::{Body, Client};
use crate::population::Population;

/// Everything a run needs to call the server.
pub struct World {
    pub client: Client,
    pub population: Population,
    /// Municipality token per town.
    pub town_tokens: Vec<String>,
    pub kiosk_tokens: Vec<String>,
}

/// Rows per import request.
const IMPORT_BATCH: usize = 500;
/// Concurrent setup requests (card issuance).
const SETUP_CONCURRENCY: usize = 16;

async fn expect(
    client: &Client,
    method: Method,
    path: &str,
    token: &str,
    body: Body,
    status: u16,
) -> anyhow::Result<Value> {
    let answer = client
        .call(method, path, Some(token), Some(body), &[])
        .await
        .map_err(|t| anyhow::anyhow!("{path}: no answer ({})", t.0))?;
    if answer.status != status {
        bail!("{path}: expected {status}, got {}: {}", answer.status, String::from_utf8_lossy(&answer.body));
    }
    answer.json().with_context(|| format!("{path}: the answer is not JSON"))
}

pub async fn provision(
    client: Client,
    admin_token: &str,
    mut population: Population,
    kiosks: usize,
    plugins: &[Vec<u8>],
) -> anyhow::Result<World> {
    let mut town_tokens = Vec::new();
    for town in &population.towns {
        let body = json!({
            "code": town.code, "name": town.name, "mayor_title": format!("{}長", town.name), "mayor_name": town.mayor,
        });
        expect(&client, Method::POST, "/v1/municipalities", admin_token, Body::Json(body), 201).await?;
        let path = format!("/v1/municipalities/{}/tokens", town.code);
        let token = expect(&client, Method::POST, &path, admin_token, Body::Json(json!({ "label": "kofu-load" })), 201)
            .await?["token"]
            .as_str()
            .context("token")?
            .to_owned();
        for plugin in plugins {
            activate(&client, &town.code, &token, plugin.clone()).await?;
        }
        town_tokens.push(token);
    }
    for (index, (town, token)) in population.towns.iter().zip(&town_tokens).enumerate() {
        let rows: Vec<Value> = population.register_rows(index).into_iter().cloned().collect();
        for batch in rows.chunks(IMPORT_BATCH) {
            let path = format!("/v1/municipalities/{}/residents", town.code);
            expect(&client, Method::POST, &path, token, Body::Json(json!({ "residents": batch })), 200).await?;
        }
    }
    issue_cards(&client, &mut population, &town_tokens).await?;
    let mut kiosk_tokens = Vec::with_capacity(kiosks);
    for n in 0..kiosks {
        let body = Body::Json(json!({ "label": format!("kofu-load kiosk {n}") }));
        let kiosk = expect(&client, Method::POST, "/v1/kiosks", admin_token, body, 201).await?;
        kiosk_tokens.push(kiosk["token"].as_str().context("kiosk token")?.to_owned());
    }
    Ok(World { client, population, town_tokens, kiosk_tokens })
}

/// Upload a component and activate it; returns its content hash and kind.
pub async fn activate(
    client: &Client,
    code: &str,
    token: &str,
    component: Vec<u8>,
) -> anyhow::Result<(String, String)> {
    let path = format!("/v1/municipalities/{code}/plugins");
    let answer = client
        .call(Method::POST, &path, Some(token), Some(Body::Wasm(component)), &[])
        .await
        .map_err(|t| anyhow::anyhow!("upload: no answer ({})", t.0))?;
    if !matches!(answer.status, 200 | 201) {
        bail!("upload to {code}: {} {}", answer.status, String::from_utf8_lossy(&answer.body));
    }
    let uploaded = answer.json().context("upload: the answer is not JSON")?;
    let hash = uploaded["hash"].as_str().context("upload: no hash")?.to_owned();
    let kind = uploaded["kind"].as_str().context("upload: no kind")?.to_owned();
    let path = format!("/v1/municipalities/{code}/plugins/{hash}/activate");
    // Bundled plugins, activated as shipped: the load test measures
    // issuance, not the dry-run rule.
    expect(client, Method::POST, &path, token, Body::Json(json!({ "override_reason": "load test setup" })), 200)
        .await?;
    Ok((hash, kind))
}

async fn issue_cards(client: &Client, population: &mut Population, town_tokens: &[String]) -> anyhow::Result<()> {
    let requests: Vec<(usize, String, String, String, String)> = population
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (i, population.towns[p.town].code.clone(), town_tokens[p.town].clone(), p.id.clone(), p.pin.clone())
        })
        .collect();
    let requests = Arc::new(tokio::sync::Mutex::new(requests.into_iter()));
    let mut workers = JoinSet::new();
    for _ in 0..SETUP_CONCURRENCY {
        let (client, requests) = (client.clone(), Arc::clone(&requests));
        workers.spawn(async move {
            let mut cards = Vec::new();
            loop {
                let next = requests.lock().await.next();
                let Some((index, code, token, resident, pin)) = next else { return Ok::<_, anyhow::Error>(cards) };
                let path = format!("/v1/municipalities/{code}/cards");
                let body = Body::Json(json!({ "resident_id": resident, "pin": pin }));
                let card = expect(&client, Method::POST, &path, &token, body, 201).await?;
                cards.push((index, card["id"].as_str().context("card id")?.to_owned()));
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        for (index, card) in done.context("a card worker panicked")?? {
            population.people[index].card = card;
        }
    }
    Ok(())
}
