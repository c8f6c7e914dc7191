//! Room for a large response head without a large buffer per connection.
//!
//! ureq needs the whole response head in its input buffer, whose size is
//! fixed per connection and resident once used. A 64 KiB buffer for every
//! stream would double the memory of thousands of idle streams for the
//! rare server with a huge head. So the input buffer stays small, and this
//! transport, last in the connector chain, steps in only when the buffer
//! is full and ureq still waits for input: it moves the bytes into a
//! growing buffer of its own (doubling, up to the configured head limit
//! plus one byte, so that ureq can see the head is over the limit), serves
//! ureq from it, and steps aside (freeing it) once ureq consumed it all.

use std::fmt;

use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// The connector that wraps every connection in [`HeadRoom`].
#[derive(Debug, Clone)]
pub struct HeadRoomConnector {
    /// The largest input the own buffer may hold: the head limit plus one.
    pub max_bytes: usize,
}

impl<In: Transport> Connector<In> for HeadRoomConnector {
    type Out = HeadRoom;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| HeadRoom {
            inner: inner.boxed(),
            own: None,
            max_bytes: self.max_bytes,
        }))
    }
}

/// Input moved out of the inner transport's full buffer.
struct OwnInput {
    buf: Vec<u8>,
    filled: usize,
    consumed: usize,
    progress: bool,
}

/// A transport that lends ureq a larger input buffer while it needs one.
pub struct HeadRoom {
    inner: Box<dyn Transport>,
    own: Option<OwnInput>,
    max_bytes: usize,
}

impl fmt::Debug for HeadRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeadRoom")
            .field("inner", &self.inner)
            .field("own_bytes", &self.own.as_ref().map(|o| o.buf.len()))
            .finish()
    }
}

impl HeadRoom {
    /// Moves what the inner buffer holds into the own one (as much as
    /// fits); returns the number of bytes moved.
    fn drain_inner(&mut self) -> usize {
        let own = self.own.as_mut().expect("own input");
        if own.consumed > 0 {
            own.buf.copy_within(own.consumed..own.filled, 0);
            own.filled -= own.consumed;
            own.consumed = 0;
        }
        let room = own.buf.len() - own.filled;
        if room == 0 && own.buf.len() < self.max_bytes {
            let grown = (own.buf.len() * 2).min(self.max_bytes);
            own.buf.resize(grown, 0);
        }
        let inner = self.inner.buffers();
        let available = inner.input();
        let n = available.len().min(own.buf.len() - own.filled);
        own.buf[own.filled..own.filled + n].copy_from_slice(&available[..n]);
        own.filled += n;
        inner.input_consume(n);
        n
    }
}

impl Buffers for HeadRoom {
    fn output(&mut self) -> &mut [u8] {
        self.inner.buffers().output()
    }

    fn input(&self) -> &[u8] {
        let own = self.own.as_ref().expect("own input");
        &own.buf[own.consumed..own.filled]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        let own = self.own.as_mut().expect("own input");
        &mut own.buf[own.filled..]
    }

    fn input_appended(&mut self, amount: usize) {
        let own = self.own.as_mut().expect("own input");
        own.filled = (own.filled + amount).min(own.buf.len());
    }

    fn input_consume(&mut self, amount: usize) {
        let own = self.own.as_mut().expect("own input");
        own.consumed = (own.consumed + amount).min(own.filled);
        own.progress = amount > 0;
        if own.consumed == own.filled {
            // All served: ureq reads the inner buffer again (newer bytes,
            // if any, are there), and the large buffer goes.
            self.own = None;
        }
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        let own = self.own.as_mut().expect("own input");
        (&mut own.buf[own.filled..], self.inner.buffers().output())
    }

    fn can_use_input(&self) -> bool {
        self.own
            .as_ref()
            .is_some_and(|own| own.consumed < own.filled && own.progress)
    }
}

impl Transport for HeadRoom {
    fn buffers(&mut self) -> &mut dyn Buffers {
        if self.own.is_some() {
            self
        } else {
            self.inner.buffers()
        }
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if self.own.is_none() {
            let inner = self.inner.buffers();
            let full = inner.input_append_buf().is_empty();
            let held = inner.input().len();
            if !full || held >= self.max_bytes {
                return self.inner.await_input(timeout);
            }
            // The inner buffer is full and ureq wants more: lend room.
            self.own = Some(OwnInput {
                buf: vec![0; (held * 2).min(self.max_bytes)],
                filled: 0,
                consumed: 0,
                progress: false,
            });
        }
        if self.drain_inner() > 0 {
            return Ok(true);
        }
        let progressed = self.inner.await_input(timeout)?;
        let moved = self.drain_inner();
        Ok(progressed || moved > 0)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}
