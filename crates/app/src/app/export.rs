//! `plumb asset export`: every matching asset, from one snapshot, streamed to a writer in the
//! format `plumb asset import` reads back to the identical records.

use std::io::Write;

use plumb_core::model::FIELDS;
use plumb_store::AssetFilter;

use crate::app::Context;
use crate::report;
use plumb_collect::records::RecordFormat;

/// Writes the assets; returns how many.
pub async fn export(
    ctx: &Context,
    filter: AssetFilter,
    format: RecordFormat,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut scan = ctx.store.scan_assets(filter).await?;
    let mut count = 0_u64;
    match format {
        RecordFormat::Csv => {
            let mut writer = report::csv_writer(out, FIELDS)?;
            while let Some(batch) = scan.next_batch().await? {
                for asset in &batch {
                    report::write_csv_row(&mut writer, FIELDS, &asset.to_json())?;
                }
                count += batch.len() as u64;
            }
            writer.flush()?;
        }
        RecordFormat::Json | RecordFormat::Jsonl => {
            let array = format == RecordFormat::Json;
            if array {
                out.write_all(b"[")?;
            }
            while let Some(batch) = scan.next_batch().await? {
                for asset in &batch {
                    if array && count > 0 {
                        out.write_all(b",")?;
                    }
                    if array {
                        out.write_all(b"\n")?;
                    }
                    serde_json::to_writer(&mut *out, asset)?;
                    if !array {
                        out.write_all(b"\n")?;
                    }
                    count += 1;
                }
            }
            if array {
                out.write_all(b"\n]\n")?;
            }
        }
    }
    out.flush()?;
    Ok(count)
}
