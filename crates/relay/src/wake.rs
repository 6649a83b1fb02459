//! Wake-ups: how a committed delivery reaches the subscribers waiting on its channel.
//!
//! Each channel with at least one connected subscriber has a `watch` channel holding the newest
//! id known to be committed. Ingest (and, with PostgreSQL, the LISTEN task for other instances)
//! sends to it; a subscriber marks the value seen *before* it reads the store, so a wake-up that
//! lands between its read and its wait is never missed. The table stays the truth: a wake-up only
//! says "read again". Entries disappear with their last subscriber, so connect/leave cycles leave
//! nothing behind.
//!
//! While a channel has subscribers, the hub also keeps its newest committed deliveries, already
//! serialized, so that a subscriber that is just behind (the usual case: one new delivery) gets
//! it without reading the store — a fan-out to 100 subscribers costs one serialization, not 100
//! store reads. Only a contiguous run starting right after the cursor is served from memory;
//! anything else goes to the store, which also reports gaps. A subscriber whose cursor has
//! reached the newest id it was told about, with no other change since, is caught up and does
//! not read the store at all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use crate::store::ChannelId;

/// The wake-up hub of one relay process.
#[derive(Debug, Default)]
pub struct Wakeups {
    channels: Mutex<HashMap<ChannelId, Watched>>,
}

/// How many recent deliveries per watched channel are kept in memory.
const RECENT_PER_CHANNEL: usize = 32;

/// A delivery as its complete SSE event, ready to send: every subscriber sends the same bytes.
#[derive(Debug)]
pub struct PreparedDelivery {
    pub id: u64,
    pub frame: bytes::Bytes,
}

/// What a channel's watchers are told: the newest id known to be committed, and a count of the
/// other changes (a deletion, a retention drop, a wake-up of unknown cause) after which only the
/// store can say what a subscriber is owed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    pub newest_id: u64,
    pub other_changes: u64,
}

#[derive(Debug)]
struct Watched {
    sender: watch::Sender<Committed>,
    recent: BTreeMap<u64, Arc<PreparedDelivery>>,
}

impl Watched {
    fn new() -> Self {
        Self {
            sender: watch::channel(Committed::default()).0,
            recent: BTreeMap::new(),
        }
    }
}

