//! An evidence pack's ZIP file, written deterministically (entries sorted by path, every time
//! the ZIP format's earliest, fixed permissions, deflate) so the same data gives the same
//! bytes, and read back whole for verification.

use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// The ZIP of `files` (path → bytes).
pub fn write(files: &BTreeMap<String, Vec<u8>>) -> io::Result<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in files {
        zip.start_file(path.as_str(), options).map_err(io::Error::other)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish().map_err(io::Error::other)?.into_inner())
}

/// Every file of a ZIP, by path; a file that is not a ZIP, or a damaged one, is an error that
/// says so.
pub fn read(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|err| format!("not a readable ZIP file: {err}"))?;
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|err| format!("entry {i}: {err}"))?;
        let name = file.name().map_err(|err| format!("entry {i}: {err}"))?.into_owned();
        let mut content = Vec::new();
        file.read_to_end(&mut content).map_err(|err| format!("{name}: {err}"))?;
        if files.insert(name.clone(), content).is_some() {
            return Err(format!("{name} is in the pack twice"));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_files_give_the_same_bytes_and_read_back() {
        let files: BTreeMap<String, Vec<u8>> = [("b/x.csv", "1\n"), ("a.json", "{}")]
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
            .collect();
        let first = write(&files).unwrap();
        assert_eq!(first, write(&files).unwrap());
        assert_eq!(read(&first).unwrap(), files);
        assert!(read(b"not a zip").unwrap_err().starts_with("not a readable ZIP"));
    }
}
