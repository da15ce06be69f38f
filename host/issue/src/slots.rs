//! Sandbox slots, shared fairly. An evaluation needs one instance slot of
//! the sandbox's pooling allocator; issuances take theirs from a pool
//! shared among municipalities, uploads and dry-runs from a small pool of
//! their own, so that neither can starve the other.
//!
//! In the issuance pool a municipality may hold at most its share of the
//! slots while another municipality is active (has asked for a slot within
//! the last second, or waits for one); alone, it may use them all. A freed
//! slot goes to the waiter of the municipality holding fewest. Slots are
//! CPU: the share is what keeps one municipality's plugin from taking the
//! cores (default: half of them), since a slot held is a core kept busy. Waiting is bounded in depth and in time: a full queue
//! or a wait past its limit answers 503 with `Retry-After` at once rather
//! than holding the request.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// Who an evaluation is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tenant {
    Municipality(String),
    /// Uploads and dry-runs: the uploads pool, one queue for all.
    Uploads,
}

/// Why no slot was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The queue already holds `depth` waiting requests.
    QueueFull { depth: usize },
    /// No slot came free within the wait limit.
    WaitedTooLong { waited: Duration },
    /// The server is shutting down.
    Closed,
}

/// Settings of one pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub slots: usize,
    /// Most slots one tenant holds while another waits.
    pub share: usize,
    pub queue_depth: usize,
    pub queue_wait: Duration,
}

pub struct Pool {
    settings: PoolSettings,
    inner: Mutex<Inner>,
    granted: AtomicU64,
    rejected_full: AtomicU64,
    rejected_wait: AtomicU64,
    /// Total time granted requests waited, in microseconds.
    waited_micros: AtomicU64,
}

struct Inner {
    free: usize,
    running: HashMap<Tenant, usize>,
    queue: VecDeque<Waiter>,
    /// When each slot now held was granted, by grant number: readiness
    /// reports a slot held far past any evaluation's time limit.
    held: HashMap<u64, Instant>,
    /// When each tenant last asked for a slot.
    seen: HashMap<Tenant, Instant>,
    next: u64,
    closed: bool,
}

/// A tenant that asked for a slot this recently is active: the others are
/// held to their share.
const ACTIVE: Duration = Duration::from_secs(1);
/// How often a waiter over its share looks again whether it may run (the
/// others may have gone quiet, which no release announces).
const RECHECK: Duration = Duration::from_millis(50);

impl Inner {
    /// Most slots `tenant` may hold now.
    fn cap(&self, tenant: &Tenant, settings: &PoolSettings) -> usize {
        let others_active = self.seen.iter().any(|(t, at)| t != tenant && at.elapsed() < ACTIVE)
            || self.queue.iter().any(|w| &w.tenant != tenant);
        if others_active { settings.share } else { settings.slots }
    }

    fn may_run(&self, tenant: &Tenant, settings: &PoolSettings) -> bool {
        self.free > 0 && self.running.get(tenant).copied().unwrap_or(0) < self.cap(tenant, settings)
    }
}

struct Waiter {
    tenant: Tenant,
    id: u64,
    grant: oneshot::Sender<Permit>,
}

/// A held slot; dropping it frees the slot for the next waiter.
pub struct Permit {
    pool: Arc<Pool>,
    tenant: Tenant,
    id: u64,
    /// False for a permit that was never handed over (its waiter had gone).
    armed: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.armed {
            self.pool.release(&self.tenant, self.id);
        }
    }
}

/// What `/readyz` and `/metrics` show of a pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolStatus {
    pub slots: usize,
    pub busy: usize,
    pub queued: usize,
    pub queue_depth: usize,
    /// How long the oldest slot now held has been held.
    pub oldest_held: Duration,
    pub granted: u64,
    pub rejected_full: u64,
    pub rejected_wait: u64,
    pub waited: Duration,
}

impl Pool {
    pub fn new(settings: PoolSettings) -> Arc<Pool> {
        let slots = settings.slots.max(1);
        let settings = PoolSettings { slots, share: settings.share.clamp(1, slots), ..settings };
        Arc::new(Pool {
            settings,
            inner: Mutex::new(Inner {
                free: slots,
                running: HashMap::new(),
                queue: VecDeque::new(),
                held: HashMap::new(),
                seen: HashMap::new(),
                next: 0,
                closed: false,
            }),
            granted: AtomicU64::new(0),
            rejected_full: AtomicU64::new(0),
            rejected_wait: AtomicU64::new(0),
            waited_micros: AtomicU64::new(0),
        })
    }

