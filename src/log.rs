//! A process-wide hook for connection lifecycle messages.

use std::sync::{Arc, RwLock};

/// Severity of a log message; a hook receives messages at or above its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// A failure that ends a client.
    Error = 1,
    /// A connection failed or broke; the client reconnects.
    Warn = 2,
    /// Lifecycle: connecting, opened, reconnecting, closed.
    Info = 3,
    /// Details useful when debugging.
    Debug = 4,
}

/// A log hook: receives the level and the message.
pub type LogHook = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

static HOOK: RwLock<Option<(LogLevel, LogHook)>> = RwLock::new(None);

/// Installs `hook` for messages at `level` or more severe (None removes it),
/// waiting for calls of the previous hook to return. Must not be called
/// from inside a hook.
pub fn set_log_hook(hook: Option<LogHook>, level: LogLevel) {
    let mut slot = HOOK.write().unwrap_or_else(|e| e.into_inner());
    *slot = hook.map(|h| (level, h));
}

/// Sends a message to the hook if one listens at `level`; `message` is
/// built only then.
///
/// The hook runs under a read lock, so once [`set_log_hook`] returns, the
/// old hook (and whatever it points to) is no longer in use.
pub fn log(level: LogLevel, message: impl FnOnce() -> String) {
    let slot = HOOK.read().unwrap_or_else(|e| e.into_inner());
    if let Some((max, hook)) = slot.as_ref() {
        if level <= *max {
            hook(level, &message());
        }
    }
}
