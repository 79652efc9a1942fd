//! Checks an incoming Automerge sync message before Automerge sees it.
//!
//! Automerge 0.12 trusts what a peer puts in a sync message: the Bloom filter of a `have` goes to
//! `generate_sync_message` unchecked (`num_probes = 2^32 − 1` allocates 16 GiB, `bits_per_entry = 0`
//! divides by zero), a compressed change or a document's deflated column inflates without bound,
//! and any number of `have`s or hashes is taken. This module reads the message's wire format itself
//! (version byte, heads, needs, haves, changes) and refuses, before anything is allocated for them,
//! what no honest peer sends. It only reads: the same bytes then go to `sync::Message::decode`.
//!
//! What it bounds, for every transport (WebSocket and HTTP sync both go through `PlanSync`):
//! - hashes per list (heads, needs, each `have`'s last sync) and `have`s per message;
//! - each Bloom filter: probes and bits per entry within what Automerge itself writes, at least one
//!   entry, and exactly the bit array its entries call for;
//! - changes per message, and the bytes they take once inflated (a compressed change chunk, or the
//!   deflated columns of a document chunk, is inflated here into a counter that stops at the limit).

use std::io::Read;

/// What one sync message may hold. The defaults fit the server's 8 MiB frame limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageLimits {
    /// Bytes of the message's changes once inflated (the frame limit is the natural bound).
    pub max_inflated_bytes: usize,
    /// Hashes in `heads`, in `need`, and in each `have`'s `lastSync`.
    pub max_hashes: usize,
    /// `have` entries (Automerge sends zero or one).
    pub max_haves: usize,
    /// Change chunks (a document chunk counts as one).
    pub max_changes: usize,
    /// Probes of a Bloom filter (Automerge writes 7).
    pub max_bloom_probes: u64,
    /// Bits per entry of a Bloom filter (Automerge writes 10).
    pub max_bloom_bits_per_entry: u64,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_inflated_bytes: 8 * 1024 * 1024,
            max_hashes: 1024,
            max_haves: 16,
            max_changes: 100_000,
            max_bloom_probes: 32,
            max_bloom_bits_per_entry: 32,
        }
    }
}

/// Why a message was refused (in French: it reaches the peer in an `error` frame).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message de synchronisation tronqué")]
    Truncated,
    #[error("type de message de synchronisation inconnu ({0:#04x})")]
    UnknownType(u8),
    #[error("trop d'empreintes dans « {part} » ({count}, au plus {max})")]
    TooManyHashes { part: &'static str, count: u64, max: usize },
    #[error("trop d'éléments « have » ({count}, au plus {max})")]
    TooManyHaves { count: u64, max: usize },
    #[error("filtre de Bloom invalide : {0}")]
    BadBloomFilter(&'static str),
    #[error("trop de changements dans un message (au plus {max})")]
    TooManyChanges { max: usize },
    #[error("changement illisible : {0}")]
    BadChunk(&'static str),
    #[error("les changements dépassent {max} octets une fois décompressés")]
    TooLarge { max: usize },
}

/// What a message brings, once checked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MessageSummary {
    /// Change chunks in the message.
    pub changes: usize,
    /// Their bytes once inflated.
    pub change_bytes: usize,
}

const MESSAGE_TYPE_SYNC: u8 = 0x42;
const MESSAGE_TYPE_SYNC_V2: u8 = 0x43;
const MAGIC_BYTES: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const HASH_BYTES: usize = 32;
/// A column specification with this bit set holds DEFLATE-compressed data.
const COLUMN_DEFLATE_BIT: u64 = 0b1000;

const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED_CHANGE: u8 = 2;
const CHUNK_BUNDLE: u8 = 3;

/// Checks `message` against `limits` without allocating for anything it announces.
pub fn check(message: &[u8], limits: &MessageLimits) -> Result<MessageSummary, MessageError> {
    let mut r = Reader::new(message);
    match r.byte()? {
        MESSAGE_TYPE_SYNC | MESSAGE_TYPE_SYNC_V2 => {}
        other => return Err(MessageError::UnknownType(other)),
    }
    r.hashes("heads", limits)?;
    r.hashes("need", limits)?;
    let haves = r.leb()?;
    if haves > limits.max_haves as u64 {
        return Err(MessageError::TooManyHaves { count: haves, max: limits.max_haves });
    }
    for _ in 0..haves {
        r.hashes("lastSync", limits)?;
        let len = r.len()?;
        check_bloom(r.take(len)?, limits)?;
    }
    let entries = r.leb()?;
    if entries > limits.max_changes as u64 {
        return Err(MessageError::TooManyChanges { max: limits.max_changes });
    }
    let mut budget = Budget { used: 0, max: limits.max_inflated_bytes, changes: 0, max_changes: limits.max_changes };
    for _ in 0..entries {
        let len = r.len()?;
        let mut chunks = Reader::new(r.take(len)?);
        while !chunks.is_empty() {
            check_chunk(&mut chunks, &mut budget)?;
        }
    }
    // What follows (the flags) is a length-prefixed byte string that Automerge reads as it comes.
    Ok(MessageSummary { changes: budget.changes, change_bytes: budget.used })
}

fn check_bloom(bytes: &[u8], limits: &MessageLimits) -> Result<(), MessageError> {
    if bytes.is_empty() {
        return Ok(()); // the empty filter
    }
    let mut r = Reader::new(bytes);
    let (entries, bits_per_entry, probes) = (r.leb_u32()?, r.leb_u32()?, r.leb_u32()?);
    if entries == 0 {
        return Err(MessageError::BadBloomFilter("aucune entrée"));
    }
    if bits_per_entry == 0 || bits_per_entry > limits.max_bloom_bits_per_entry {
        return Err(MessageError::BadBloomFilter("bits par entrée hors limites"));
    }
    if probes == 0 || probes > limits.max_bloom_probes {
        return Err(MessageError::BadBloomFilter("nombre de sondes hors limites"));
    }
    // Automerge reads exactly ceil(entries × bits per entry / 8) bytes of bits.
    let bits = (entries * bits_per_entry).div_ceil(8);
    if bits != r.remaining() as u64 {
        return Err(MessageError::BadBloomFilter("taille du tableau de bits incohérente"));
    }
    Ok(())
}

/// Counts the changes of a message and the bytes they inflate to.
struct Budget {
    used: usize,
    max: usize,
    changes: usize,
    max_changes: usize,
}

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), MessageError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.max { Err(MessageError::TooLarge { max: self.max }) } else { Ok(()) }
    }

    fn count_change(&mut self) -> Result<(), MessageError> {
        self.changes += 1;
        if self.changes > self.max_changes {
            return Err(MessageError::TooManyChanges { max: self.max_changes });
        }
        Ok(())
    }

    /// Inflates `compressed` into a counter, stopping as soon as the budget is spent.
    fn spend_inflated(&mut self, compressed: &[u8]) -> Result<(), MessageError> {
        let mut decoder = flate2::bufread::DeflateDecoder::new(compressed);
        let mut buffer = [0u8; 8 * 1024];
        loop {
            match decoder.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => self.spend(n)?,
                Err(_) => return Err(MessageError::BadChunk("données compressées illisibles")),
            }
        }
    }
}