    pub fn settings(&self) -> PoolSettings {
        self.settings
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update below leaves the counts consistent before anything
        // that could panic, so a poisoned lock's data is still right.
        self.inner.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// A slot for `tenant`, now, or after waiting in the queue.
    pub async fn acquire(self: &Arc<Pool>, tenant: Tenant) -> Result<Permit, Busy> {
        let started = Instant::now();
        let receiver = {
            let mut inner = self.lock();
            if inner.closed {
                return Err(Busy::Closed);
            }
            let now = Instant::now();
            inner.seen.retain(|_, at| now.duration_since(*at) < ACTIVE);
            inner.seen.insert(tenant.clone(), now);
            if inner.may_run(&tenant, &self.settings) {
                let id = grant(&mut inner, &tenant);
                self.granted.fetch_add(1, Ordering::Relaxed);
                return Ok(Permit { pool: Arc::clone(self), tenant, id, armed: true });
            }
            if inner.queue.len() >= self.settings.queue_depth {
                self.rejected_full.fetch_add(1, Ordering::Relaxed);
                return Err(Busy::QueueFull { depth: self.settings.queue_depth });
            }
            let (sender, receiver) = oneshot::channel();
            let id = inner.next;
            inner.next += 1;
            inner.queue.push_back(Waiter { tenant: tenant.clone(), id, grant: sender });
            (id, receiver)
        };
        let (id, mut receiver) = receiver;
        let deadline = started + self.settings.queue_wait;
        loop {
            let tick = RECHECK.min(deadline.saturating_duration_since(Instant::now()));
            match tokio::time::timeout(tick, &mut receiver).await {
                Ok(Ok(permit)) => {
                    self.waited_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    return Ok(permit);
                }
                Ok(Err(_)) => return Err(Busy::Closed),
                Err(_) => {
                    let mut inner = self.lock();
                    let still_queued = inner.queue.iter().position(|w| w.id == id);
                    if let Some(at) = still_queued {
                        if inner.may_run(&tenant, &self.settings) {
                            inner.queue.remove(at);
                            let id = grant(&mut inner, &tenant);
                            self.granted.fetch_add(1, Ordering::Relaxed);
                            self.waited_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                            return Ok(Permit { pool: Arc::clone(self), tenant, id, armed: true });
                        }
                        if Instant::now() >= deadline {
                            inner.queue.remove(at);
                            drop(inner);
                            self.rejected_wait.fetch_add(1, Ordering::Relaxed);
                            return Err(Busy::WaitedTooLong { waited: started.elapsed() });
                        }
                    }
                    // Not queued any more: a release granted this waiter a
                    // slot just now, and the permit is in the channel.
                }
            }
        }
    }

    fn release(self: &Arc<Pool>, tenant: &Tenant, id: u64) {
        let mut inner = self.lock();
        inner.held.remove(&id);
        if let Some(count) = inner.running.get_mut(tenant) {
            *count -= 1;
            if *count == 0 {
                inner.running.remove(tenant);
            }
        }
        inner.free += 1;
        // Hand the slot on: to the waiter whose tenant holds fewest (the
        // first such in the queue), if its tenant is under its share.
        while inner.free > 0 && !inner.queue.is_empty() {
            let pick = (0..inner.queue.len())
                .filter(|&i| inner.may_run(&inner.queue[i].tenant, &self.settings))
                .min_by_key(|&i| (inner.running.get(&inner.queue[i].tenant).copied().unwrap_or(0), i));
            let Some(pick) = pick else { break };
            let Some(waiter) = inner.queue.remove(pick) else { break };
            let id = grant(&mut inner, &waiter.tenant);
            let permit = Permit { pool: Arc::clone(self), tenant: waiter.tenant, id, armed: true };
            match waiter.grant.send(permit) {
                Ok(()) => {
                    self.granted.fetch_add(1, Ordering::Relaxed);
                }
                Err(mut unsent) => {
                    // The waiter gave up; take the slot back here, under the
                    // lock already held, instead of in its drop.
                    unsent.armed = false;
                    ungrant(&mut inner, &unsent.tenant, unsent.id);
                }
            }
        }
    }

    /// Refuse new requests and drop every waiter (they answer 503).
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.queue.clear();
    }

