//! The items of one network read, with the strings of its messages packed
//! into one buffer: a read of a thousand small events costs two
//! allocations (the buffer and the entry list), not a thousand.

use std::collections::VecDeque;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::event::{Event, Item, MESSAGE};
use crate::parser::EventRef;

/// Text buffers at least this large go back to their worker when the
/// batch is dropped: reusing them saves a large allocation per batch and
/// the page faults of memory the allocator returned to the kernel.
pub(crate) const RECYCLE_MIN_BYTES: usize = 32 * 1024;
/// How many large buffers wait for reuse per client.
const RECYCLE_SLOTS: usize = 2;

/// A client's spare large text buffers (the engine's end). The channel
/// that brings them back is made at the first large batch: thousands of
/// streams of small events never pay for it.
#[derive(Debug, Default)]
pub struct TextPool {
    channel: std::cell::OnceCell<(Receiver<String>, Recycler)>,
}

/// Gives a large text buffer back to its pool (the batches' end).
#[derive(Debug, Clone)]
pub struct Recycler {
    spare: Sender<String>,
}

impl Recycler {
    fn give(&self, mut text: String) {
        if text.capacity() >= RECYCLE_MIN_BYTES {
            text.clear();
            let _ = self.spare.try_send(text); // pool full or gone: dropped
        }
    }
}

impl TextPool {
    /// An empty batch with room for `text_bytes` of text: small ones
    /// allocate as usual, large ones reuse a spare buffer if one fits.
    pub fn batch(&self, text_bytes: usize) -> Batch {
        if text_bytes < RECYCLE_MIN_BYTES {
            // A small read: the burst that needed large buffers is over;
            // a stream that goes quiet does not keep them.
            if let Some((spare, _)) = self.channel.get() {
                while spare.try_recv().is_ok() {}
            }
            return Batch::with_text_capacity(text_bytes);
        }
        let (spare, recycler) = self.channel.get_or_init(|| {
            let (spare_tx, spare) = bounded(RECYCLE_SLOTS);
            (spare, Recycler { spare: spare_tx })
        });
        let text = match spare.try_recv() {
            Ok(mut spare) => {
                spare.reserve(text_bytes);
                spare
            }
            Err(_) => String::with_capacity(text_bytes),
        };
        Batch {
            text,
            entries: VecDeque::new(),
            recycler: Some(recycler.clone()),
        }
    }
}

/// A batch's text buffer after [`Batch::into_text`]; goes back to its
/// pool when dropped.
#[derive(Debug)]
pub struct Text {
    text: String,
    recycler: Option<Recycler>,
}

impl Text {
    /// The packed text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Drop for Text {
    fn drop(&mut self) {
        if let Some(recycler) = &self.recycler {
            recycler.give(std::mem::take(&mut self.text));
        }
    }
}

/// The empty string, followed by a NUL that C callers rely on.
const EMPTY: &str = "\0".split_at(0).0;

/// Where one string lies in a batch's text buffer (a NUL follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Its offset in the buffer.
    pub(crate) start: usize,
    /// Its length in bytes.
    pub(crate) len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A message whose strings are in the text buffer; a type of `None`
    /// is the default `message`.
    Message {
        event_type: Option<Span>,
        data: Span,
        last_event_id: Span,
        retry: Option<u64>,
    },
    /// Any other item, kept whole (boxed: they are rare, and every
    /// message entry would otherwise be as large as an item).
    Other(Box<Item>),
}

/// A message borrowed from a [`Batch`] (or from an owned [`Event`]).
///
/// Every string of a message borrowed from a batch is followed by a NUL
/// byte in memory (just past its length), so the C layer hands the
/// pointers out as C strings without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// The event type (`message` unless the server set `event:`).
    pub event_type: &'a str,
    /// The event data: the `data:` lines joined with LF.
    pub data: &'a str,
    /// The last event id in force when the event was dispatched.
    pub last_event_id: &'a str,
    /// The `retry` value (ms) given in the event's own block, if any.
    pub retry: Option<u64>,
}

impl MessageRef<'_> {
    /// An owned copy.
    pub fn to_event(&self) -> Event {
        Event::from_parsed(&EventRef {
            event_type: self.event_type.into(),
            data: self.data.into(),
            last_event_id: self.last_event_id,
            retry: self.retry,
        })
    }
}

/// An item borrowed from a [`Batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRef<'a> {
    /// A dispatched event.
    Message(MessageRef<'a>),
    /// Any other item (open, comment, error, reconnecting, closed).
    Other(&'a Item),
}

impl ItemRef<'_> {
    /// An owned copy.
    pub fn to_item(&self) -> Item {
        match self {
            ItemRef::Message(message) => Item::Message(message.to_event()),
            ItemRef::Other(item) => (*item).clone(),
        }
    }

    /// Whether this is the final closed item.
    pub fn is_closed(&self) -> bool {
        matches!(self, ItemRef::Other(Item::Closed { .. }))
    }
}

