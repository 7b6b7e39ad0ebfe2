//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "payrail", version, about = "Payrail: a self-hosted payment platform in one binary")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares. Each may also come from the environment or the file.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A TOML file with any of the settings below (flags and environment override it).
    #[arg(long, env = "PAYRAIL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address the server listens on [default: 127.0.0.1:8080]
    #[arg(long, env = "PAYRAIL_LISTEN", global = true)]
    pub listen: Option<String>,
    /// sqlite://path/to/file.db or postgres://user@host/db [default: sqlite://<data-dir>/payrail.db]
    #[arg(long, env = "PAYRAIL_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the embedded database and its key file live [default: ./payrail-data]
    #[arg(long, env = "PAYRAIL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// The server key file (from `payrail keygen`); required with PostgreSQL unless
    /// PAYRAIL_SERVER_KEY holds the key itself.
    #[arg(long, env = "PAYRAIL_KEY_FILE", global = true)]
    pub key_file: Option<PathBuf>,
    /// Log filter, such as info or payrail_http=debug [default: info]
    #[arg(long, env = "PAYRAIL_LOG", global = true)]
    pub log: Option<String>,
    /// text or json [default: text]
    #[arg(long, env = "PAYRAIL_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Largest request body accepted, in bytes [default: 65536]
    #[arg(long, env = "PAYRAIL_BODY_BYTES_MAX", global = true)]
    pub body_bytes_max: Option<usize>,
    /// Longest a request may run before it is abandoned, in milliseconds [default: 45000]
    #[arg(long, env = "PAYRAIL_REQUEST_TIMEOUT_MS", global = true)]
    pub request_timeout_ms: Option<u64>,
    /// Most client connections open at once [default: 1024]
    #[arg(long, env = "PAYRAIL_CONNECTIONS_MAX", global = true)]
    pub connections_max: Option<usize>,
    /// Most database connections in the pool [default: 10]
    #[arg(long, env = "PAYRAIL_DATABASE_CONNECTIONS_MAX", global = true)]
    pub database_connections_max: Option<u32>,
    /// Background job workers in this instance (maintenance sweeps, pruning) [default: 2]
    #[arg(long, env = "PAYRAIL_JOB_WORKERS", global = true, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub job_workers: Option<u16>,
    /// How long a payment-code request waits for the payer to confirm on their phone before
    /// it answers `processing`, in milliseconds; at least 5 s below the request timeout
    /// [default: 30000]
    #[arg(long, env = "PAYRAIL_PAYMENT_CODE_WAIT_MS", global = true)]
    pub payment_code_wait_ms: Option<u64>,
    /// The default fee's rate, in basis points (290 is 2.9%) [default: 290]
    #[arg(long, env = "PAYRAIL_FEE_RATE_BASIS_POINTS", global = true)]
    pub fee_rate_basis_points: Option<u32>,
    /// The default fee's fixed part, in minor units of the payment's currency [default: 30]
    #[arg(long, env = "PAYRAIL_FEE_FIXED_MINOR", global = true)]
    pub fee_fixed_minor: Option<i64>,
    /// Whether a refund gives back its share of the fee [default: false]
    #[arg(long, env = "PAYRAIL_REFUND_RETURNS_FEE", global = true)]
    pub refund_returns_fee: Option<bool>,
    /// What becomes of a payment the payer paid after Payrail had given it up: refund (in
    /// full, fee included) or keep [default: refund]
    #[arg(long, env = "PAYRAIL_LATE_SUCCESS_POLICY", global = true)]
    pub late_success_policy: Option<String>,
    /// Tighter amount limits per currency, in minor units: USD=5000000,JPY=1000000 [default: none]
    #[arg(long, env = "PAYRAIL_AMOUNT_MAX", global = true)]
    pub amount_max: Option<String>,
    /// Whether test-mode webhooks may go to loopback (a developer's machine) [default: true]
    #[arg(long, env = "PAYRAIL_WEBHOOK_TEST_ALLOW_LOOPBACK", global = true)]
    pub webhook_test_allow_loopback: Option<bool>,
    /// Private networks webhooks may reach, as CIDRs: 10.0.0.0/8,fd00::/8 [default: none]
    #[arg(long, env = "PAYRAIL_WEBHOOK_ALLOWED_NETWORKS", global = true)]
    pub webhook_allowed_networks: Option<String>,
    /// Longest one webhook attempt may take, in milliseconds [default: 10000]
    #[arg(long, env = "PAYRAIL_WEBHOOK_TIMEOUT_MS", global = true)]
    pub webhook_timeout_ms: Option<u64>,
    /// Waits between webhook attempts: 1m,5m,30m,… [default: 1m,5m,30m,2h,5h,10h,10h,12h,12h,12h,12h]
    #[arg(long, env = "PAYRAIL_WEBHOOK_RETRY_SCHEDULE", global = true)]
    pub webhook_retry_schedule: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrating the database and, on first start, creating a demo merchant).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check the ledger against its invariants.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The sandbox's simulated providers.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Write a new server key file (for PostgreSQL deployments, or to start afresh).
    Keygen {
        /// Where to write it; refuses to overwrite an existing file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant.
    Create {
        #[arg(long)]
        name: String,
        /// pending (test mode only until activated) or active
        #[arg(long, default_value = "pending")]
        status: String,
    },
    /// List merchants, oldest first.
    List,
    /// Activate a merchant, allowing live mode.
    Activate { merchant: String },
    /// Suspend a merchant: every request with its keys is refused.
    Suspend { merchant: String },
    /// Show a merchant's own fee schedules (others pay the default).
    Fees { merchant: String },
    /// Give a merchant its own fees, for one currency or (without --currency) every currency.
    SetFees {
        merchant: String,
        /// In basis points: 250 is 2.5%
        #[arg(long)]
        rate_basis_points: u32,
        /// In minor units of the payment's currency
        #[arg(long)]
        fixed_minor: i64,
        /// An ISO 4217 code; without it, the schedule covers every currency without its own
        #[arg(long)]
        currency: Option<String>,
    },
    /// Remove a merchant's own fees for one currency or (without --currency) the catch-all.
    ClearFees {
        merchant: String,
        #[arg(long)]
        currency: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; its secret is printed once.
    Create {
        #[arg(long)]
        merchant: String,
        /// test or live
        #[arg(long)]
        mode: String,
    },
    /// List a merchant's keys (never their secrets).
    List {
        #[arg(long)]
        merchant: String,
    },
    /// Revoke a key at once.
    Revoke { key: String },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration with secrets masked, and where each value came from.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Print what an outside Alipay or WeChat Pay SDK needs to talk to the sandbox
    /// simulators of this server as if they were the providers (keys included: keep them
    /// to test mode).
    Credentials {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The merchant whose sandbox credentials to print [default: the demo merchant]
        #[arg(long)]
        merchant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check every ledger invariant; print each violation and exit non-zero if any is found.
    Verify,
}