    pub fn status(&self) -> PoolStatus {
        let inner = self.lock();
        let oldest_held = inner.held.values().map(|t| t.elapsed()).max().unwrap_or_default();
        PoolStatus {
            slots: self.settings.slots,
            busy: self.settings.slots - inner.free,
            queued: inner.queue.len(),
            queue_depth: self.settings.queue_depth,
            oldest_held,
            granted: self.granted.load(Ordering::Relaxed),
            rejected_full: self.rejected_full.load(Ordering::Relaxed),
            rejected_wait: self.rejected_wait.load(Ordering::Relaxed),
            waited: Duration::from_micros(self.waited_micros.load(Ordering::Relaxed)),
        }
    }
}

fn grant(inner: &mut Inner, tenant: &Tenant) -> u64 {
    inner.free -= 1;
    *inner.running.entry(tenant.clone()).or_insert(0) += 1;
    let id = inner.next;
    inner.next += 1;
    inner.held.insert(id, Instant::now());
    id
}

fn ungrant(inner: &mut Inner, tenant: &Tenant, id: u64) {
    inner.held.remove(&id);
    if let Some(count) = inner.running.get_mut(tenant) {
        *count -= 1;
        if *count == 0 {
            inner.running.remove(tenant);
        }
    }
    inner.free += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(slots: usize, share: usize, depth: usize) -> Arc<Pool> {
        Pool::new(PoolSettings { slots, share, queue_depth: depth, queue_wait: Duration::from_secs(5) })
    }

    fn town(name: &str) -> Tenant {
        Tenant::Municipality(name.into())
    }

    #[tokio::test]
    async fn a_tenant_over_its_share_yields_to_another_waiting() {
        let pool = pool(4, 2, 16);
        // Alone, A may use every slot.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(pool.acquire(town("a")).await.expect("free slot"));
        }
        // A waits first, then B; a freed slot goes to B, who holds none.
        let a = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.acquire(town("a")).await }
        });
        tokio::task::yield_now().await;
        while pool.status().queued < 1 {
            tokio::task::yield_now().await;
        }
        let b = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.acquire(town("b")).await }
        });
        while pool.status().queued < 2 {
            tokio::task::yield_now().await;
        }
        drop(held.pop());
        let b = b.await.expect("task").expect("B gets the freed slot");
        assert_eq!(b.tenant, town("b"));
        // While B is active, A (holding 3) is over its share of 2: a slot
        // it frees goes to nobody of A's.
        drop(held.pop());
        let status = pool.status();
        assert_eq!((status.busy, status.queued), (3, 1), "A still waits");
        // Once B has been quiet for a second, A may use the free slots.
        drop(b);
        let a = a.await.expect("task").expect("then A");
        assert_eq!(a.tenant, town("a"));
    }

    #[tokio::test]
    async fn under_its_share_a_tenant_takes_a_free_slot_even_when_others_wait() {
        let pool = pool(4, 2, 16);
        let _a: Vec<Permit> = vec![
            pool.acquire(town("a")).await.expect("slot"),
            pool.acquire(town("a")).await.expect("slot"),
            pool.acquire(town("a")).await.expect("slot"),
        ];
        let _b = pool.acquire(town("b")).await.expect("B is under its share");
        assert_eq!(pool.status().busy, 4);
    }

    #[tokio::test]
    async fn a_full_queue_and_a_long_wait_are_refused_fast() {
        let pool =
            Pool::new(PoolSettings { slots: 1, share: 1, queue_depth: 1, queue_wait: Duration::from_millis(50) });
        let _held = pool.acquire(town("a")).await.expect("slot");
        let waiting = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.acquire(town("a")).await.err() }
        });
        while pool.status().queued < 1 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.acquire(town("b")).await.err(), Some(Busy::QueueFull { depth: 1 }));
        assert!(matches!(waiting.await.expect("task"), Some(Busy::WaitedTooLong { .. })));
        let status = pool.status();
        assert_eq!((status.queued, status.rejected_full, status.rejected_wait), (0, 1, 1));
    }
}