/// Items in stream order, messages packed (see the module docs). Items
/// are taken from the front; [`Batch::len`] counts those left.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Every packed string, each followed by a NUL.
    text: String,
    /// The items left; taken from the front.
    entries: VecDeque<Entry>,
    /// Where a large text buffer goes when the batch is dropped.
    recycler: Option<Recycler>,
}

/// Batches are equal when the items left are.
impl PartialEq for Batch {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Batch {}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Some(recycler) = &self.recycler {
            recycler.give(std::mem::take(&mut self.text));
        }
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch whose text buffer holds `text_bytes` without growing.
    pub fn with_text_capacity(text_bytes: usize) -> Self {
        Batch {
            text: String::with_capacity(text_bytes),
            entries: VecDeque::new(),
            recycler: None,
        }
    }

    /// A batch of one item.
    pub fn single(item: Item) -> Self {
        let mut batch = Self::new();
        batch.push(item);
        batch
    }

    /// Appends a parsed event, copying its strings into the text buffer.
    pub fn push_message(&mut self, event: &EventRef<'_>) {
        let event_type = if event.event_type == MESSAGE {
            None
        } else {
            Some(self.pack(&event.event_type))
        };
        let data = self.pack(&event.data);
        let last_event_id = self.pack(event.last_event_id);
        self.entries.push_back(Entry::Message {
            event_type,
            data,
            last_event_id,
            retry: event.retry,
        });
    }

    /// Appends an item; a message's strings are packed.
    pub fn push(&mut self, item: Item) {
        match item {
            Item::Message(event) => self.push_message(&EventRef {
                event_type: event.event_type.as_ref().into(),
                data: event.data.as_str().into(),
                last_event_id: &event.last_event_id,
                retry: event.retry,
            }),
            other => self.entries.push_back(Entry::Other(Box::new(other))),
        }
    }

    fn pack(&mut self, text: &str) -> Span {
        if text.is_empty() {
            return Span { start: 0, len: 0 };
        }
        let start = self.text.len();
        self.text.reserve(text.len() + 1);
        self.text.push_str(text);
        self.text.push('\0');
        Span {
            start,
            len: text.len(),
        }
    }

    fn text_at(&self, span: Span) -> &str {
        if span.len == 0 {
            EMPTY
        } else {
            &self.text[span.start..span.start + span.len]
        }
    }

    /// How many items are left.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no item is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole packed text: every message's strings lie in it, each
    /// followed by a NUL. A pointer derived from it may read those NULs
    /// (one derived from a message's `&str` may not).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Bytes of packed text (capacity included): a measure of its memory.
    pub fn text_capacity(&self) -> usize {
        self.text.capacity()
    }

    /// Item number `index` of those left.
    pub fn get(&self, index: usize) -> Option<ItemRef<'_>> {
        let entry = self.entries.get(index)?;
        Some(self.view(entry))
    }

    fn view<'a>(&'a self, entry: &'a Entry) -> ItemRef<'a> {
        match entry {
            Entry::Message {
                event_type,
                data,
                last_event_id,
                retry,
            } => ItemRef::Message(MessageRef {
                event_type: event_type.map_or(MESSAGE, |span| self.text_at(span)),
                data: self.text_at(*data),
                last_event_id: self.text_at(*last_event_id),
                retry: *retry,
            }),
            Entry::Other(item) => ItemRef::Other(item),
        }
    }

    /// The items left, in order.
    pub fn iter(&self) -> impl Iterator<Item = ItemRef<'_>> {
        self.entries.iter().map(move |entry| self.view(entry))
    }

    /// Takes the first item left, as an owned item.
    pub fn pop_front(&mut self) -> Option<Item> {
        Some(match self.entries.pop_front()? {
            Entry::Other(item) => *item,
            message => self.view(&message).to_item(),
        })
    }

    /// How many messages are left and the bytes of their data, counted
    /// from the entries alone (no string is looked at).
    pub fn message_totals(&self) -> (u64, u64) {
        self.entries
            .iter()
            .fold((0, 0), |(events, bytes), entry| match entry {
                Entry::Message { data, .. } => (events + 1, bytes + data.len as u64),
                Entry::Other(_) => (events, bytes),
            })
    }

    /// Keeps only the messages.
    pub fn retain_messages(&mut self) {
        self.entries
            .retain(|entry| matches!(entry, Entry::Message { .. }));
    }

    /// Splits the batch up: hands `each` every item left, in order (a
    /// message borrowed from the text buffer, any other item moved out),
    /// then returns the text buffer. Moving the buffer does not move its
    /// bytes: pointers to the messages' strings stay valid while it lives.
    pub fn into_text(mut self, mut each: impl FnMut(Part<'_>)) -> Text {
        let entries = std::mem::take(&mut self.entries);
        for entry in entries {
            match entry {
                Entry::Other(item) => each(Part::Other(*item)),
                message => {
                    if let ItemRef::Message(message) = self.view(&message) {
                        each(Part::Message(message));
                    }
                }
            }
        }
        Text {
            text: std::mem::take(&mut self.text),
            recycler: self.recycler.take(),
        }
    }
}

