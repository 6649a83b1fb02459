//! The in-memory store: the benchmark's floor (what ingest costs without any durability) and the
//! store behind [`crate::RelayState::new`]. Nothing survives the process; never use it to run a
//! relay for real.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    gap_for, ChannelCaps, ChannelId, IngestOutcome, NewChannel, NewDelivery, ReadBatch, Store,
    StoreError, StoredDelivery, TokenHash,
};

/// The in-memory backend.
#[derive(Debug)]
pub struct MemoryStore {
    caps: ChannelCaps,
    channels: Mutex<HashMap<ChannelId, Channel>>,
}

#[derive(Debug)]
struct Channel {
    token_hash: TokenHash,
    last_id: u64,
    acked_through: u64,
    dropped_through: u64,
    pending_bytes: u64,
    deliveries: VecDeque<StoredDelivery>,
}

impl Channel {
    fn delete_through(&mut self, through: u64) -> u64 {
        let mut count = 0;
        while self
            .deliveries
            .front()
            .is_some_and(|delivery| delivery.id <= through)
        {
            let delivery = self.deliveries.pop_front().expect("checked above");
            self.pending_bytes -= delivery.body.len() as u64;
            count += 1;
        }
        count
    }
}

impl MemoryStore {
    pub fn new(caps: ChannelCaps) -> Self {
        Self {
            caps,
            channels: Mutex::new(HashMap::new()),
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Channel>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_channel(&self, channel: NewChannel) -> Result<(), StoreError> {
        let mut channels = self.channels();
        if channels.contains_key(&channel.channel_id) {
            return Err(StoreError::Corrupt(format!(
                "channel {} exists already",
                channel.channel_id
            )));
        }
        channels.insert(
            channel.channel_id,
            Channel {
                token_hash: channel.token_hash,
                last_id: 0,
                acked_through: 0,
                dropped_through: 0,
                pending_bytes: 0,
                deliveries: VecDeque::new(),
            },
        );
        Ok(())
    }

    async fn token_hash(&self, channel_id: &ChannelId) -> Result<Option<TokenHash>, StoreError> {
        Ok(self
            .channels()
            .get(channel_id)
            .map(|channel| channel.token_hash))
    }

    async fn delete_channel(&self, channel_id: &ChannelId) -> Result<bool, StoreError> {
        Ok(self.channels().remove(channel_id).is_some())
    }

    async fn ingest(&self, delivery: NewDelivery) -> Result<IngestOutcome, StoreError> {
        let mut channels = self.channels();
        let Some(channel) = channels.get_mut(&delivery.channel_id) else {
            return Ok(IngestOutcome::UnknownChannel);
        };
        channel.last_id += 1;
        let id = channel.last_id;
        channel.pending_bytes += delivery.body.len() as u64;
        channel.deliveries.push_back(delivery.stored(id));
        let mut dropped = 0;
        while channel.deliveries.len() as u64 > self.caps.max_pending_deliveries
            || channel.pending_bytes > self.caps.max_pending_bytes
        {
            let Some(oldest) = channel.deliveries.pop_front() else {
                break;
            };
            channel.pending_bytes -= oldest.body.len() as u64;
            channel.dropped_through = channel.dropped_through.max(oldest.id);
            dropped += 1;
        }
        Ok(IngestOutcome::Stored { id, dropped })
    }

    async fn read_after(
        &self,
        channel_id: &ChannelId,
        after: u64,
        limit: usize,
    ) -> Result<Option<ReadBatch>, StoreError> {
        let channels = self.channels();
        let Some(channel) = channels.get(channel_id) else {
            return Ok(None);
        };
        let gap = gap_for(after, channel.acked_through, channel.dropped_through);
        let start = after
            .max(channel.acked_through)
            .max(channel.dropped_through);
        let first = channel
            .deliveries
            .partition_point(|delivery| delivery.id <= start);
        let deliveries = channel
            .deliveries
            .range(first..)
            .take(limit)
            .cloned()
            .collect();
        Ok(Some(ReadBatch { gap, deliveries }))
    }

    async fn acknowledge(&self, channel_id: &ChannelId, up_to: u64) -> Result<bool, StoreError> {
        let mut channels = self.channels();
        let Some(channel) = channels.get_mut(channel_id) else {
            return Ok(false);
        };
        channel.acked_through = channel.acked_through.max(up_to.min(channel.last_id));
        let through = channel.acked_through;
        channel.delete_through(through);
        Ok(true)
    }

    async fn expire(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut total = 0;
        for channel in self.channels().values_mut() {
            let newest_expired = channel
                .deliveries
                .iter()
                .filter(|delivery| delivery.received_at < cutoff)
                .map(|delivery| delivery.id)
                .max();
            if let Some(through) = newest_expired {
                total += channel.delete_through(through);
                channel.dropped_through = channel.dropped_through.max(through);
            }
        }
        Ok(total)
    }

    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .channels()
            .values()
            .flat_map(|channel| {
                channel
                    .deliveries
                    .iter()
                    .map(|delivery| delivery.received_at)
            })
            .min())
    }

    async fn check(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn close(&self) {}
}
