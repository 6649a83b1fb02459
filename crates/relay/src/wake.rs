//! Wake-ups: how a committed delivery reaches the subscribers waiting on its channel.
//!
//! Each channel with at least one connected subscriber has a `watch` channel holding the newest
//! id known to be committed. Ingest (and, with PostgreSQL, the LISTEN task for other instances)
//! sends to it; a subscriber marks the value seen *before* it reads the store, so a wake-up that
//! lands between its read and its wait is never missed. The table stays the truth: a wake-up only
//! says "read again". Entries disappear with their last subscriber, so connect/leave cycles leave
//! nothing behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use crate::store::ChannelId;

/// The wake-up hub of one relay process.
#[derive(Debug, Default)]
pub struct Wakeups {
    channels: Mutex<HashMap<ChannelId, watch::Sender<u64>>>,
}

/// A subscriber's handle on its channel's wake-ups; dropping it forgets the channel when it was
/// the last one.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<Wakeups>,
    channel_id: ChannelId,
    receiver: Option<watch::Receiver<u64>>,
}

impl Wakeups {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Subscribes to a channel's wake-ups.
    pub fn subscribe(self: &Arc<Self>, channel_id: &ChannelId) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = channels
            .entry(channel_id.clone())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        Subscription {
            hub: self.clone(),
            channel_id: channel_id.clone(),
            receiver: Some(receiver),
        }
    }

    /// Tells the subscribers of `channel_id` that deliveries up to `newest_id` are committed (or
    /// that something else changed, such as the channel being deleted).
    pub fn wake(&self, channel_id: &ChannelId, newest_id: u64) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = channels.get(channel_id) {
            // `send_modify` notifies even when the id did not grow (a deletion, say).
            sender.send_modify(|known| *known = (*known).max(newest_id));
        }
    }

    /// Wakes every subscriber (after a lost LISTEN connection, when notifications may be missing).
    pub fn wake_all(&self) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        for sender in channels.values() {
            sender.send_modify(|_| {});
        }
    }

    /// How many channels have a connected subscriber in this process.
    pub fn watched_channels(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Subscription {
    /// Marks the current state seen; call before reading the store.
    pub fn mark_seen(&mut self) {
        if let Some(receiver) = self.receiver.as_mut() {
            receiver.borrow_and_update();
        }
    }

    /// Waits until something was committed after the last [`Subscription::mark_seen`].
    pub async fn changed(&mut self) {
        match self.receiver.as_mut() {
            Some(receiver) => {
                if receiver.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Drop our receiver first so that the count below no longer includes it.
        self.receiver.take();
        let mut channels = self
            .hub
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if channels
            .get(&self.channel_id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.channel_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_up_between_the_read_and_the_wait_is_not_missed() {
        let hub = Wakeups::new();
        let channel = ChannelId::generate();
        let mut subscription = hub.subscribe(&channel);
        subscription.mark_seen();
        // The delivery commits after the subscriber read the store but before it waits.
        hub.wake(&channel, 1);
        tokio::time::timeout(std::time::Duration::from_secs(5), subscription.changed())
            .await
            .expect("the earlier wake-up is still pending");
    }

    #[test]
    fn the_last_subscriber_leaving_forgets_the_channel() {
        let hub = Wakeups::new();
        let channel = ChannelId::generate();
        let first = hub.subscribe(&channel);
        let second = hub.subscribe(&channel);
        drop(first);
        assert_eq!(hub.watched_channels(), 1, "one subscriber remains");
        drop(second);
        assert_eq!(hub.watched_channels(), 0, "nothing is left behind");
    }
}