impl Batch {
    /// The start of the text buffer, as a pointer allowed to read all of
    /// it (NULs included), unlike one derived from a `&str` of a message.
    /// Still valid once [`Batch::into_spans`] has moved the buffer into
    /// its [`Text`] (moving it keeps the bytes in place), while that lives
    /// unmodified.
    pub(crate) fn text_base_ptr(&mut self) -> *const u8 {
        // SAFETY: only a pointer is taken; the bytes are not touched.
        unsafe { self.text.as_mut_vec() }.as_mut_ptr().cast_const()
    }

    /// [`Batch::into_text`] for a caller that points at the strings
    /// itself (with [`Batch::text_base_ptr`]): each message as the offsets
    /// of its strings, the cheapest form to hand a pulled batch to C.
    pub(crate) fn into_spans(mut self, mut each: impl FnMut(SpanPart)) -> Text {
        // By reference: a message's offsets are copied, not its entry.
        for entry in &mut self.entries {
            each(match entry {
                Entry::Message {
                    event_type,
                    data,
                    last_event_id,
                    retry,
                } => SpanPart::Message(MessageSpans {
                    event_type: *event_type,
                    data: *data,
                    last_event_id: *last_event_id,
                    retry: *retry,
                }),
                Entry::Other(item) => {
                    SpanPart::Other(std::mem::replace(&mut **item, Item::Comment(String::new())))
                }
            });
        }
        Text {
            text: std::mem::take(&mut self.text),
            recycler: self.recycler.take(),
        }
    }
}

impl FromIterator<Item> for Batch {
    fn from_iter<I: IntoIterator<Item = Item>>(items: I) -> Self {
        let mut batch = Batch::new();
        for item in items {
            batch.push(item);
        }
        batch
    }
}

/// A message of a batch being split up by [`Batch::into_spans`]: where
/// its strings lie in the text buffer, no string view made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MessageSpans {
    /// `None`: the default type, `message`.
    pub(crate) event_type: Option<Span>,
    pub(crate) data: Span,
    pub(crate) last_event_id: Span,
    pub(crate) retry: Option<u64>,
}

/// One item of a batch being split up by [`Batch::into_spans`].
#[derive(Debug)]
pub(crate) enum SpanPart {
    /// A message, as offsets into the text buffer.
    Message(MessageSpans),
    /// Any other item, moved out.
    Other(Item),
}

