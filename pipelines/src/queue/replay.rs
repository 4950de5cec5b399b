//! At start, what a disk queue held from before goes back into the exporter's queue, in the
//! order it was stored, and the damage found is counted.
//!
//! Records whose send had begun are counted as possible duplicates
//! (`weir_exporter_replayed_records_total{possibly_duplicate="true"}`). Damaged entries are
//! counted in `weir_exporter_disk_corrupt_total`, and their records, when the entry's header
//! could still be read, in `weir_records_dropped_total{reason="corrupt_on_disk"}`. Nothing
//! here fails: a record that cannot be read back is damage.

use std::sync::Arc;

use super::bounded::Queue;
use super::disk::{DiskQueue, Recovered, record};
use crate::metrics::catalogue;
use crate::{Metrics, TenantId};

/// `reason` of records lost to damage on disk.
pub const CORRUPT_ON_DISK: &str = "corrupt_on_disk";

/// Queues `recovered`'s records in `queue` and counts them and the damage for exporter `id`.
pub fn replay(queue: &Queue, disk: &DiskQueue, recovered: Recovered, id: &str, metrics: &Metrics) {
    let mut replayed = 0u64;
    let mut damaged = recovered.damage.len() as u64;
    for d in &recovered.damage {
        let header = d.header.as_ref();
        count_damage(
            metrics,
            id,
            header.map(|h| (h.signal.as_str(), h.tenant.as_str(), h.records)),
        );
        tracing::warn!(
            exporter = id,
            segment = d.segment,
            offset = d.offset,
            records = header.map(|h| h.records),
            "disk queue: damaged entry skipped"
        );
    }
    for stored in recovered.records {
        let ticket = disk.ticket_of(&stored);
        match record::decode(&stored.header, &stored.payload) {
            Ok(batch) => {
                let records = batch.signal.record_count();
                replayed += records;
                metrics
                    .counter(
                        catalogue::EXPORTER_REPLAYED_RECORDS,
                        &[
                            batch.signal.kind().as_str(),
                            id,
                            if stored.taken { "true" } else { "false" },
                        ],
                    )
                    .add(records);
                queue.push_replayed(Arc::new(batch), ticket);
            }
            Err(e) => {
                let h = &stored.header;
                damaged += 1;
                count_damage(metrics, id, Some((h.signal.as_str(), &h.tenant, h.records)));
                tracing::warn!(exporter = id, seq = h.seq, error = %e, "disk queue: unreadable record skipped");
                // Dropping the ticket settles it: counted once.
                drop(ticket);
            }
        }
    }
    if replayed > 0 || damaged > 0 {
        tracing::info!(
            exporter = id,
            records = replayed,
            damaged,
            "disk queue: replaying what was stored before"
        );
    }
}

/// Counts one damaged entry, and its records when its header told them.
fn count_damage(metrics: &Metrics, id: &str, known: Option<(&str, &str, u64)>) {
    metrics
        .counter(catalogue::EXPORTER_DISK_CORRUPT, &[id])
        .add(1);
    if let Some((signal, tenant, records)) = known {
        let tenant = TenantId::new(tenant).unwrap_or_else(|_| TenantId::default_tenant());
        metrics
            .counter(
                catalogue::RECORDS_DROPPED,
                &[signal, id, &metrics.tenant_label(&tenant), CORRUPT_ON_DISK],
            )
            .add(records);
    }
}
