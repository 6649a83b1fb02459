//! A stand-in for the desktop's notification service (`org.freedesktop.Notifications`) on the
//! test's own D-Bus session bus: it records every notification the app sends, so a test can
//! check what the advisor would have seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use zbus::zvariant::OwnedValue;

/// One notification as the app sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownNotification {
    pub app_name: String,
    pub summary: String,
    pub body: String,
}

struct Service {
    shown: Arc<Mutex<Vec<ShownNotification>>>,
    next_id: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        self.shown
            .lock()
            .expect("the notification list lock is never poisoned")
            .push(ShownNotification {
                app_name,
                summary,
                body,
            });
        self.next_id += 1;
        self.next_id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".to_owned()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "advicly-e2e".to_owned(),
            "advicly".to_owned(),
            "1".to_owned(),
            "1.2".to_owned(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// The notification service, owning its name on the session bus until dropped.
pub struct NotificationService {
    shown: Arc<Mutex<Vec<ShownNotification>>>,
    _connection: zbus::Connection,
}

impl NotificationService {
    /// Takes `org.freedesktop.Notifications` on the session bus of this process (the private
    /// one `scripts/desktop-e2e.sh` starts).
    pub async fn start() -> Result<Self> {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let connection = zbus::connection::Builder::session()?
            .name("org.freedesktop.Notifications")?
            .serve_at(
                "/org/freedesktop/Notifications",
                Service {
                    shown: shown.clone(),
                    next_id: 0,
                },
            )?
            .build()
            .await
            .context("owning org.freedesktop.Notifications on the test's D-Bus session")?;
        Ok(Self {
            shown,
            _connection: connection,
        })
    }

    /// Everything shown so far.
    pub fn shown(&self) -> Vec<ShownNotification> {
        self.shown
            .lock()
            .expect("the notification list lock is never poisoned")
            .clone()
    }
}
