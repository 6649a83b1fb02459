//! Settings that live on the machine: one TOML file the app and the CLI share, layered under the
//! environment and command-line flags.
//!
//! Precedence, lowest first: the built-in default (a client id baked in at compile time with
//! `ADVICLY_CLIENT_ID`), the file (`$XDG_CONFIG_HOME/com.advicly.desktop/settings.toml` on Linux),
//! environment variables (`ADVICLY_CLIENT_ID`, …), flags (`--client-id`, …). Each key is resolved
//! on its own: a value that does not pass its check is reported as a [`SettingProblem`] naming the
//! setting and where it came from, and the next lower layer applies, so a bad value never stops
//! the app from opening.
//!
//! Release builds accept only `https` base addresses, so no setting can send a real token in
//! cleartext; development builds and tests also accept `http` on a loopback address. The demo's
//! in-process fake Calendly and relay are not configured through settings and are not affected.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use url::Url;

use crate::config::{EngineConfig, RedirectMode, APP_IDENTIFIER};
use crate::error::EngineError;
use crate::scheduler::{MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES};

/// The name of the settings file inside the app's config folder.
pub const SETTINGS_FILE_NAME: &str = "settings.toml";

/// The OAuth client id this build was compiled with (`ADVICLY_CLIENT_ID` at build time), if any.
pub const BUILT_IN_CLIENT_ID: Option<&str> = option_env!("ADVICLY_CLIENT_ID");

/// Whether notifications are on when nothing says otherwise.
pub const DEFAULT_NOTIFICATIONS: bool = true;

/// A setting's name. The first four are the advisor's; the bases are for tests and power users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SettingKey {
    /// The OAuth client id of the Calendly app registration.
    ClientId,
    /// The relay that bounces the OAuth callback and carries real-time updates.
    RelayBase,
    /// Minutes between automatic syncs.
    SyncIntervalMinutes,
    /// Desktop notifications about new, canceled and rescheduled meetings.
    Notifications,
    /// Calendly's API base (`https://api.calendly.com`).
    ApiBase,
    /// Calendly's OAuth base (`https://auth.calendly.com`).
    AuthBase,
}

impl SettingKey {
    /// Every key, in the order the CLI and the Settings screen list them.
    pub const ALL: [SettingKey; 6] = [
        SettingKey::ClientId,
        SettingKey::RelayBase,
        SettingKey::SyncIntervalMinutes,
        SettingKey::Notifications,
        SettingKey::ApiBase,
        SettingKey::AuthBase,
    ];

    /// The key as written in the file, the CLI and the IPC.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientId => "client_id",
            Self::RelayBase => "relay_base",
            Self::SyncIntervalMinutes => "sync_interval_minutes",
            Self::Notifications => "notifications",
            Self::ApiBase => "api_base",
            Self::AuthBase => "auth_base",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|key| key.name() == name)
    }

    /// The environment variable that overrides the file.
    pub fn environment_variable(self) -> &'static str {
        match self {
            Self::ClientId => "ADVICLY_CLIENT_ID",
            Self::RelayBase => "ADVICLY_RELAY_BASE",
            Self::SyncIntervalMinutes => "ADVICLY_SYNC_INTERVAL_MINUTES",
            Self::Notifications => "ADVICLY_NOTIFICATIONS",
            Self::ApiBase => "ADVICLY_API_BASE",
            Self::AuthBase => "ADVICLY_AUTH_BASE",
        }
    }

    /// The CLI flag that overrides everything else.
    pub fn flag(self) -> &'static str {
        match self {
            Self::ClientId => "--client-id",
            Self::RelayBase => "--relay-base",
            Self::SyncIntervalMinutes => "--sync-interval-minutes",
            Self::Notifications => "--notifications",
            Self::ApiBase => "--api-base",
            Self::AuthBase => "--auth-base",
        }
    }

    /// One line on what the setting does.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ClientId => "OAuth client id of your Calendly app registration (needed to connect through the browser)",
            Self::RelayBase => "Relay address that hands Calendly's sign-in back to the app and brings real-time updates (https)",
            Self::SyncIntervalMinutes => "Minutes between automatic syncs (5 to 60)",
            Self::Notifications => "Desktop notifications about new, canceled and rescheduled meetings (true or false)",
            Self::ApiBase => "Calendly API address (advanced)",
            Self::AuthBase => "Calendly sign-in address (advanced)",
        }
    }
}