/// A subscriber's handle on its channel's wake-ups; dropping it forgets the channel when it was
/// the last one.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<Wakeups>,
    channel_id: ChannelId,
    receiver: Option<watch::Receiver<Committed>>,
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
            .or_insert_with(Watched::new)
            .sender
            .subscribe();
        Subscription {
            hub: self.clone(),
            channel_id: channel_id.clone(),
            receiver: Some(receiver),
        }
    }

    /// Tells the subscribers of `channel_id` that deliveries up to `newest_id` are committed (or
    /// that something else changed, such as the channel being deleted: an id that does not grow).
    pub fn wake(&self, channel_id: &ChannelId, newest_id: u64) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(watched) = channels.get(channel_id) {
            watched.sender.send_modify(|known| {
                if newest_id > known.newest_id {
                    known.newest_id = newest_id;
                } else {
                    known.other_changes += 1;
                }
            });
        }
    }

    /// Whether anyone in this process streams the channel (so publishing is worth it).
    pub fn is_watched(&self, channel_id: &ChannelId) -> bool {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(channel_id)
    }

    /// Keeps a committed delivery for the channel's subscribers and wakes them.
    pub fn publish(&self, channel_id: &ChannelId, delivery: PreparedDelivery) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(watched) = channels.get_mut(channel_id) {
            let id = delivery.id;
            watched.recent.insert(id, Arc::new(delivery));
            while watched.recent.len() > RECENT_PER_CHANNEL {
                watched.recent.pop_first();
            }
            // An id published out of order leaves a hole before it, which the store fills.
            watched
                .sender
                .send_modify(|known| known.newest_id = known.newest_id.max(id));
        }
    }

    /// Forgets kept deliveries up to `up_to` (acknowledged) or all of them (`u64::MAX`: the
    /// channel was deleted), so memory never serves what the store no longer would.
    pub fn forget_through(&self, channel_id: &ChannelId, up_to: u64) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(watched) = channels.get_mut(channel_id) {
            watched.recent.retain(|id, _| *id > up_to);
        }
    }

    /// The kept deliveries `after + 1, after + 2, …` without holes, at most `limit`.
    fn recent_after(
        &self,
        channel_id: &ChannelId,
        after: u64,
        limit: usize,
    ) -> Vec<Arc<PreparedDelivery>> {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(watched) = channels.get(channel_id) else {
            return Vec::new();
        };
        // No id follows the largest cursor.
        let Some(first) = after.checked_add(1) else {
            return Vec::new();
        };
        let mut run = Vec::new();
        // An inclusive range: stepping a `first..` range past the largest id would overflow.
        for (expected, (id, delivery)) in (first..=u64::MAX).zip(watched.recent.range(first..)) {
            if *id != expected || run.len() == limit {
                break;
            }
            run.push(delivery.clone());
        }
        run
    }

    /// Wakes every subscriber (after a lost LISTEN connection, when notifications may be missing).
    pub fn wake_all(&self) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        for watched in channels.values() {
            watched.sender.send_modify(|known| known.other_changes += 1);
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
    /// Marks the current state seen and returns it; call before reading the store.
    pub fn mark_seen(&mut self) -> Committed {
        match self.receiver.as_mut() {
            Some(receiver) => *receiver.borrow_and_update(),
            None => Committed::default(),
        }
    }

    /// Deliveries right after `after` that are kept in memory (see the module docs).
    pub fn recent_after(&self, after: u64, limit: usize) -> Vec<Arc<PreparedDelivery>> {
        self.hub.recent_after(&self.channel_id, after, limit)
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
            .is_some_and(|watched| watched.sender.receiver_count() == 0)
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
    fn only_a_run_right_after_the_cursor_is_served_from_memory() {
        let hub = Wakeups::new();
        let channel = ChannelId::generate();
        let subscription = hub.subscribe(&channel);
        for id in [3, 4, 6] {
            hub.publish(
                &channel,
                PreparedDelivery {
                    id,
                    frame: bytes::Bytes::new(),
                },
            );
        }
        let ids = |after| -> Vec<u64> {
            subscription
                .recent_after(after, 10)
                .iter()
                .map(|d| d.id)
                .collect()
        };
        assert_eq!(ids(2), [3, 4], "stops at the hole before 6");
        assert_eq!(
            ids(0),
            Vec::<u64>::new(),
            "1 is not kept: the store must answer"
        );
        assert_eq!(ids(5), [6]);
        assert_eq!(
            ids(u64::MAX),
            Vec::<u64>::new(),
            "nothing follows the largest id"
        );
        hub.publish(
            &channel,
            PreparedDelivery {
                id: u64::MAX,
                frame: bytes::Bytes::new(),
            },
        );
        assert_eq!(
            ids(u64::MAX - 1),
            [u64::MAX],
            "the run ends at the largest id"
        );
        hub.forget_through(&channel, 3);
        assert_eq!(
            ids(2),
            Vec::<u64>::new(),
            "acknowledged ones are never served"
        );
    }

    #[test]
    fn a_wake_up_that_does_not_grow_the_id_counts_as_another_change() {
        let hub = Wakeups::new();
        let channel = ChannelId::generate();
        let mut subscription = hub.subscribe(&channel);
        hub.wake(&channel, 5);
        assert_eq!(
            subscription.mark_seen(),
            Committed {
                newest_id: 5,
                other_changes: 0
            },
            "a new delivery only moves the newest id"
        );
        // A deletion wakes with 0; a retention drop wakes everyone.
        hub.wake(&channel, 0);
        hub.wake_all();
        assert_eq!(
            subscription.mark_seen(),
            Committed {
                newest_id: 5,
                other_changes: 2
            },
            "subscribers must ask the store after these"
        );
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
