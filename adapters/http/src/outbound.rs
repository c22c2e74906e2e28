//! The HTTP client side: outbound webhook deliveries (API.md §10) over reqwest, with no
//! redirects followed and names that resolve to private addresses refused unless allowed,
//! so a subscription cannot reach into Moon's own network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moon_domain::is_private;
use moon_domain::ports::DeliveryTransport;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long one delivery may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves names, keeping only public addresses unless private ones are allowed.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || !is_private(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// Deliveries over HTTP(S). The client (and its TLS stack) is built at the first delivery:
/// a server with no subscriptions never pays for it, in start-up time or resident memory.
pub struct HttpTransport {
    client: std::sync::OnceLock<reqwest::Client>,
    allow_private: bool,
}

impl HttpTransport {
    #[must_use]
    pub fn new(allow_private: bool) -> Self {
        Self {
            client: std::sync::OnceLock::new(),
            allow_private,
        }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PublicOnly {
                allow_private: self.allow_private,
            }))
            .pool_max_idle_per_host(4)
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        // Two first deliveries at once may both build one; the first stored is kept.
        Ok(self.client.get_or_init(|| built))
    }
}

#[async_trait]
impl DeliveryTransport for HttpTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        // An address in the URL is not resolved: check it here.
        if let Some(host) = parsed.host_str() {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>()
                && is_private(ip)
                && !self.allow_private
            {
                return Err(format!("{ip} is a private address"));
            }
        }
        let mut request = self.client()?.post(parsed).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                message = format!("{message}: {inner}");
                source = inner.source();
            }
            message
        })?;
        Ok(response.status().as_u16())
    }
}