fn check_chunk(r: &mut Reader<'_>, budget: &mut Budget) -> Result<(), MessageError> {
    let start = r.remaining();
    if r.take(4)? != MAGIC_BYTES {
        return Err(MessageError::BadChunk("octets magiques absents"));
    }
    r.take(4)?; // checksum, verified by Automerge
    let chunk_type = r.byte()?;
    let len = r.len()?;
    let data = r.take(len)?;
    let header = start - r.remaining() - len;
    budget.count_change()?;
    match chunk_type {
        CHUNK_CHANGE => budget.spend(header + len),
        CHUNK_COMPRESSED_CHANGE => {
            budget.spend(header)?;
            budget.spend_inflated(data)
        }
        CHUNK_DOCUMENT => {
            budget.spend(header)?;
            check_document(data, budget)
        }
        CHUNK_BUNDLE => Err(MessageError::BadChunk("les lots (« bundles ») ne sont pas acceptés")),
        _ => Err(MessageError::BadChunk("type de bloc inconnu")),
    }
}

/// A document chunk: actors, heads, the change and op column metadata, then the columns (some
/// of them deflated), then the head indices.
fn check_document(data: &[u8], budget: &mut Budget) -> Result<(), MessageError> {
    let mut r = Reader::new(data);
    let actors = r.leb()?;
    for _ in 0..actors {
        let len = r.len()?;
        r.take(len)?;
    }
    let heads = r.len()?;
    r.take(heads.checked_mul(HASH_BYTES).ok_or(MessageError::Truncated)?)?;
    let mut columns = Vec::new();
    for _ in 0..2 {
        let count = r.leb()?;
        for _ in 0..count {
            let spec = r.leb()?;
            // Each pair takes at least two bytes: the list is bounded by the chunk's length.
            columns.push((spec, r.leb()?));
        }
    }
    budget.spend(data.len() - r.remaining())?;
    for (spec, len) in columns {
        let len = usize::try_from(len).map_err(|_| MessageError::Truncated)?;
        let column = r.take(len)?;
        if spec & COLUMN_DEFLATE_BIT != 0 {
            budget.spend_inflated(column)?;
        } else {
            budget.spend(len)?;
        }
    }
    budget.spend(r.remaining()) // the head indices
}