impl fmt::Display for SettingKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A checked setting value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingValue {
    Text(String),
    Address(Url),
    Minutes(u32),
    Switch(bool),
}

impl fmt::Display for SettingValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => formatter.write_str(text),
            Self::Address(url) => formatter.write_str(url.as_str()),
            Self::Minutes(minutes) => write!(formatter, "{minutes}"),
            Self::Switch(on) => write!(formatter, "{on}"),
        }
    }
}

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SettingSource {
    /// Nothing set it; the app's own default applies.
    Default,
    /// Compiled into this build.
    BuiltIn,
    File,
    Environment,
    Flag,
}

impl SettingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::BuiltIn => "built_in",
            Self::File => "file",
            Self::Environment => "environment",
            Self::Flag => "flag",
        }
    }
}

/// Which `http` addresses a base setting may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Release builds: `https` only, so a token never travels in cleartext.
    HttpsOnly,
    /// Development builds and tests: `https`, or `http` to a loopback address (the fake).
    AllowLoopbackHttp,
}

impl AddressPolicy {
    /// `HttpsOnly` in release builds unless the `loopback-http` feature is on (the release
    /// benchmarks talk to a loopback fake); `AllowLoopbackHttp` in debug builds.
    pub fn for_this_build() -> Self {
        if cfg!(debug_assertions) || cfg!(feature = "loopback-http") {
            Self::AllowLoopbackHttp
        } else {
            Self::HttpsOnly
        }
    }
}

/// A setting that was given but cannot be used; it is ignored and the next layer applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingProblem {
    /// `None` when the whole file is unusable.
    pub key: Option<SettingKey>,
    pub source: SettingSource,
    /// A sentence naming the setting, where it came from, and what is wrong.
    pub message: String,
}

/// One resolved setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedSetting {
    pub key: SettingKey,
    /// `None`: not set anywhere (the app's behaviour for "unset" applies).
    pub value: Option<SettingValue>,
    pub source: SettingSource,
    /// What the file says, when it says something usable (shown beside an override).
    pub file_value: Option<SettingValue>,
}

/// Every setting with its value and source, plus what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedSettings {
    pub settings: Vec<ResolvedSetting>,
    pub problems: Vec<SettingProblem>,
    /// The settings file the values were read from (`None`: no config folder is known).
    pub file: Option<PathBuf>,
}

impl ResolvedSettings {
    pub fn get(&self, key: SettingKey) -> Option<&SettingValue> {
        self.settings
            .iter()
            .find(|setting| setting.key == key)
            .and_then(|setting| setting.value.as_ref())
    }

    pub fn source(&self, key: SettingKey) -> SettingSource {
        self.settings
            .iter()
            .find(|setting| setting.key == key)
            .map_or(SettingSource::Default, |setting| setting.source)
    }

    fn address(&self, key: SettingKey) -> Option<Url> {
        match self.get(key) {
            Some(SettingValue::Address(url)) => Some(url.clone()),
            _ => None,
        }
    }

    pub fn client_id(&self) -> Option<String> {
        match self.get(SettingKey::ClientId) {
            Some(SettingValue::Text(text)) => Some(text.clone()),
            _ => None,
        }
    }

    pub fn relay_base(&self) -> Option<Url> {
        self.address(SettingKey::RelayBase)
    }

    pub fn api_base(&self) -> Option<Url> {
        self.address(SettingKey::ApiBase)
    }

    pub fn auth_base(&self) -> Option<Url> {
        self.address(SettingKey::AuthBase)
    }

