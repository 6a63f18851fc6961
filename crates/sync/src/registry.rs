//! Connector kinds by name, and how a connection's settings make one.

use onepane_connector::{ConnectorError, Credentials, Secret, Sink, Source};
use onepane_domain::workspace::Connection;

/// A connector kind Onepane ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// A vendor source driven by a manifest.
    Rest,
    /// Price lists and leads from CSV files.
    Csv,
    /// HubSpot CRM.
    HubSpot,
    /// Salesforce CRM.
    Salesforce,
    /// A signed JSON POST per lead change.
    Webhook,
    /// AWS Partner Central: opportunities, their reviews, AWS referrals.
    AwsPartnerCentral,
}

impl Connector {
    /// Every kind.
    pub const ALL: [Connector; 6] = [
        Connector::Rest,
        Connector::Csv,
        Connector::HubSpot,
        Connector::Salesforce,
        Connector::Webhook,
        Connector::AwsPartnerCentral,
    ];

    /// Its name in a connection (`rest`, `csv`, `hubspot`, `salesforce`,
    /// `webhook`, `aws-partner-central`).
    pub fn name(self) -> &'static str {
        match self {
            Connector::Rest => "rest",
            Connector::Csv => "csv",
            Connector::HubSpot => "hubspot",
            Connector::Salesforce => "salesforce",
            Connector::Webhook => "webhook",
            Connector::AwsPartnerCentral => "aws-partner-central",
        }
    }

    /// The kind named `name`.
    pub fn named(name: &str) -> Result<Self, ConnectorError> {
        Connector::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                ConnectorError::Config(format!(
                    "`{name}` is not a connector (rest, csv, hubspot, salesforce, webhook, aws-partner-central)"
                ))
            })
    }

    /// Whether it is a vendor source (else a CRM sink).
    pub fn is_source(self) -> bool {
        matches!(
            self,
            Connector::Rest | Connector::Csv | Connector::AwsPartnerCentral
        )
    }
}

/// Secrets a sink needs beside its credentials (the webhook's signing secret).
pub type SinkSecrets = Option<Vec<u8>>;

/// Makes sources and sinks from connections.
#[derive(Debug, Default)]
pub struct Registry;

impl Registry {
    /// Checks a connection's kind and settings without running it.
    pub fn check(&self, conn: &Connection) -> Result<(), ConnectorError> {
        let kind = Connector::named(conn.connector.as_str())?;
        match (kind.is_source(), conn.target.vendor_id().is_some()) {
            (true, false) => {
                return Err(ConnectorError::Config(format!(
                    "`{}` is a vendor source: give `vendor-source` with a `vendor_id`",
                    kind.name()
                )));
            }
            (false, true) => {
                return Err(ConnectorError::Config(format!(
                    "`{}` is a CRM sink: give `crm-sink`",
                    kind.name()
                )));
            }
            _ => {}
        }
        if kind.is_source() {
            self.source(conn).map(drop)
        } else if kind == Connector::Webhook {
            self.sink(conn, Some(b"check".to_vec())).map(drop)
        } else {
            self.sink(conn, None).map(drop)
        }
    }

    /// Checks that `credentials` suit the connection: what a rest
    /// manifest declares, and OAuth for the CRMs that need it.
    pub fn check_credentials(
        &self,
        conn: &Connection,
        credentials: &Credentials,
    ) -> Result<(), String> {
        let kind = Connector::named(conn.connector.as_str()).map_err(|e| e.to_string())?;
        match kind {
            Connector::Rest => {
                let source = onepane_connector_rest::RestSource::from_settings(&conn.settings)
                    .map_err(|e| e.to_string())?;
                source.check_credentials(credentials)
            }
            // A HubSpot private app's token is a bearer token.
            Connector::HubSpot
                if !credentials.is_oauth()
                    && !matches!(credentials, Credentials::Bearer { .. }) =>
            {
                Err(format!(
                    "hubspot needs `oauth2_authorization_code` credentials (your app's client id and secret) or a private app's token as `bearer`, got `{}`",
                    credentials.kind()
                ))
            }
            Connector::AwsPartnerCentral
                if !matches!(credentials, Credentials::AwsAccessKey { .. }) =>
            {
                Err(format!(
                    "aws-partner-central needs `aws_access_key` credentials (an access key id and secret access key of an IAM user or role allowed to use Partner Central), got `{}`",
                    credentials.kind()
                ))
            }
            Connector::Salesforce if !credentials.is_oauth() => Err(format!(
                "salesforce needs `oauth2_authorization_code` credentials (your connected app's consumer key and secret), got `{}`",
                credentials.kind()
            )),
            _ => Ok(()),
        }
    }

    /// The source a connection reads.
    pub fn source(&self, conn: &Connection) -> Result<Box<dyn Source>, ConnectorError> {
        match Connector::named(conn.connector.as_str())? {
            Connector::Rest => Ok(Box::new(onepane_connector_rest::RestSource::from_settings(
                &conn.settings,
            )?)),
            Connector::Csv => Ok(Box::new(onepane_connector_csv::CsvSource::from_settings(
                &conn.settings,
            )?)),
            Connector::AwsPartnerCentral => Ok(Box::new(
                onepane_connector_aws_partner_central::AwsPartnerCentral::from_settings(
                    &conn.settings,
                )?,
            )),
            other => Err(ConnectorError::Config(format!(
                "`{}` is a CRM sink, not a source",
                other.name()
            ))),
        }
    }

    /// The sink a connection pushes to.
    pub fn sink(
        &self,
        conn: &Connection,
        secret: SinkSecrets,
    ) -> Result<Box<dyn Sink>, ConnectorError> {
        match Connector::named(conn.connector.as_str())? {
            Connector::HubSpot => Ok(Box::new(
                onepane_connector_hubspot::HubSpotSink::from_settings(&conn.settings)?,
            )),
            Connector::Salesforce => Ok(Box::new(
                onepane_connector_salesforce::SalesforceSink::from_settings(&conn.settings)?,
            )),
            Connector::Webhook => {
                let secret = secret.ok_or_else(|| {
                    ConnectorError::Config("the webhook connection has no signing secret".into())
                })?;
                let secret = String::from_utf8(secret).map_err(|_| {
                    ConnectorError::Config("the webhook signing secret is not text".into())
                })?;
                Ok(Box::new(
                    onepane_connector_webhook::WebhookSink::from_settings(
                        &conn.settings,
                        Secret::new(secret),
                    )?,
                ))
            }
            other => Err(ConnectorError::Config(format!(
                "`{}` is a vendor source, not a CRM sink",
                other.name()
            ))),
        }
    }
}