/// One item of a batch being split up by [`Batch::into_text`].
#[derive(Debug)]
pub enum Part<'a> {
    /// A message, borrowed from the batch's text buffer.
    Message(MessageRef<'a>),
    /// Any other item, moved out.
    Other(Item),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_text_buffers_are_reused_small_ones_are_not() {
        let pool = TextPool::default();
        let large = pool.batch(RECYCLE_MIN_BYTES);
        let address = large.text.as_ptr();
        drop(large);
        let reused = pool.batch(RECYCLE_MIN_BYTES);
        assert_eq!(reused.text.as_ptr(), address);
        let text = reused.into_text(|_| {});
        assert!(text.as_str().is_empty());
        drop(text); // back to the pool again
        assert_eq!(pool.batch(RECYCLE_MIN_BYTES).text.as_ptr(), address);
        let small = pool.batch(100);
        assert!(small.recycler.is_none(), "a small batch is not recycled");
    }
    use crate::event::CloseReason;
    use crate::parser::{ParsedItem, Parser};

    fn parsed(stream: &[u8]) -> Batch {
        let mut batch = Batch::new();
        Parser::new()
            .feed(stream, |item| {
                if let ParsedItem::Event(event) = item {
                    batch.push_message(&event);
                }
            })
            .unwrap();
        batch
    }

    /// Whether a NUL follows `text` in the batch's buffer, read through the
    /// buffer (not past the end of the `&str`, which Miri's borrow model
    /// forbids); the static default and empty strings are checked by value.
    fn nul_follows(batch: &Batch, text: &str) -> bool {
        if text.is_empty() || std::ptr::eq(text, MESSAGE) {
            return true;
        }
        let buffer = batch.text.as_bytes();
        let offset = text.as_ptr().addr() - buffer.as_ptr().addr();
        buffer[offset..offset + text.len()] == *text.as_bytes() && buffer[offset + text.len()] == 0
    }

    #[test]
    fn messages_are_packed_and_every_string_is_nul_terminated() {
        let batch = parsed(b"data: a\n\nevent: up\ndata: b\nid: 7\nretry: 5\n\ndata:\n\n");
        assert_eq!(batch.len(), 3);
        let messages: Vec<_> = batch
            .iter()
            .map(|item| match item {
                ItemRef::Message(m) => m,
                ItemRef::Other(other) => panic!("{other:?}"),
            })
            .collect();
        let fields: Vec<_> = messages
            .iter()
            .map(|m| (m.event_type, m.data, m.last_event_id, m.retry))
            .collect();
        assert_eq!(
            fields,
            [
                ("message", "a", "", None),
                ("up", "b", "7", Some(5)),
                ("message", "", "7", None)
            ]
        );
        for m in &messages {
            assert!(nul_follows(&batch, m.event_type) && nul_follows(&batch, m.data));
            assert!(nul_follows(&batch, m.last_event_id));
        }
        assert_eq!(batch.text_capacity(), batch.text.capacity());
        assert_eq!(batch.text, concat!("a\0", "up\0", "b\0", "7\0", "7\0"));
    }

    #[test]
    fn message_totals_count_the_messages_left_and_their_data() {
        let mut batch = parsed(b"data: abc\n\n: note\ndata: de\ndata: f\n\n");
        batch.push(Item::Closed {
            reason: CloseReason::EndOfStream,
        });
        let by_view = batch.iter().fold((0, 0), |(n, bytes), item| match item {
            ItemRef::Message(m) => (n + 1, bytes + m.data.len() as u64),
            ItemRef::Other(_) => (n, bytes),
        });
        assert_eq!(batch.message_totals(), (2, 7));
        assert_eq!(batch.message_totals(), by_view);
        batch.pop_front();
        assert_eq!(batch.message_totals(), (1, 4));
    }

    #[test]
    fn items_are_taken_in_order_and_owned_copies_match() {
        let mut batch = parsed(b"data: a\nid: 1\n\n");
        batch.push(Item::Comment("keep".into()));
        let owned = Item::Message(Event {
            event_type: "x".to_string().into(),
            data: "d".into(),
            last_event_id: "2".into(),
            retry: Some(3),
        });
        batch.push(owned.clone());
        batch.push(Item::Closed {
            reason: CloseReason::EndOfStream,
        });
        assert!(batch.get(3).unwrap().is_closed());
        let first = batch.pop_front().unwrap();
        assert!(matches!(&first, Item::Message(e) if e.data == "a" && e.last_event_id == "1"));
        assert_eq!(batch.len(), 3);
        assert_eq!(
            batch.get(0).unwrap().to_item(),
            Item::Comment("keep".into())
        );
        assert_eq!(batch.pop_front(), Some(Item::Comment("keep".into())));
        assert_eq!(batch.pop_front(), Some(owned));
        assert_eq!(batch.len(), 1);
        batch.retain_messages();
        assert!(batch.is_empty() && batch.pop_front().is_none() && batch.get(0).is_none());
    }

    #[test]
    fn splitting_keeps_the_message_strings_in_place() {
        let mut batch = Batch::single(Item::Comment("c".into()));
        batch.push_message(&EventRef {
            event_type: "message".into(),
            data: "m".into(),
            last_event_id: "",
            retry: None,
        });
        let mut others = Vec::new();
        let mut pointers = Vec::new();
        let text = batch.into_text(|part| match part {
            Part::Message(m) => pointers.push((m.data.as_ptr(), m.data.len())),
            Part::Other(item) => others.push(item),
        });
        assert_eq!(others, [Item::Comment("c".into())]);
        assert_eq!(pointers, [(text.as_str().as_ptr(), 1)]);
        assert_eq!(text.as_str(), "m\0");
    }

    #[test]
    fn large_buffers_come_back_and_a_small_read_lets_them_go() {
        let pool = TextPool::default();
        let big = pool.batch(RECYCLE_MIN_BYTES);
        let ptr = big.text.as_ptr();
        drop(big);
        // The spare is reused for the next large batch.
        let again = pool.batch(RECYCLE_MIN_BYTES);
        assert_eq!(again.text.as_ptr(), ptr);
        drop(again);
        assert_eq!(pool.channel.get().unwrap().0.len(), 1);
        // A small read drops the spares.
        drop(pool.batch(10));
        assert_eq!(pool.channel.get().unwrap().0.len(), 0);
    }
}