    pub fn sync_interval_minutes(&self) -> Option<u32> {
        match self.get(SettingKey::SyncIntervalMinutes) {
            Some(SettingValue::Minutes(minutes)) => Some(*minutes),
            _ => None,
        }
    }

    pub fn notifications(&self) -> bool {
        match self.get(SettingKey::Notifications) {
            Some(SettingValue::Switch(on)) => *on,
            _ => DEFAULT_NOTIFICATIONS,
        }
    }

    /// Puts the connection settings into an engine configuration (what is unset keeps the
    /// configuration's value).
    pub fn apply_to(&self, config: &mut EngineConfig) {
        config.oauth_client_id = self.client_id();
        if let Some(api_base) = self.api_base() {
            config.api_base = api_base;
        }
        if let Some(auth_base) = self.auth_base() {
            config.auth_base = auth_base;
        }
        // One setting for both: the HTTPS bounce of the sign-in and the real-time channel.
        let relay_base = self.relay_base();
        config.redirect = match &relay_base {
            Some(relay_base) => RedirectMode::RelayBounce {
                relay_base: relay_base.clone(),
            },
            None => RedirectMode::Direct,
        };
        config.relay_base = relay_base;
    }
}

/// The layers above the file: environment variables (read once) and flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsOverrides {
    environment: BTreeMap<SettingKey, String>,
    flags: BTreeMap<SettingKey, String>,
}

impl SettingsOverrides {
    /// The `ADVICLY_*` variables of this process; empty ones count as unset.
    pub fn from_environment() -> Self {
        Self::from_variables(|name| std::env::var(name).ok())
    }

    /// The same, from any source of variables (tests pass a map).
    pub fn from_variables(mut variable: impl FnMut(&str) -> Option<String>) -> Self {
        let environment = SettingKey::ALL
            .into_iter()
            .filter_map(|key| {
                variable(key.environment_variable())
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (key, value))
            })
            .collect();
        Self {
            environment,
            flags: BTreeMap::new(),
        }
    }

    /// Adds a flag's raw value (it wins over everything).
    pub fn with_flag(mut self, key: SettingKey, raw: impl Into<String>) -> Self {
        self.flags.insert(key, raw.into());
        self
    }
}

/// The settings of one app: the file plus the overrides, re-read on every [`LiveSettings::resolve`]
/// so a change made in the Settings screen or by `advicly config set` is seen at once.
#[derive(Clone, Debug)]
pub struct LiveSettings {
    file: Option<PathBuf>,
    overrides: SettingsOverrides,
    policy: AddressPolicy,
}

impl LiveSettings {
    pub fn new(file: Option<PathBuf>, overrides: SettingsOverrides, policy: AddressPolicy) -> Self {
        Self {
            file,
            overrides,
            policy,
        }
    }

    /// The file in the OS config folder (`$XDG_CONFIG_HOME/com.advicly.desktop/settings.toml`).
    pub fn default_file() -> Option<PathBuf> {
        directories::BaseDirs::new().map(|base| {
            base.config_dir()
                .join(APP_IDENTIFIER)
                .join(SETTINGS_FILE_NAME)
        })
    }

