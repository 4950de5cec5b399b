//! At start, what a disk queue held from before goes back into the exporter's queue, in the
//! order it was stored (to be read back by the loader, `spill.rs`), and the damage found is
//! counted.
//!
//! Records whose send had begun are counted as possible duplicates
//! (`weir_exporter_replayed_records_total{possibly_duplicate="true"}`). Damaged entries are
//! counted in `weir_exporter_disk_corrupt_total`, and their records, when the entry's header
//! could still be read, in `weir_records_dropped_total{reason="corrupt_on_disk"}`. Nothing
//! here fails: a record that cannot be read back is damage.

use super::bounded::Queue;
use super::disk::{DiskQueue, Recovered};
use super::spill::Spilled;
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
        let h = &stored.header;
        replayed += h.records;
        metrics
            .counter(
                catalogue::EXPORTER_REPLAYED_RECORDS,
                &[
                    h.signal.as_str(),
                    id,
                    if stored.taken { "true" } else { "false" },
                ],
            )
            .add(h.records);
        let Ok(tenant) = TenantId::new(&h.tenant) else {
            damaged += 1;
            count_damage(metrics, id, Some((h.signal.as_str(), &h.tenant, h.records)));
            tracing::warn!(
                exporter = id,
                seq = h.seq,
                "disk queue: a record with an invalid tenant skipped"
            );
            // Dropping the ticket settles it: counted once.
            drop(disk.ticket_of(&stored));
            continue;
        };
        queue.push_spilled(Spilled {
            ticket: disk.ticket_of(&stored),
            at: stored.at,
            size: queue.size_for(h.records, h.body_bytes),
            bytes: h.body_bytes.max(1),
            records: h.records,
            signal: h.signal,
            tenant,
        });
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

/// Counts one damaged entry of exporter `id`, and its records (signal, tenant, records) when
/// known.
pub fn count_damage(metrics: &Metrics, id: &str, known: Option<(&str, &str, u64)>) {
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
