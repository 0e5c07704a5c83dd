//! What the CloudWatch Logs and S3 sources share of the AWS SDK: the HTTPS client, the check that
//! credentials resolve, and an SDK error with its causes on one line.

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::config::{ProvideCredentials, SharedHttpClient};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

/// The SDK's default client (hyper 1, proxies from the environment, plain `http://` endpoints such
/// as an emulator's too) with rustls over ring instead of aws-lc, whose C library would be one more
/// to build beside ring.
pub fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// Whether `conf` has a region and credentials that resolve: the problem as a message
/// otherwise, for the caller's error type.
pub async fn check(conf: &SdkConfig) -> Result<(), Unresolved> {
    if conf.region().is_none() {
        return Err(Unresolved::Region);
    }
    let Some(provider) = conf.credentials_provider() else {
        return Err(Unresolved::Credentials("no credentials provider".into()));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(Unresolved::Credentials(error_chain(&e))),
    }
}

/// What [`check`] found missing.
#[derive(Debug)]
pub enum Unresolved {
    Region,
    /// Why no credentials resolved.
    Credentials(String),
}

/// An error and its causes on one line, each said once.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    crate::error::push_causes(&mut out, e.source());
    out
}