    /// The settings file (whether or not it exists yet).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Reads the file and resolves every key through the layers.
    pub fn resolve(&self) -> ResolvedSettings {
        let mut problems = Vec::new();
        let file_values = match &self.file {
            Some(path) => read_file(path, self.policy, &mut problems),
            None => BTreeMap::new(),
        };
        let mut settings = Vec::new();
        for key in SettingKey::ALL {
            let mut resolved = ResolvedSetting {
                key,
                value: None,
                source: SettingSource::Default,
                file_value: file_values.get(&key).cloned(),
            };
            let layers = [
                (SettingSource::Flag, self.overrides.flags.get(&key).cloned()),
                (
                    SettingSource::Environment,
                    self.overrides.environment.get(&key).cloned(),
                ),
            ];
            for (source, raw) in layers {
                let Some(raw) = raw else { continue };
                match parse_value(key, &raw, self.policy) {
                    Ok(value) => {
                        resolved.value = Some(value);
                        resolved.source = source;
                        break;
                    }
                    Err(problem) => problems.push(SettingProblem {
                        key: Some(key),
                        source,
                        message: problem_sentence(key, source, self.file.as_deref(), &problem),
                    }),
                }
            }
            if resolved.value.is_none() {
                if let Some(value) = file_values.get(&key) {
                    resolved.value = Some(value.clone());
                    resolved.source = SettingSource::File;
                } else if key == SettingKey::ClientId {
                    if let Some(built_in) = BUILT_IN_CLIENT_ID.filter(|id| !id.trim().is_empty()) {
                        resolved.value = Some(SettingValue::Text(built_in.trim().to_owned()));
                        resolved.source = SettingSource::BuiltIn;
                    }
                }
            }
            settings.push(resolved);
        }
        ResolvedSettings {
            settings,
            problems,
            file: self.file.clone(),
        }
    }

    /// Checks `raw` and writes it to the file. An invalid value is refused with a sentence
    /// naming the setting (`invalid_input`); nothing is written then.
    pub fn set(&self, key: SettingKey, raw: &str) -> Result<SettingValue, EngineError> {
        let value = parse_value(key, raw, self.policy).map_err(|problem| {
            EngineError::invalid_input(format!("The setting {key} {problem}."))
        })?;
        let stored = value.clone();
        self.update_file(move |table| {
            table.insert(key.name().to_owned(), toml_value(&stored));
        })?;
        Ok(value)
    }

    /// Removes `key` from the file, so the built-in default applies again.
    pub fn unset(&self, key: SettingKey) -> Result<(), EngineError> {
        self.update_file(move |table| {
            table.remove(key.name());
        })
    }

