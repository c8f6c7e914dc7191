//! The items of one network read, with the strings of its messages packed
//! into one buffer: a read of a thousand small events costs two
//! allocations (the buffer and the entry list), not a thousand.

use crate::event::{Event, Item, MESSAGE};
use crate::parser::EventRef;

/// The empty string, followed by a NUL that C callers rely on.
const EMPTY: &str = "\0".split_at(0).0;

/// Where one string lies in a batch's text buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    len: usize,
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
    /// Any other item, kept whole.
    Other(Item),
    /// Already handed out (before the batch's cursor).
    Taken,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Every packed string, each followed by a NUL.
    text: String,
    entries: Vec<Entry>,
    /// Entries before this index were taken.
    cursor: usize,
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
            ..Self::default()
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
        self.entries.push(Entry::Message {
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
            other => self.entries.push(Entry::Other(other)),
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
        self.entries.len() - self.cursor
    }

    /// Whether no item is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of packed text (capacity included): a measure of its memory.
    pub fn text_capacity(&self) -> usize {
        self.text.capacity()
    }

    /// The item `index` places after the cursor.
    pub fn get(&self, index: usize) -> Option<ItemRef<'_>> {
        let entry = self.entries.get(self.cursor.checked_add(index)?)?;
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
            Entry::Taken => unreachable!("taken entries lie before the cursor"),
        }
    }

    /// The items left, in order.
    pub fn iter(&self) -> impl Iterator<Item = ItemRef<'_>> {
        self.entries[self.cursor..]
            .iter()
            .map(move |entry| self.view(entry))
    }

    /// Takes the first item left, as an owned item.
    pub fn pop_front(&mut self) -> Option<Item> {
        let entry = self.entries.get_mut(self.cursor)?;
        let entry = std::mem::replace(entry, Entry::Taken);
        self.cursor += 1;
        Some(match entry {
            Entry::Other(item) => item,
            message => self.view(&message).to_item(),
        })
    }

    /// Keeps only the messages.
    pub fn retain_messages(&mut self) {
        self.entries.drain(..self.cursor);
        self.cursor = 0;
        self.entries
            .retain(|entry| matches!(entry, Entry::Message { .. }));
    }

    /// Splits the batch up: hands `each` every item left, in order (a
    /// message borrowed from the text buffer, any other item moved out),
    /// then returns the text buffer. Moving the buffer does not move its
    /// bytes: pointers to the messages' strings stay valid while it lives.
    pub fn into_text(mut self, mut each: impl FnMut(Part<'_>)) -> String {
        let entries = std::mem::take(&mut self.entries);
        for entry in entries.into_iter().skip(self.cursor) {
            match entry {
                Entry::Other(item) => each(Part::Other(item)),
                message => {
                    if let ItemRef::Message(message) = self.view(&message) {
                        each(Part::Message(message));
                    }
                }
            }
        }
        self.text
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

    fn nul_follows(text: &str) -> bool {
        // SAFETY: reads the byte just past the string, which the batch
        // (or the static default) guarantees to be a NUL it owns.
        unsafe { *text.as_ptr().add(text.len()) == 0 }
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
            assert!(nul_follows(m.event_type) && nul_follows(m.data));
            assert!(nul_follows(m.last_event_id));
        }
        assert_eq!(batch.text_capacity(), batch.text.capacity());
        assert_eq!(batch.text, concat!("a\0", "up\0", "b\0", "7\0", "7\0"));
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
        assert_eq!(pointers, [(text.as_ptr(), 1)]);
        assert_eq!(text, "m\0");
    }
}