/// A cursor over the wire format: LEB128 integers and byte strings, never reading past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8, MessageError> {
        let (first, rest) = self.bytes.split_first().ok_or(MessageError::Truncated)?;
        self.bytes = rest;
        Ok(*first)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MessageError> {
        if n > self.bytes.len() {
            return Err(MessageError::Truncated);
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    /// An unsigned LEB128 integer of at most 64 bits.
    fn leb(&mut self) -> Result<u64, MessageError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(MessageError::BadChunk("entier LEB128 trop grand"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MessageError::BadChunk("entier LEB128 trop long"))
    }

    fn leb_u32(&mut self) -> Result<u64, MessageError> {
        let value = self.leb()?;
        if value > u64::from(u32::MAX) {
            return Err(MessageError::BadBloomFilter("entier hors limites"));
        }
        Ok(value)
    }

    /// A length: it may not exceed what is left to read.
    fn len(&mut self) -> Result<usize, MessageError> {
        let len = self.leb()?;
        usize::try_from(len).ok().filter(|len| *len <= self.bytes.len()).ok_or(MessageError::Truncated)
    }

    /// A length-prefixed list of change hashes.
    fn hashes(&mut self, part: &'static str, limits: &MessageLimits) -> Result<(), MessageError> {
        let count = self.leb()?;
        if count > limits.max_hashes as u64 {
            return Err(MessageError::TooManyHashes { part, count, max: limits.max_hashes });
        }
        // At most `max_hashes` (1,024 by default), so this cannot overflow.
        self.take(count as usize * HASH_BYTES)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leb(out: &mut Vec<u8>, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A V1 message with no heads or needs, one `have` (no last sync) with `bloom`, no changes.
    fn with_bloom(bloom: &[u8]) -> Vec<u8> {
        let mut m = vec![MESSAGE_TYPE_SYNC, 0, 0, 1, 0];
        leb(&mut m, bloom.len() as u64);
        m.extend(bloom);
        m.push(0);
        m
    }

    fn bloom(entries: u64, bits_per_entry: u64, probes: u64, bits: usize) -> Vec<u8> {
        let mut b = Vec::new();
        leb(&mut b, entries);
        leb(&mut b, bits_per_entry);
        leb(&mut b, probes);
        b.extend(std::iter::repeat_n(0xff, bits));
        b
    }

    #[test]
    fn the_filters_automerge_writes_pass() {
        let limits = MessageLimits::default();
        assert!(check(&with_bloom(&[]), &limits).is_ok());
        assert!(check(&with_bloom(&bloom(3, 10, 7, 4)), &limits).is_ok());
    }

    #[test]
    fn filters_that_would_exhaust_or_crash_automerge_are_refused() {
        let limits = MessageLimits::default();
        let probes = check(&with_bloom(&bloom(1, 10, u64::from(u32::MAX), 2)), &limits);
        assert!(matches!(probes, Err(MessageError::BadBloomFilter(_))));
        let zero_bits = check(&with_bloom(&bloom(1, 0, 7, 0)), &limits);
        assert!(matches!(zero_bits, Err(MessageError::BadBloomFilter(_))));
        let short = check(&with_bloom(&bloom(100, 10, 7, 2)), &limits);
        assert!(matches!(short, Err(MessageError::BadBloomFilter(_))));
        let empty = check(&with_bloom(&bloom(0, 10, 7, 0)), &limits);
        assert!(matches!(empty, Err(MessageError::BadBloomFilter(_))));
    }

    #[test]
    fn many_haves_are_refused_before_they_are_read() {
        let mut m = vec![MESSAGE_TYPE_SYNC, 0, 0];
        leb(&mut m, 400_000);
        m.extend(std::iter::repeat_n(0, 800_000));
        let refused = check(&m, &MessageLimits::default());
        assert!(matches!(refused, Err(MessageError::TooManyHaves { count: 400_000, .. })));
    }

    #[test]
    fn a_count_larger_than_the_message_is_truncated_not_allocated() {
        let mut m = vec![MESSAGE_TYPE_SYNC];
        leb(&mut m, 1000);
        assert_eq!(check(&m, &MessageLimits::default()), Err(MessageError::Truncated));
        let mut m = vec![MESSAGE_TYPE_SYNC, 0, 0, 0];
        leb(&mut m, 1);
        leb(&mut m, u64::MAX);
        assert_eq!(check(&m, &MessageLimits::default()), Err(MessageError::Truncated));
    }

    #[test]
    fn a_compressed_chunk_is_inflated_only_up_to_the_limit() {
        use std::io::Write;
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 4 * 1024 * 1024]).expect("in memory");
        let zeros = encoder.finish().expect("in memory");
        let mut chunk = MAGIC_BYTES.to_vec();
        chunk.extend([0; 4]);
        chunk.push(CHUNK_COMPRESSED_CHANGE);
        leb(&mut chunk, zeros.len() as u64);
        chunk.extend(&zeros);
        let mut m = vec![MESSAGE_TYPE_SYNC, 0, 0, 0, 1];
        leb(&mut m, chunk.len() as u64);
        m.extend(&chunk);
        let limits = MessageLimits { max_inflated_bytes: 1024 * 1024, ..MessageLimits::default() };
        assert_eq!(check(&m, &limits), Err(MessageError::TooLarge { max: 1024 * 1024 }));
        let roomy = MessageLimits { max_inflated_bytes: 8 * 1024 * 1024, ..MessageLimits::default() };
        assert!(check(&m, &roomy).is_ok());
    }
}