    /// Reads, changes and atomically rewrites the file under a lock shared with other processes.
    fn update_file(&self, change: impl FnOnce(&mut toml::Table)) -> Result<(), EngineError> {
        let path = self.file.as_deref().ok_or_else(|| {
            EngineError::internal("no config folder is known on this system, so settings cannot be saved; set HOME or XDG_CONFIG_HOME")
        })?;
        let folder = path
            .parent()
            .ok_or_else(|| EngineError::internal("the settings file has no folder"))?;
        let io_error = |what: &str, path: &Path, error: std::io::Error| {
            EngineError::internal(format!("could not {what} {}: {error}", path.display()))
        };
        advicly_core::store::create_private_folder(folder)
            .map_err(|error| io_error("create", folder, error))?;
        let lock_path = folder.join("settings.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|error| io_error("open", &lock_path, error))?;
        lock.lock()
            .map_err(|error| io_error("lock", &lock_path, error))?;
        let mut table = match std::fs::read_to_string(path) {
            Ok(text) => text.parse::<toml::Table>().map_err(|error| {
                EngineError::invalid_input(format!(
                    "{} is not valid TOML ({}); fix or delete it before changing settings",
                    path.display(),
                    error.message()
                ))
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(error) => return Err(io_error("read", path, error)),
        };
        change(&mut table);
        let text = format!(
            "# Advicly settings (shared by the app and the `advicly` command line).\n# See `advicly config --help`.\n{}",
            toml::to_string(&table).map_err(EngineError::internal)?
        );
        let temporary = folder.join(format!("{SETTINGS_FILE_NAME}.tmp"));
        {
            let mut file =
                private_file(&temporary).map_err(|error| io_error("write", &temporary, error))?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|error| io_error("write", &temporary, error))?;
        }
        std::fs::rename(&temporary, path).map_err(|error| io_error("replace", path, error))?;
        drop(lock);
        Ok(())
    }
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn toml_value(value: &SettingValue) -> toml::Value {
    match value {
        SettingValue::Text(text) => toml::Value::String(text.clone()),
        SettingValue::Address(url) => toml::Value::String(url.to_string()),
        SettingValue::Minutes(minutes) => toml::Value::Integer(i64::from(*minutes)),
        SettingValue::Switch(on) => toml::Value::Boolean(*on),
    }
}

/// The usable values of the file; everything unusable becomes a problem.
fn read_file(
    path: &Path,
    policy: AddressPolicy,
    problems: &mut Vec<SettingProblem>,
) -> BTreeMap<SettingKey, SettingValue> {
    let mut values = BTreeMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return values,
        Err(error) => {
            problems.push(SettingProblem {
                key: None,
                source: SettingSource::File,
                message: format!(
                    "The settings file {} could not be read ({error}); its settings are ignored.",
                    path.display()
                ),
            });
            return values;
        }
    };
    let table = match text.parse::<toml::Table>() {
        Ok(table) => table,
        Err(error) => {
            problems.push(SettingProblem {
                key: None,
                source: SettingSource::File,
                message: format!(
                    "The settings file {} is not valid TOML ({}); its settings are ignored until it is fixed.",
                    path.display(),
                    error.message().trim_end_matches('.')
                ),
            });
            return values;
        }
    };
    for (name, value) in table {
        let Some(key) = SettingKey::from_name(&name) else {
            problems.push(SettingProblem {
                key: None,
                source: SettingSource::File,
                message: format!(
                    "The settings file {} has an unknown setting {name:?}; it is ignored (known: {}).",
                    path.display(),
                    SettingKey::ALL.map(SettingKey::name).join(", ")
                ),
            });
            continue;
        };
        let raw = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Boolean(on) => on.to_string(),
            other => format!("<a {}>", other.type_str()),
        };
        match parse_value(key, &raw, policy) {
            Ok(value) => {
                values.insert(key, value);
            }
            Err(problem) => problems.push(SettingProblem {
                key: Some(key),
                source: SettingSource::File,
                message: problem_sentence(key, SettingSource::File, Some(path), &problem),
            }),
        }
    }
    values
}

/// "The setting relay_base in /…/settings.toml must …; it is ignored."
fn problem_sentence(
    key: SettingKey,
    source: SettingSource,
    file: Option<&Path>,
    problem: &str,
) -> String {
    let place = match source {
        SettingSource::File => format!(
            " in {}",
            file.map_or("the settings file".to_owned(), |path| path
                .display()
                .to_string())
        ),
        SettingSource::Environment => {
            format!(
                " from the environment variable {}",
                key.environment_variable()
            )
        }
        SettingSource::Flag => format!(" given with {}", key.flag()),
        SettingSource::BuiltIn => " built into this app".to_owned(),
        SettingSource::Default => String::new(),
    };
    format!("The setting {key}{place} {problem}; it is ignored.")
}

/// Checks one raw value. The error completes "The setting KEY … ".
pub fn parse_value(
    key: SettingKey,
    raw: &str,
    policy: AddressPolicy,
) -> Result<SettingValue, String> {
    let trimmed = raw.trim();
    match key {
        SettingKey::RelayBase | SettingKey::ApiBase | SettingKey::AuthBase => {
            check_address(trimmed, policy).map(SettingValue::Address)
        }
        SettingKey::ClientId => {
            if trimmed.is_empty() {
                Err("is empty".to_owned())
            } else if trimmed.len() > 200
                || trimmed
                    .chars()
                    .any(|character| character.is_whitespace() || character.is_control())
            {
                Err("must be the client id exactly as Calendly shows it (no spaces, at most 200 characters)".to_owned())
            } else {
                Ok(SettingValue::Text(trimmed.to_owned()))
            }
        }
        SettingKey::SyncIntervalMinutes => match trimmed.parse::<u32>() {
            Ok(minutes) if (MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&minutes) => {
                Ok(SettingValue::Minutes(minutes))
            }
            _ => Err(format!(
                "must be a whole number of minutes from {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES} (got {trimmed:?})"
            )),
        },
        SettingKey::Notifications => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Ok(SettingValue::Switch(true)),
            "false" | "off" | "no" | "0" => Ok(SettingValue::Switch(false)),
            _ => Err(format!("must be true or false (got {trimmed:?})")),
        },
    }
}

/// Checks a base address: absolute, no credentials, query or fragment, and `https` (or `http`
/// to a loopback address where the policy allows it).
pub fn check_address(raw: &str, policy: AddressPolicy) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|error| format!("is not a web address ({error})"))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(format!(
            "must be an address like https://example.com (got {raw:?})"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not contain a query (?…) or a fragment (#…)".to_owned());
    }
    match (url.scheme(), policy) {
        ("https", _) => Ok(url),
        ("http", AddressPolicy::AllowLoopbackHttp) if is_loopback(&url) => Ok(url),
        ("http", AddressPolicy::AllowLoopbackHttp) => Err(format!(
            "must use https; plain http is only accepted for a loopback address such as 127.0.0.1 (got {raw:?})"
        )),
        ("http", AddressPolicy::HttpsOnly) => Err(format!(
            "must use https, so that a sign-in is never sent unencrypted (got {raw:?})"
        )),
        (scheme, _) => Err(format!("must use https, not {scheme}")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn live(file: &Path, variables: &[(&str, &str)]) -> LiveSettings {
        let variables: BTreeMap<String, String> = variables
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        LiveSettings::new(
            Some(file.to_path_buf()),
            SettingsOverrides::from_variables(|name| variables.get(name).cloned()),
            AddressPolicy::AllowLoopbackHttp,
        )
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join(SETTINGS_FILE_NAME);
        std::fs::write(
            &file,
            "client_id = \"from-file\"\nsync_interval_minutes = 30\nnotifications = false\n",
        )
        .unwrap();
        let settings = live(
            &file,
            &[
                ("ADVICLY_CLIENT_ID", "from-env"),
                ("ADVICLY_SYNC_INTERVAL_MINUTES", "20"),
            ],
        );
        let resolved = settings.resolve();
        assert_eq!(resolved.client_id().as_deref(), Some("from-env"));
        assert_eq!(
            resolved.source(SettingKey::ClientId),
            SettingSource::Environment
        );
        assert_eq!(resolved.sync_interval_minutes(), Some(20));
        // The file still decides what nothing overrides.
        assert!(!resolved.notifications());
        assert_eq!(
            resolved.source(SettingKey::Notifications),
            SettingSource::File
        );

        let flagged = LiveSettings {
            overrides: settings
                .overrides
                .clone()
                .with_flag(SettingKey::ClientId, "from-flag"),
            ..settings
        };
        let resolved = flagged.resolve();
        assert_eq!(resolved.client_id().as_deref(), Some("from-flag"));
        assert_eq!(resolved.source(SettingKey::ClientId), SettingSource::Flag);
        assert_eq!(
            resolved.settings[0].file_value,
            Some(SettingValue::Text("from-file".into())),
            "the file's value is still shown beside the override"
        );
    }

    #[test]
    fn an_invalid_value_is_reported_by_name_and_the_next_layer_applies() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join(SETTINGS_FILE_NAME);
        std::fs::write(&file, "sync_interval_minutes = 90\nrelay_base = \"https://relay.example.com\"\ncolour = \"blue\"\n").unwrap();
        let resolved = live(&file, &[("ADVICLY_RELAY_BASE", "ftp://relay.example.com")]).resolve();
        // Neither the bad interval nor the bad relay stops anything: defaults and the file apply.
        assert_eq!(resolved.sync_interval_minutes(), None);
        assert_eq!(
            resolved.relay_base().map(|url| url.to_string()),
            Some("https://relay.example.com/".into())
        );
        let messages: Vec<&str> = resolved
            .problems
            .iter()
            .map(|problem| problem.message.as_str())
            .collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(
            messages.iter().any(|message| message
                .starts_with("The setting sync_interval_minutes in ")
                && message.contains("from 5 to 60")),
            "{messages:#?}"
        );
        assert!(
            messages.iter().any(|message| message
                .contains("relay_base from the environment variable ADVICLY_RELAY_BASE")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|message| message.contains("unknown setting \"colour\"")),
            "{messages:#?}"
        );
    }

    #[test]
    fn a_damaged_file_is_one_problem_and_nothing_else_breaks() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join(SETTINGS_FILE_NAME);
        std::fs::write(&file, "client_id = \"unterminated\n").unwrap();
        let resolved = live(&file, &[]).resolve();
        assert_eq!(resolved.problems.len(), 1);
        assert!(resolved.problems[0].message.contains("is not valid TOML"));
        assert_eq!(resolved.client_id(), BUILT_IN_CLIENT_ID.map(str::to_owned));
        // Saving refuses to overwrite a file the advisor may still want to fix by hand.
        let error = live(&file, &[])
            .set(SettingKey::Notifications, "false")
            .unwrap_err();
        assert_eq!(error.code(), "invalid_input");
    }

    #[test]
    fn set_and_unset_round_trip_through_the_file() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("nested").join(SETTINGS_FILE_NAME);
        let settings = live(&file, &[]);
        settings.set(SettingKey::ClientId, " my-client ").unwrap();
        settings.set(SettingKey::SyncIntervalMinutes, "25").unwrap();
        settings.set(SettingKey::Notifications, "off").unwrap();
        let resolved = settings.resolve();
        assert_eq!(resolved.client_id().as_deref(), Some("my-client"));
        assert_eq!(resolved.sync_interval_minutes(), Some(25));
        assert!(!resolved.notifications());
        assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("sync_interval_minutes = 25"),
            "typed TOML: {text}"
        );

        settings.unset(SettingKey::Notifications).unwrap();
        assert!(settings.resolve().notifications(), "back to the default");
        // A refused value leaves the file as it was.
        let error = settings
            .set(SettingKey::SyncIntervalMinutes, "4")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("The setting sync_interval_minutes must be"),
            "{error}"
        );
        assert_eq!(settings.resolve().sync_interval_minutes(), Some(25));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "only the owner reads the settings");
        }
    }

    #[rstest]
    #[case::https("https://relay.example.com", AddressPolicy::HttpsOnly, true)]
    #[case::http_remote_release("http://relay.example.com", AddressPolicy::HttpsOnly, false)]
    #[case::http_loopback_release("http://127.0.0.1:8080", AddressPolicy::HttpsOnly, false)]
    #[case::http_remote_debug("http://relay.example.com", AddressPolicy::AllowLoopbackHttp, false)]
    #[case::http_loopback_debug("http://127.0.0.1:8080", AddressPolicy::AllowLoopbackHttp, true)]
    #[case::http_localhost_debug("http://localhost:8080", AddressPolicy::AllowLoopbackHttp, true)]
    #[case::http_ipv6_loopback_debug("http://[::1]:8080", AddressPolicy::AllowLoopbackHttp, true)]
    #[case::credentials(
        "https://user:secret@relay.example.com",
        AddressPolicy::HttpsOnly,
        false
    )]
    #[case::query("https://relay.example.com/?x=1", AddressPolicy::HttpsOnly, false)]
    #[case::not_a_base("mailto:someone@example.com", AddressPolicy::AllowLoopbackHttp, false)]
    #[case::other_scheme("ftp://relay.example.com", AddressPolicy::AllowLoopbackHttp, false)]
    fn base_addresses_must_be_https_except_loopback_in_development(
        #[case] raw: &str,
        #[case] policy: AddressPolicy,
        #[case] accepted: bool,
    ) {
        // No setting may make a release build send a token in cleartext.
        assert_eq!(
            check_address(raw, policy).is_ok(),
            accepted,
            "{raw} under {policy:?}"
        );
    }
}
